"""Tokens a real Airflow 3.3.2 refuses although they look right, and api-servers that distrust each other's tokens.

Claims: tokens signed with the server's real secret but with a claim that does not fit (nbf/iat in the server's
future, no exp, another audience or issuer); the doctor names the claim and the fix, and a token with the claim
set right passes. Trust: a second api-server on the session's database with its own jwt_secret, behind a balancer
that spreads new connections over both (as a TCP load balancer does); the doctor names the unshared secret, a
browser-like client keeping its connection is not affected, and the second api-server restarted with the shared
secret makes the check pass.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import re
import subprocess
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from airflow_doctor.checks.readers import token_trust
from airflow_doctor.sandbox import ADMIN_USER, free_port, stop_pids
from tests.integration.conftest import Server
from tests.integration.test_scenarios_auth import check, fix_text, forward, result_of
from tests.servers import LocalServer, Reply

pytestmark = pytest.mark.integration

STARTUP_DEADLINE = 600.0
"""A deadline, not a wait: an api-server starts in seconds, but minutes on a loaded 2-core machine."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_token(server: Server, **changes: Any) -> str:
    """A token as the server issues it (HS512, its own secret and claims), with `changes` (None removes a claim)."""
    secret = json.loads((server.sandbox.root / "keys.json").read_text())["jwt"]
    now = int(time.time())
    claims = {"sub": ADMIN_USER, "role": "admin", "teams": [], "jti": "doctor-token-trust",
              "iss": "airflow-doctor-sandbox", "aud": "apache-airflow", "nbf": now - 60, "iat": now - 60,
              "exp": now + 3600, **changes}
    claims = {k: v for k, v in claims.items() if v is not None}
    signing_input = f"{_b64url(json.dumps({'alg': 'HS512', 'typ': 'JWT'}).encode())}.{_b64url(json.dumps(claims).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{_b64url(signature)}"


def check_token(server: Server, tmp_path: Path, value: str, name: str = "scenario") -> dict[str, Any]:
    code, data = check(server.profile(tmp_path, auth_type="token", token=value, name=name), "--only", "auth-backend")
    return result_of(data, "auth-backend")


# --- claims that do not fit ------------------------------------------------------------------------------

@pytest.fixture(params=["airflow3", "airflow3_old"], ids=["airflow-3.3.2", "airflow-3.1.3"])
def any_airflow3(request: pytest.FixtureRequest) -> Server:
    """The clock and required claims are checked alike by 3.1.3 (no jwt_issuer set) and 3.3.2."""
    return request.getfixturevalue(request.param)


def test_a_token_from_a_clock_running_ahead_is_not_valid_yet_and_the_fix_is_the_clock(any_airflow3: Server,
                                                                                      tmp_path: Path) -> None:
    airflow3 = any_airflow3
    ahead = int(time.time()) + 300
    auth = check_token(airflow3, tmp_path, signed_token(airflow3, nbf=ahead, iat=ahead))
    assert auth["status"] == "fail" and "not valid yet by the server's clock (403 'Invalid JWT token')" in auth["summary"]
    assert re.search(r"its nbf \(not before\) is [45] min ahead of the server's clock", auth["summary"]), auth["summary"]
    assert re.search(r"the clock of whoever issued it was [45] min ahead", auth["summary"]), auth["summary"]
    assert "this machine's clock agrees with the server's" in auth["explanation"].lower()
    assert "timedatectl set-ntp true" in fix_text(auth) and "jwt_secret" not in fix_text(auth)
    assert "server's own clock" in auth["why_ui_works"]

    right_clock = check_token(airflow3, tmp_path, signed_token(airflow3), name="right-clock")
    assert right_clock["status"] == "pass", "the same token from a clock set right is accepted"


