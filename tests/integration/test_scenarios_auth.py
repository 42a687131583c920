"""What stands between the script and Airflow, on the scenario servers behind small local proxies.

Each proxy is a LocalServer on 127.0.0.1 forwarding to a shared real server: one that drops the Authorization
header, one that serves Airflow only under /scenario_server, one that answers its own 401 page, one that spreads requests
over two webservers configured differently. Each scenario asserts the headline's cause, why the UI works, and the
fix, and applies the fix where a test can (the corrected url then passes).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.conftest import Server
from tests.servers import LocalServer, Reply

pytestmark = pytest.mark.integration

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}
NGINX_404 = b"<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center></body></html>"
NGINX_401 = (b"<html><head><title>401 Authorization Required</title></head><body><center><h1>401 Authorization "
             b"Required</h1></center><hr><center>nginx</center></body></html>")


def forward(handler, upstream: str, path: str, drop_authorization: bool = False) -> Reply:
    """Send the request on to `upstream`, as a proxy does, and add a Via header to the answer."""
    headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP
               and not (drop_authorization and k.lower() == "authorization")}
    answer = requests.request(handler.command, upstream + path, headers=headers, data=handler.request_body or None,
                              allow_redirects=False, timeout=60)
    kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP | {"set-cookie"}}
    cookies = answer.raw.headers.getlist("Set-Cookie")
    if cookies:
        kept["Set-Cookie"] = cookies[-1]
    return Reply(answer.status_code, {**kept, "Via": "1.1 airflow-doctor-test-proxy"}, answer.content)


def check(profile: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json", *extra])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def result_of(data: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(r for r in data["results"] if r["check_id"] == check_id)


def fix_text(result: dict[str, Any]) -> str:
    fix = result["fix"] or {"text": "", "commands": []}
    return fix["text"] + "\n" + "\n".join(fix["commands"])


def proxy(route: Callable) -> LocalServer:
    return LocalServer(route)


# --- a proxy that drops the Authorization header ------------------------------------------------------

def test_a_proxy_that_drops_authorization_is_blamed_not_airflows_configuration(scenario_server: Server, tmp_path: Path) -> None:
    dropping = {"on": True}
    with proxy(lambda h: forward(h, scenario_server.url, h.path, drop_authorization=dropping["on"])) as front:
        code, data = check(scenario_server.profile(tmp_path, url=front.url), "--only", "auth-backend")
        auth = result_of(data, "auth-backend")
        assert code == 1 and auth["status"] == "fail"
        assert auth["summary"].startswith("the Authorization header does not reach Airflow"), auth["summary"]
        assert "Via: 1.1 airflow-doctor-test-proxy" in auth["summary"] + auth["explanation"]
        assert "auth_backends =" not in fix_text(auth), "Airflow's configuration is not the cause"
        assert "proxy_set_header Authorization" in fix_text(auth)
        assert "cookie" in auth["why_ui_works"]
        assert data["diagnosis"]["check_id"] == "auth-backend" and data["diagnosis"]["why_ui_works"]

        dropping["on"] = False
        code, data = check(scenario_server.profile(tmp_path, url=front.url), "--only", "auth-backend")
        assert result_of(data, "auth-backend")["status"] == "pass", "the fix (pass the header on) is all it takes"


def test_a_token_just_issued_and_refused_is_the_proxy_dropping_it_on_airflow_3(scenario_server3: Server, tmp_path: Path) -> None:
    with proxy(lambda h: forward(h, scenario_server3.url, h.path, drop_authorization=True)) as front:
        code, data = check(scenario_server3.profile(tmp_path, url=front.url), "--only", "auth-backend")
    auth = result_of(data, "auth-backend")
    assert auth["summary"].startswith("the Authorization header does not reach Airflow")
    assert "the same token sent as the UI's cookie is accepted" in auth["summary"]
    assert "jwt_secret" not in fix_text(auth) and "_token cookie" in auth["why_ui_works"]


# --- a proxy that answers its own 401 page ------------------------------------------------------------

def gateway(upstream: str) -> Callable:
    """nginx with auth_basic on the API, except the version and health endpoints its health checks use."""
    def route(handler) -> Reply:
        if "/dags" in handler.path:
            return Reply(401, {"Server": "nginx/1.25.3", "Content-Type": "text/html",
                               "WWW-Authenticate": 'Basic realm="API gateway"'}, NGINX_401)
        return forward(handler, upstream, handler.path)
    return route


def test_a_401_page_from_a_gateway_is_not_blamed_on_airflow(scenario_server: Server, tmp_path: Path) -> None:
    with proxy(gateway(scenario_server.url)) as front:
        code, data = check(scenario_server.profile(tmp_path, url=front.url), "--only", "auth-backend")
    auth = result_of(data, "auth-backend")
    assert code == 1 and "comes from what stands in front of Airflow" in auth["summary"]
    assert "realm 'API gateway'" in auth["summary"]
    assert "auth_backends" not in fix_text(auth) and "jwt_secret" not in fix_text(auth)
    assert "gateway" in auth["why_ui_works"]


# --- Airflow served under a sub-path ------------------------------------------------------------------

def mounted(upstream: str, prefix: str = "/airflow", api_at_root: bool = False) -> Callable:
    """A proxy serving Airflow under `prefix` (stripped on the way), and its own 404 page everywhere else;
    with `api_at_root`, /api/ is also passed on at the root (so only /auth/token goes missing there)."""
    def route(handler) -> Reply:
        if handler.path.startswith(prefix + "/"):
            return forward(handler, upstream, handler.path[len(prefix):])
        if api_at_root and handler.path.startswith("/api/"):
            return forward(handler, upstream, handler.path)
        return Reply(404, {"Server": "nginx/1.25.3", "Content-Type": "text/html"}, NGINX_404)
    return route


def test_a_url_without_the_sub_path_gets_the_url_that_works(scenario_server: Server, tmp_path: Path) -> None:
    with proxy(mounted(scenario_server.url)) as front:
        code, data = check(scenario_server.profile(tmp_path, url=front.url), "--only", "reachability")
        reach = result_of(data, "reachability")
        assert code == 1 and reach["summary"].startswith("Airflow is served under /airflow"), reach["summary"]
        assert reach["fix"]["commands"] == [f"url: {front.url}/airflow"] and reach["why_ui_works"]

        code, data = check(scenario_server.profile(tmp_path, url=front.url + "/airflow"), "--only", "auth-backend")
        assert code == 0 and result_of(data, "auth-backend")["status"] == "pass", "the printed url works"


def test_a_token_endpoint_missing_at_the_url_is_found_under_the_sub_path(scenario_server3: Server, tmp_path: Path) -> None:
    with proxy(mounted(scenario_server3.url, api_at_root=True)) as front:
        code, data = check(scenario_server3.profile(tmp_path, url=front.url), "--only", "auth-backend")
        auth = result_of(data, "auth-backend")
        assert code == 1 and "issued a token: this Airflow is served under /airflow" in auth["summary"], auth["summary"]
        assert "no token endpoint" not in auth["summary"] and "platform's token" not in fix_text(auth)
        assert auth["fix"]["commands"] == [f"url: {front.url}/airflow"] and auth["why_ui_works"]

        code, data = check(scenario_server3.profile(tmp_path, url=front.url + "/airflow"), "--only", "auth-backend")
        assert code == 0 and result_of(data, "auth-backend")["status"] == "pass", "the printed url works"


# --- replicas that disagree ---------------------------------------------------------------------------

def test_webservers_that_disagree_behind_one_address_are_named(scenario_server2: Server, tmp_path: Path) -> None:
    """The shared 2.10.5 runs a basic+session webserver and a session-only one on the same database."""
    readers = itertools.cycle([scenario_server2.session_only_url, scenario_server2.url])
    with proxy(lambda h: forward(h, next(readers) if "/dags" in h.path else scenario_server2.url, h.path)) as front:
        code, data = check(scenario_server2.profile(tmp_path, url=front.url), "--only", "auth-backend")
    auth = result_of(data, "auth-backend")
    assert code == 1 and "the servers behind this address disagree" in auth["summary"], auth["summary"]
    assert "same [api] auth_backends" in fix_text(auth) and "sticky" in auth["why_ui_works"]


# --- a token from elsewhere: a fresh one from this server, no server change ---------------------------

def fresh_token_as_printed(server: Server, command: str) -> str:
    """Run the fix's token command as printed, with only the secrets in the environment."""
    import os
    import subprocess

    from airflow_doctor.sandbox import ADMIN_USER

    env = {**os.environ, "AIRFLOW_URL": server.url, "AIRFLOW_USER": ADMIN_USER,
           "AIRFLOW_PASSWORD": server.password(ADMIN_USER)}
    answer = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(answer.stdout)["access_token"]


