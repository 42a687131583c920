"""The situations users hit, on every scenario server (2.10.5, 2.11.2, 3.1.3, 3.2.2, 3.3.2, 3.3.2+FAB): which check
fails first, and what the headline says.

Every scenario also proves that the doctor created no DAG run, and every failing headline says why the UI works.
Where the cause is in the script's request (its body, URL, encoding or auth scheme), both printed snippets of "the
request that works" are executed against the same server with only the secret in the environment, and each must
create a run (deleted after); where it is not, the report must not claim the snippet works.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.conftest import NO_ISSUER_API_SERVER, Server, key_major, key_release, scenario_server_keys
from tests.integration.dags import REQUIRED_PARAM, REQUIRED_PARAM_DAG_ID
from tests.integration.matrix import cannot_apply

pytestmark = pytest.mark.integration


ASKED_FOR_ONLY = ("test-trigger", "cors")
"""Checks that run only when asked (--trigger; origin: in the profile): elsewhere they skip and say so."""


def run_check(profile: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code, data, _ = run_check_with_output(profile, *extra)
    return code, data


def run_check_with_output(profile: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    """The exit code, the JSON report, and everything printed (for the tests that look for leaks in all of it)."""
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json", *extra])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout), result.output


def result_of(data: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(r for r in data["results"] if r["check_id"] == check_id)


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {r["check_id"]: r["status"] for r in data["results"]}


def first_failure(data: dict[str, Any]) -> str | None:
    return next((r["check_id"] for r in data["results"] if r["status"] == "fail"), None)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_jwt(server: Server, *, secret: str | None = None, expires_in: int = 3600, sub: str | None = None,
              role: str = "admin") -> str:
    """A token shaped like Airflow 3's own (HS512), signed with this server's secret or another one; its subject is
    the admin's as the server's own tokens name it (the simple auth manager: the username; FAB: the user's id)."""
    keys = json.loads((server.sandbox.root / "keys.json").read_text())
    sub = sub if sub is not None else admin_subject(server)
    now = int(time.time())
    header = {"alg": "HS512", "kid": "not-used", "typ": "JWT"}
    claims = {"sub": sub, "role": role, "teams": [], "jti": "doctor", "iss": "airflow-doctor-sandbox",
              "aud": "apache-airflow", "nbf": now - 7200, "iat": now - 7200, "exp": now + expires_in}
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    key = (secret or keys["jwt"]).encode()
    signature = hmac.new(key, signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{_b64url(signature)}"


def admin_subject(server: Server) -> str:
    token = server.admin_headers()["Authorization"].removeprefix("Bearer ")
    claims = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sub"]


@dataclass
class Scenario:
    name: str
    majors: tuple[int, ...]
    profile: Callable[[Server, Path], Path]
    failing: str | None
    """The first check that fails (None: all pass)."""
    headline: str | None
    """The check the diagnosis names."""
    says: tuple[str, ...] = ()
    """Fragments of the diagnosis summary (case-insensitive)."""
    also: dict[str, str] = field(default_factory=dict)
    """Other check statuses to assert."""
    in_request: bool = False
    """The cause is in the script's own request (body, URL, encoding, auth scheme): the printed snippets fix it."""
    existing_run: dict[str, Any] | None = None
    """A run (trigger body) created before the check and deleted after: what a fixed run id or date collides with."""
    fill: dict[str, str] = field(default_factory=dict)
    """Placeholders of the printed snippets and what the operator fills in (required params without a default)."""
    username: str | None = None
    """The login to put in AIRFLOW_USERNAME when the profile has none (a token sent to Airflow 2)."""
    observed: str = ""
    """A fragment of the failing check's explanation: what the server itself answered in this run."""


def p(**kwargs: Any) -> Callable[[Server, Path], Path]:
    return lambda server, tmp: server.profile(tmp, **kwargs)


def body(**fields: Any) -> Callable[[Server, Path], Path]:
    """A payload as the version expects it (Airflow 3 wants the logical_date key), plus `fields`."""
    return lambda server, tmp: server.profile(tmp, payload={**({"logical_date": None} if server.major >= 3 else {}), **fields})


def _with_request(profile: Path, path: str) -> Path:
    profile.write_text(profile.read_text() + f"request: {{path: '{path}'}}\n")
    return profile


def request(**fields: Any) -> dict[str, Any]:
    """The keyword arguments of a scenario whose cause is in the script's request."""
    return {"in_request": True, **fields}


TAKEN_DATE = "2032-02-02T00:00:00+00:00"
TAKEN_RUN = {"dag_run_id": "doctor_scenario_taken_date", "logical_date": TAKEN_DATE, "conf": {}}
LIST_PAYLOAD = [{"batch_size": 5}]


def session_only(server: Server, tmp: Path) -> Path:
    return server.profile(tmp, url=server.session_only_url)


SCENARIOS = [
    Scenario("correct-admin-profile-passes-everything", (2, 3), p(), None, None),
    Scenario("op-role-may-trigger", (2, 3), p(user="op"), None, None),
    Scenario("basic-auth-sent-to-a-session-only-backend", (2,), session_only, "auth-backend", "auth-backend",
             ("basic auth is not enabled",)),
    Scenario("api-backend-deny-all-is-rewritten-to-session", (2,),
             lambda s, t: s.profile(t, url=s.webserver("webserver-deny")), "auth-backend", "auth-backend",
             ("basic auth is not enabled",)),
    Scenario("api-backend-default-authenticates-nobody", (2,),
             lambda s, t: s.profile(t, url=s.webserver("webserver-default")), "auth-backend", "auth-backend",
             ("authenticates nobody",)),
    Scenario("sso-user-sends-basic-auth", (2,), lambda s, t: s.profile(t, url=s.sso_url, user="alice@example.com",
                                                                        password="her-corporate-password"),
             "auth-backend", "auth-backend", ("single sign-on",)),
    Scenario("database-user-on-an-sso-deployment-still-works", (2,), lambda s, t: s.profile(t, url=s.sso_url), None, None),
    Scenario("wrong-password", (2, 3), p(password="not-the-password"), "auth-backend", "auth-backend",
             ("wrong username or password",)),
    Scenario("non-ascii-password-sent-as-latin-1", (2,), p(user="user1"), "credential-encoding", "credential-encoding",
             ("non-ascii", "latin-1"), {"auth-backend": "warn", "permissions": "pass"}, **request()),
    Scenario("non-ascii-password-is-fine-for-airflow-3", (3,), p(user="user1"), None, None),
    Scenario("password-file-with-trailing-newline", (2, 3), lambda s, t: s.profile(t, password=s.password("admin") + "\n"),
             "credential-encoding", "credential-encoding", ("trailing newline",), {"auth-backend": "warn"}, **request()),
    Scenario("viewer-may-read-but-not-trigger", (2, 3), p(user="viewer"), "permissions", "permissions",
             ("may not trigger", "403")),
    Scenario("unknown-dag-id", (2, 3), p(dag_id="no_such_dag"), "dag-exists", "dag-exists", ("no dag has the id",)),
    Scenario("dag-id-differs-in-case", (2, 3), p(dag_id="DOCTOR_DEMO"), "dag-exists", "dag-exists",
             ("differs only in case", "doctor_demo")),
    Scenario("display-name-used-as-dag-id", (2, 3), p(dag_id="Doctor Display"), "dag-exists", "dag-exists",
             ("display name", "doctor_display_id")),
    Scenario("dag-file-never-imported", (2, 3), p(dag_id="doctor_missing"), "dag-exists", "dag-exists",
             ("fails to import",)),
    Scenario("dag-file-broke-after-parsing", (2, 3), p(dag_id="doctor_becomes_broken"), "dag-exists", "dag-exists",
             ("now fails to import",)),
    Scenario("dag-file-deleted", (2, 3), p(dag_id="doctor_stale"), "dag-exists", "dag-exists", ("no longer defines it", "404")),
    Scenario("paused-dag", (2, 3), p(dag_id="doctor_paused", payload=None), "paused", "paused",
             ("is paused", "never starts")),
    Scenario("seed-payload-with-run-id", (2, 3), p(payload={"conf": {"batch_size": 3}, "run_id": "custom_run_id_123"}),
             "payload-schema", "payload-schema", ("run_id",), **request()),
    Scenario("seed-payload-with-null-run-id", (2, 3), p(payload={"conf": {}, "run_id": None}),
             "payload-schema", "payload-schema", ("run_id",), **request()),
    Scenario("conf-sent-as-a-json-string", (2, 3), body(conf="{\"batch_size\": 5}"),
             "payload-schema", "payload-schema", ("conf",), **request()),
    Scenario("conf-breaks-the-dag-params", (2, 3), body(conf={"batch_size": "ten"}),
             "payload-schema", "payload-schema", ("batch_size",), **request()),
    Scenario("naive-logical-date", (2, 3), p(payload={"logical_date": "2024-01-01T00:00:00", "conf": {}}),
             "payload-schema", "payload-schema", ("logical_date", "timezone"), **request()),
    Scenario("airflow-3-style-null-logical-date-sent-to-airflow-2", (2,), p(payload={"logical_date": None, "conf": {}}),
             "payload-schema", "payload-schema", ("logical_date", "may not be null"), **request()),
    Scenario("fixed-logical-date-works-once", (2, 3), body(logical_date="2025-06-01T00:00:00Z", conf={}), None,
             "payload-schema", ("409",), {"payload-schema": "warn"}),
    Scenario("airflow-3-without-logical-date", (3,), p(payload={"conf": {"batch_size": 2}}), "payload-schema",
             "payload-schema", ("logical_date", "required"), **request()),
    Scenario("execution-date-sent-to-airflow-3", (3,), p(payload={"execution_date": "2024-01-01T00:00:00Z", "conf": {}}),
             "payload-schema", "payload-schema", ("execution_date",), **request()),
    Scenario("run-id-with-a-space", (2,), p(payload={"dag_run_id": "my run", "conf": {}}), "payload-schema",
             "payload-schema", ("dag_run_id",), **request()),
    Scenario("script-posts-with-a-trailing-slash", (2, 3),
             lambda s, t: _with_request(s.profile(t), "/api/v{v}/dags/doctor_demo/dagRuns/".replace("{v}", str(s.major - 1))),
             "payload-schema", "payload-schema", ("ends with a slash",), **request()),
    Scenario("script-posts-to-the-ui-trigger-form", (2, 3),
             lambda s, t: _with_request(s.profile(t), "/dags/doctor_demo/trigger"), "payload-schema", "payload-schema",
             ("web ui's trigger form",), **request()),
    Scenario("basic-auth-sent-to-airflow-3", (3,), p(auth_type="basic"), "auth-backend", "auth-backend",
             ("does not accept basic", "do get a token"), **request()),
    Scenario("airflow-2-profile-asks-for-a-token", (2,), p(auth_type="jwt"), "auth-backend", "auth-backend",
             ("no /auth/token", "basic auth with the same credentials works"), **request()),
    Scenario("no-credentials", (2, 3), p(auth_type="none"), "auth-backend", "auth-backend", ("requires",)),
    Scenario("garbage-bearer-token", (3,), p(auth_type="token", token="not-a-real-token"), "auth-backend",
             "auth-backend", ("invalid jwt token",)),
    Scenario("expired-token", (3,), lambda s, t: s.profile(t, auth_type="token", token=forge_jwt(s, expires_in=-600)),
             "auth-backend", "auth-backend", ("expired",)),
    Scenario("token-signed-by-another-deployment", (3,),
             lambda s, t: s.profile(t, auth_type="token", token=forge_jwt(s, secret="another-deployments-secret")),
             "auth-backend", "auth-backend", ("invalid jwt token",)),
    Scenario("valid-pre-issued-token", (3,), lambda s, t: s.profile(t, auth_type="token", token=forge_jwt(s)), None, None),
    Scenario("token-pasted-with-bearer-prefix", (3,),
             lambda s, t: s.profile(t, auth_type="token", token="Bearer " + forge_jwt(s)), "auth-backend",
             "credential-encoding", ("starts with 'bearer '",), **request()),
    Scenario("bearer-token-sent-to-airflow-2", (2,), p(auth_type="token", token="some-token"), "auth-backend",
             "auth-backend", ("bearer token was refused",), **request(username="admin")),
    Scenario("fixed-logical-date-already-taken", (2, 3), body(logical_date=TAKEN_DATE, conf={}), "payload-schema",
             "payload-schema", ("logical_date", "already has the logical date"), **request(existing_run=TAKEN_RUN)),
    Scenario("script-posts-to-the-other-api-generation", (2, 3),
             lambda s, t: _with_request(s.profile(t), f"/api/v{4 - s.major}/dags/doctor_demo/dagRuns"),
             "payload-schema", "payload-schema", ("api; this server is airflow",), **request()),
    Scenario("required-param-missing-from-conf", (2, 3),
             lambda s, t: s.profile(t, dag_id=REQUIRED_PARAM_DAG_ID, payload={
                 **({"logical_date": None} if s.major >= 3 else {}), "conf": {"batch_size": 5}}),
             "payload-schema", "payload-schema", (f"conf.{REQUIRED_PARAM}", "no default"),
             **request(fill={f"<FILL IN: {REQUIRED_PARAM}>": "eu-west-1"})),
    Scenario("payload-is-a-json-list", (2, 3), p(payload=LIST_PAYLOAD), "payload-schema", "payload-schema",
             ("json list", "must be a json object"), **request(observed="(the server answered: ")),
    Scenario("dag-forbids-manual-runs", (3,), p(dag_id="doctor_no_manual", payload=None), "dag-exists", "dag-exists",
             ("does not allow manual runs",)),
    Scenario("run-id-with-two-dots", (3,), body(dag_run_id="release..2024", conf={}), "payload-schema", "payload-schema",
             ("contains '..'",), **request()),
]


def does_not_apply(scenario: Scenario, key: str) -> str | None:
    """Why a scenario cannot apply to this server (None: it applies), from matrix.FIRST_RELEASE. Every Airflow 3
    scenario applies to the FAB auth manager too: it has the same DAGs and users (FAB role names), and forged tokens
    carry its subject."""
    return cannot_apply(key_release(key)[0], scenario.name) or None


def _cases():
    """Scenario by scenario, each on every server in turn: a server's scheduler has looped on by the time its next
    test settles it after a deleted run (Server.settle), so nobody waits."""
    for scenario in SCENARIOS:
        for key in scenario_server_keys():
            if key_major(key) in scenario.majors:
                reason = does_not_apply(scenario, key)
                yield pytest.param(scenario, key, id=f"airflow-{key}-{scenario.name}",
                                   marks=[pytest.mark.skip(reason=reason)] if reason else [])


@pytest.mark.parametrize("scenario, key", list(_cases()))
def test_scenario(scenario: Scenario, key: str, airflow_servers: dict[str, Server], tmp_path: Path) -> None:
    check_scenario(scenario, airflow_servers[key], tmp_path)


def test_airflow_3_1_token_endpoint_500_names_the_jwt_issuer(airflow3_old: Server, tmp_path: Path) -> None:
    """The second api-server of 3.1.3 runs as a bare pip install leaves it: without [api_auth] jwt_issuer."""
    code, data = run_check(airflow3_old.profile(tmp_path, url=airflow3_old.webserver(NO_ISSUER_API_SERVER)))
    assert code == 1 and data["facts"]["airflow"] == "3.1.3"
    assert data["diagnosis"]["check_id"] == "auth-backend"
    assert "500" in data["diagnosis"]["summary"] and "token endpoint crashed" in data["diagnosis"]["summary"]
    assert "AIRFLOW__API_AUTH__JWT_ISSUER=airflow" in data["diagnosis"]["fix"]["commands"]


def check_scenario(scenario: Scenario, server: Server, tmp_path: Path) -> None:
    server.settle()  # a scheduler restarted after an earlier test deleted a run would be the headline
    if scenario.existing_run is None:
        diagnose_scenario(scenario, server, tmp_path)
        return
    created = server.api("POST", "/dags/doctor_demo/dagRuns", json=scenario.existing_run)
    assert created.status_code in (200, 409), created.text
    try:
        diagnose_scenario(scenario, server, tmp_path)
    finally:
        server.delete_run("doctor_demo", scenario.existing_run["dag_run_id"])


def diagnose_scenario(scenario: Scenario, server: Server, tmp_path: Path) -> None:
    profile = scenario.profile(server, tmp_path)
    runs_before = server.all_runs()

    code, data = run_check(profile)

    assert first_failure(data) == scenario.failing, json.dumps(statuses(data))
    assert code == (1 if scenario.failing else 0)
    if scenario.headline is None:
        assert data["diagnosis"] is None, data["diagnosis"]
        assert {s for c, s in statuses(data).items() if c not in ASKED_FOR_ONLY} <= {"pass"}, statuses(data)
        assert statuses(data)["test-trigger"] == "skip"
    else:
        assert data["diagnosis"]["check_id"] == scenario.headline, data["diagnosis"]
        summary = data["diagnosis"]["summary"].lower()
        for fragment in scenario.says:
            assert fragment.lower() in summary, (fragment, summary)
        assert data["diagnosis"]["fix"] is not None
    for check_id, status in scenario.also.items():
        assert statuses(data)[check_id] == status, statuses(data)
    assert server.all_runs() == runs_before, "the doctor created a DAG run"
    if scenario.failing:
        assert data["diagnosis"]["why_ui_works"].strip(), data["diagnosis"]
        failed = next(r for r in data["results"] if r["check_id"] == scenario.headline)
        assert scenario.observed in failed["explanation"], failed["explanation"]
    if scenario.in_request:
        assert_the_printed_request_creates_runs(scenario, server, data, secret_of(tmp_path))
    elif scenario.failing:
        assert_the_snippet_is_not_claimed_to_work(data)


def secret_of(tmp_path: Path) -> str:
    """The secret as the profile keeps it (a trailing newline, a 'Bearer ' prefix and all)."""
    return (tmp_path / "scenario.secret").read_text()


def assert_the_snippet_is_not_claimed_to_work(data: dict[str, Any]) -> None:
    notes = data["working_request"]["notes"]
    assert not any("corrects what the script sends" in note for note in notes), notes
    if data["working_request"]["snippets"]:
        assert notes[0].startswith("Fix first:") and "Until then this request fails too" in notes[0], notes


def assert_the_printed_request_creates_runs(scenario: Scenario, server: Server, data: dict[str, Any], secret: str) -> None:
    """Both snippets, as printed (placeholders filled as the notes ask), run with only the secret in the
    environment; each must create a run of the DAG, which is then deleted."""
    notes = data["working_request"]["notes"]
    assert notes[0].startswith("This request corrects what the script sends"), notes
    assert not any(note.startswith("Fix first") for note in notes), notes
    for placeholder in scenario.fill:
        name = placeholder.removeprefix("<FILL IN: ").removesuffix(">")
        assert any(note.startswith(f"Fill in conf.{name} ") for note in notes), notes
    code = {s["label"]: s["code"] for s in data["working_request"]["snippets"]}
    for placeholder, value in scenario.fill.items():
        assert placeholder in code["curl"] and placeholder in code["Python (requests)"]
        code = {label: text.replace(placeholder, value) for label, text in code.items()}
    dag_id = re.search(r"/dags/([^/'\"]+)/dagRuns", code["curl"]).group(1)
    variable = "AIRFLOW_TOKEN" if "AIRFLOW_TOKEN" in code["curl"] else "AIRFLOW_PASSWORD"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({variable: secret, "LC_ALL": "C.UTF-8"})
    if scenario.username:
        env.update({"AIRFLOW_USERNAME": scenario.username, "AIRFLOW_PASSWORD": server.password(scenario.username)})
    shell = ["bash", "-c", code["curl"]]
    python = [sys.executable, "-c", code["Python (requests)"]]
    for command, read_run_id in ((shell, lambda out: json.loads(out)["dag_run_id"]), (python, str.strip)):
        ran = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stdout + ran.stderr + command[-1]
        run_id = read_run_id(ran.stdout)
        try:
            assert run_id in server.run_ids(dag_id), (run_id, dag_id)
        finally:  # each snippet on its own: a fixed run id or date in the body is then free for the next one
            server.delete_run(dag_id, run_id)