def test_a_token_expired_by_the_servers_clock_only_blames_this_machines_clock(
        airflow3: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine's clock 10 min behind the server's (the doctor's clock is set back; the server's answer is real)."""
    real_now = token_trust.utc_now
    monkeypatch.setattr(token_trust, "utc_now", lambda: real_now() - timedelta(minutes=10))
    auth = check_token(airflow3, tmp_path, signed_token(airflow3, exp=int(time.time()) - 300))
    assert auth["summary"].startswith("the profile's token is expired by the server's clock but not by this "
                                      "machine's (401 'Token Expired')"), auth["summary"]
    assert re.search(r"this machine's clock is (9|10) min behind the server's", auth["summary"]), auth["summary"]
    assert "NTP" in auth["fix"]["text"] and auth["why_ui_works"]


def test_a_token_without_exp_is_refused_for_the_missing_claim(any_airflow3: Server, tmp_path: Path) -> None:
    airflow3 = any_airflow3
    auth = check_token(airflow3, tmp_path, signed_token(airflow3, exp=None))
    assert "it has no exp, which Airflow 3 requires in every token" in auth["summary"], auth["summary"]
    assert auth["why_ui_works"]
    with_exp = check_token(airflow3, tmp_path, signed_token(airflow3), name="with-exp")
    assert with_exp["status"] == "pass"


@pytest.mark.parametrize("claim, value, named", [
    ("aud", "another-audience", "audience 'another-audience'"),
    ("iss", "another-issuer", "issuer 'another-issuer'"),
])
def test_a_token_for_another_audience_or_issuer_is_named_and_the_printed_command_shows_the_servers(
        airflow3: Server, tmp_path: Path, claim: str, value: str, named: str) -> None:
    auth = check_token(airflow3, tmp_path, signed_token(airflow3, **{claim: value}))
    assert "rejected as 'Invalid JWT token' (403)" in auth["summary"] and named in auth["summary"], auth["summary"]
    assert "jwt_secret =" not in fix_text(auth) and auth["why_ui_works"]

    printer = next(c for c in auth["fix"]["commands"] if '("iss", "aud")' in c)
    shown = run_printed(airflow3, printer)
    assert "eyJ" not in shown, "the command prints the claims, never the token"
    expected = json.loads(shown.replace("'", '"'))
    assert expected[claim] != value
    fitting = check_token(airflow3, tmp_path, signed_token(airflow3, **{claim: expected[claim]}), name="fitting")
    assert fitting["status"] == "pass", "a token with the claims the server issues is accepted"


def run_printed(server: Server, command: str) -> str:
    env = {**os.environ, "AIRFLOW_URL": server.url, "AIRFLOW_USER": ADMIN_USER,
           "AIRFLOW_PASSWORD": server.password(ADMIN_USER)}
    done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


# --- api-servers that do not share a secret --------------------------------------------------------------

@contextmanager
def second_api_server(server: Server, tmp_path: Path, jwt_secret: str | None) -> Iterator[tuple[str, Path]]:
    """Another api-server on the session server's database, as a second container runs one: its own AIRFLOW_HOME,
    where Airflow writes a fresh airflow.cfg (with a jwt_secret it generates, unless `jwt_secret` is given in the
    environment). On a free port; stopped by PID. Yields its url and its home."""
    home = tmp_path / f"replica-{free_port()}"
    (home / "tmp").mkdir(parents=True)
    port = free_port()
    env = {k: v for k, v in server.sandbox.process_environment("api-server").items()
           if k != "AIRFLOW__API_AUTH__JWT_SECRET"}
    env.update({"AIRFLOW_HOME": str(home / "airflow"), "HOME": str(home), "XDG_RUNTIME_DIR": str(home),
                "TMPDIR": str(home / "tmp"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{server.sandbox.home / 'airflow.db'}"})
    if jwt_secret is not None:
        env["AIRFLOW__API_AUTH__JWT_SECRET"] = jwt_secret
    log = home / "api-server.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(server.sandbox.airflow()), "api-server", "-H", "127.0.0.1", "-p", str(port),
                                    "-w", "1"], env=env, cwd=home, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while not _serves(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the second api-server did not start; {log}:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield url, home / "airflow"
    finally:
        stop_pids([process.pid])


def _serves(url: str) -> bool:
    try:
        return requests.get(url + "/api/v2/version", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def per_connection_balancer(upstreams: list[str]):
    """Like a TCP load balancer: each new client connection goes to the next upstream, and stays there."""
    turn = itertools.cycle(upstreams)
    chosen: dict[tuple[str, int], str] = {}

    def route(handler) -> Reply:
        upstream = chosen.setdefault(handler.client_address, next(turn))
        reply = forward(handler, upstream, handler.path)
        if handler.headers.get("Connection", "").lower() == "close":  # said back, as HTTP/1.1 servers do
            reply.headers["Connection"] = "close"
        return reply
    return route


def ui_like_reads(front: str, server: Server, reads: int = 4) -> list[int]:
    """What the UI does: log in at /auth/token, then read the API with the _token cookie, over one kept connection."""
    with requests.Session() as browser:
        login = browser.post(front + "/auth/token", json={"username": ADMIN_USER,
                                                          "password": server.password(ADMIN_USER)}, timeout=30)
        cookie = {"_token": login.json()["access_token"]}
        return [browser.get(front + "/api/v2/dags", params={"limit": 1}, cookies=cookie, timeout=30).status_code
                for _ in range(reads)]


def test_api_servers_without_a_shared_jwt_secret_are_named_and_sharing_it_fixes_the_check(
        airflow3: Server, tmp_path: Path) -> None:
    shared = json.loads((airflow3.sandbox.root / "keys.json").read_text())["jwt"]
    with second_api_server(airflow3, tmp_path, jwt_secret=None) as (other, home):
        generated = re.search(r"^jwt_secret = (\S+)$", (home / "airflow.cfg").read_text(), re.M)
        assert generated and generated.group(1) != shared, "the replica's fresh airflow.cfg has its own secret"
        with LocalServer(per_connection_balancer([airflow3.url, other])) as front:
            code, data = check(airflow3.profile(tmp_path, url=front.url), "--only", "auth-backend")
            auth = result_of(data, "auth-backend")
            assert code == 1 and auth["summary"].startswith("a token this server just issued is accepted by some "
                                                            "requests and refused by others"), auth["summary"]
            assert "each on a new connection): the api-servers behind this address do not share [api_auth] " \
                   "jwt_secret" in auth["summary"]
            assert "carry the same claims, so it is the signing secret" in auth["explanation"]
            assert "AIRFLOW__API_AUTH__JWT_SECRET" in fix_text(auth)
            assert "keeps its connection open to the api-server that logged it in" in auth["why_ui_works"]
            assert ui_like_reads(front.url, airflow3) == [200] * 4, "the UI's kept connection is not affected"

    with second_api_server(airflow3, tmp_path, jwt_secret=shared) as (other, _):
        with LocalServer(per_connection_balancer([airflow3.url, other])) as front:
            code, data = check(airflow3.profile(tmp_path, url=front.url, name="shared"), "--only", "auth-backend")
    assert code == 0 and result_of(data, "auth-backend")["status"] == "pass", "one shared jwt_secret is the fix"


def test_airflow_2_has_no_jwt_auth_so_a_tokens_claims_are_not_blamed(airflow2: Server, tmp_path: Path) -> None:
    """Airflow 2's /api/v1 takes no bearer tokens at all: a JWT from a clock running ahead is refused as any token."""
    ahead = int(time.time()) + 300
    auth = check_token(airflow2, tmp_path, signed_token(airflow2, nbf=ahead, iat=ahead))
    assert auth["status"] == "fail" and auth["summary"].startswith("the bearer token was refused (401"), auth["summary"]
    assert "not valid yet" not in auth["summary"] and "accepts no bearer tokens" in auth["explanation"]