@pytest.mark.parametrize("token", ["not-a-jwt-at-all", "jwt-of-another-deployment"])
def test_a_token_from_elsewhere_needs_a_fresh_token_not_a_shared_secret(scenario_server3: Server, tmp_path: Path,
                                                                        token: str) -> None:
    from tests.integration.test_scenarios import forge_jwt

    value = token if token == "not-a-jwt-at-all" else forge_jwt(scenario_server3, secret="another-deployments-secret-" * 3)
    code, data = check(scenario_server3.profile(tmp_path, auth_type="token", token=value), "--only", "auth-backend")
    auth = result_of(data, "auth-backend")
    assert code == 1 and ("not a JWT at all" if token == "not-a-jwt-at-all" else "signed by another deployment") \
        in auth["summary"], auth["summary"]
    assert "jwt_secret =" not in fix_text(auth) and auth["why_ui_works"]
    command = next(c for c in auth["fix"]["commands"] if "/auth/token" in c)
    fresh = fresh_token_as_printed(scenario_server3, command)
    code, data = check(scenario_server3.profile(tmp_path, auth_type="token", token=fresh, name="fresh"), "--only", "auth-backend")
    assert result_of(data, "auth-backend")["status"] == "pass", "the printed command gives a token that works"


def test_a_wrong_password_for_an_existing_user_is_not_told_to_create_it(scenario_server2: Server, tmp_path: Path) -> None:
    code, data = check(scenario_server2.profile(tmp_path, user="viewer", password="not-the-password"), "--only", "auth-backend")
    auth = result_of(data, "auth-backend")
    assert code == 1 and auth["summary"].startswith("wrong username or password"), auth["summary"]
    assert "airflow users reset-password --username viewer" in fix_text(auth)
    assert "users create --username viewer" not in fix_text(auth) and auth["why_ui_works"]
