"""Fixes written for the auth manager and version the server runs, applied as printed on real servers (issue 18 §2,
§5): the check fails, the printed fix is run on the Airflow host (or the value it prints is used), and the check then
passes. Every user and role a test needs is created here and deleted after; no server's configuration changes."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.integration.conftest import FAB3, Server, settled
from tests.integration.test_scenarios_queued import diagnose, result_of, run_on_host, until

pytestmark = pytest.mark.integration


def fab_aware(server: Server) -> Server:
    """A reused shared server's Sandbox is rebuilt without its auth manager: commands run on its host need FAB's."""
    if "fab" in server.sandbox.extras and server.sandbox.auth_manager != "fab":
        return Server(dataclasses.replace(server.sandbox, auth_manager="fab"))
    return server


@pytest.fixture(params=["2.10.5", FAB3], ids=lambda key: f"airflow-{key}")
def fab_server(request: pytest.FixtureRequest, airflow_servers: dict[str, Server]) -> Server:
    return fab_aware(settled(airflow_servers[request.param]))


@contextmanager
def throwaway_fab_user(server: Server, role: str = "Viewer") -> Iterator[tuple[str, str]]:
    """A FAB user of its own (created with the host's CLI), deleted after, with whatever roles a fix gave it."""
    name, password = f"doctor-fix-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex[:10]}"
    run_on_host(server, f"airflow users create -u {name} -p {password} -r {role} -e {name}@example.invalid "
                        "-f doctor -l fix")
    try:
        yield name, password
    finally:
        run_on_host(server, f"airflow users delete -u {name}")


def test_a_fab_users_wrong_password_gets_reset_password_which_fixes_it_when_run(fab_server: Server,
                                                                                tmp_path: Path) -> None:
    """Airflow 2 and Airflow 3 with FAB: `airflow users reset-password`, never the simple auth manager's file."""
    with throwaway_fab_user(fab_server) as (name, _):
        wanted = f"new-{uuid.uuid4().hex[:10]}"
        profile = fab_server.profile(tmp_path, user=name, password=wanted, payload=None)
        auth = result_of(diagnose(profile), "auth-backend")
        assert auth["status"] == "fail" and "wrong username or password" in auth["summary"], auth
        reset = auth["fix"]["commands"][0]
        assert reset == f'airflow users reset-password --username {name} --password "$AIRFLOW_PASSWORD"'
        assert "simple_auth_manager" not in json.dumps(auth)
        run_on_host(fab_server, reset, env={"AIRFLOW_PASSWORD": wanted})  # the password the script sends
        assert result_of(diagnose(profile), "auth-backend")["status"] == "pass"


def test_a_simple_auth_manager_users_wrong_password_is_read_from_the_passwords_file_not_added_twice(
        airflow3: Server, tmp_path: Path) -> None:
    """The printed command, run on the host, prints the user's password from the file the server reads; the
    profile with that password passes. The user is listed already, so no second entry is the fix."""
    profile = airflow3.profile(tmp_path, user="viewer", password="not-the-password", payload=None)
    auth = result_of(diagnose(profile), "auth-backend")
    assert auth["status"] == "fail" and "simple auth manager (its login page is /auth/login)" in auth["explanation"]
    show, entry = auth["fix"]["commands"]
    assert entry == "viewer:user" and "never add a second entry" in auth["fix"]["text"]
    assert "reset-password" not in json.dumps(auth)
    password = run_on_host(airflow3, show).strip()
    assert password == airflow3.password("viewer") and not password.startswith("(not in")
    fixed = airflow3.profile(tmp_path, user="viewer", password=password, payload=None, name="fixed")
    assert result_of(diagnose(fixed), "auth-backend")["status"] == "pass"


def test_an_airflow_3_fab_viewer_gets_a_grant_scoped_to_the_dag_that_makes_the_trigger_allowed(
        airflow3_fab: Server, tmp_path: Path) -> None:
    server = fab_aware(airflow3_fab)
    role = "trigger_doctor_demo"
    with throwaway_fab_user(server) as (name, password):
        try:
            profile = server.profile(tmp_path, user=name, password=password, payload=None)
            found = result_of(diagnose(profile), "permissions")
            assert found["status"] == "fail" and found["code"] == "fab-trigger-permissions-missing", found
            assert found["fix"]["commands"] == [
                f"airflow roles create {role}", f"airflow roles add-perms {role} -r DAG:doctor_demo -a can_read can_edit",
                f"airflow roles add-perms {role} -r 'DAG Run:doctor_demo' -a can_create",
                f"airflow users add-role -u {name} -r {role}"]
            assert "-r User" not in json.dumps(found["fix"]) and "bypass the DAG's access_control" in found["fix"]["text"]
            for command in found["fix"]["commands"]:
                run_on_host(server, command)
            until(lambda: result_of(diagnose(profile), "permissions")["status"] == "pass",
                  "the grant taking effect ([fab] cache_ttl)")
            other = server.profile(tmp_path, user=name, password=password, payload=None, dag_id="doctor_paused",
                                   name="other")
            assert result_of(diagnose(other), "permissions")["status"] == "fail"  # minimal: no other DAG opened
        finally:
            run_on_host(server, f"airflow users remove-role -u {name} -r {role}")
            run_on_host(server, f"airflow roles delete {role}")


def test_an_unknown_id_on_airflow_3_asks_about_the_id_first_and_the_closest_id_then_passes(
        airflow3: Server, tmp_path: Path) -> None:
    found = result_of(diagnose(airflow3.profile(tmp_path, dag_id="doctor_xyz", payload=None)), "dag-exists")
    assert found["code"] == "dag-not-found" and "is the id right?" in found["summary"], found
    assert "'doctor_demo'" in found["summary"] and "dag_bundle_config_list" in found["explanation"]
    assert found["explanation"].index("First the id") < found["explanation"].index("dag_bundle_config_list")
    named = found["summary"].split("closest known ids: ")[1].split(";")[0].split(", ")[0].strip("'")
    fixed = airflow3.profile(tmp_path, dag_id=named, payload=None, name="fixed")
    assert result_of(diagnose(fixed), "dag-exists")["status"] == "pass"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


ENTRA = "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0"


def entra_token() -> str:
    """Shaped like an Entra ID access token (RS256, the provider's iss and aud); its signature is no one's."""
    now = int(time.time())
    claims = {"iss": ENTRA, "aud": "api://airflow-scripts", "sub": "doctor", "iat": now - 60, "nbf": now - 60,
              "exp": now + 3600}
    head = {"alg": "RS256", "kid": "entra-key", "typ": "JWT"}
    return f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}.{_b64(b'not-a-signature' * 8)}"


@pytest.mark.parametrize("key", ["2.10.5", "3.3.2"], ids=lambda key: f"airflow-{key}")
def test_a_token_from_another_identity_provider_is_named_with_its_issuer_and_the_printed_auth_works(
        key: str, airflow_servers: dict[str, Server], tmp_path: Path) -> None:
    server = settled(airflow_servers[key])
    token = entra_token()
    data = diagnose(server.profile(tmp_path, auth_type="token", token=token, payload=None))
    auth = result_of(data, "auth-backend")
    assert auth["status"] == "fail" and auth["code"] == "token-from-other-identity-provider", auth
    assert ENTRA in auth["summary"] and token not in json.dumps(data) and token.split(".")[1] not in json.dumps(data)
    if server.major >= 3:
        assert "accepts only tokens its own auth manager issues" in auth["explanation"] and "/auth/token" in auth["fix"]["text"]
    else:
        assert "[api] auth_backends" in auth["explanation"] and "google_openid" in auth["explanation"]
    (printed,) = auth["fix"]["commands"]
    auth_type = printed.split("type: ")[1].split("\n")[0]
    fixed = server.profile(tmp_path, auth_type=auth_type, payload=None, name="fixed")
    assert result_of(diagnose(fixed), "auth-backend")["status"] == "pass"


def test_json_never_shows_a_password_the_fix_command_prints(airflow3: Server, tmp_path: Path) -> None:
    """Canary: the report holds the command that prints the password, never the password."""
    profile = airflow3.profile(tmp_path, user="viewer", password="wrong-canary", payload=None)
    data = diagnose(profile)
    assert airflow3.password("viewer") not in json.dumps(data) and "wrong-canary" not in json.dumps(data)



@contextmanager
def extra_web_process(server: Server, name: str, env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """One more web server on this server's database with settings of its own (all-admins mode, a public role),
    started here and stopped by its pid: the shared server's own processes and configuration are untouched."""
    import os
    import signal
    import subprocess

    from airflow_doctor.sandbox.state import free_port

    box = server.sandbox
    port = free_port()
    home = box._make_process_home(name)
    args = (["api-server", "-H", "127.0.0.1", "-p", str(port), "-w", "1"] if server.major >= 3 else
            ["webserver", "-H", "127.0.0.1", "-p", str(port), "-w", "1", "--pid", str(tmp_path / f"{name}.pid")])
    log = (tmp_path / f"{name}.log").open("w")
    process = subprocess.Popen([str(box.airflow()), *args], env={**box.process_environment(name), **env}, cwd=home,
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        health = "/api/v2/monitor/health" if server.major >= 3 else "/health"
        until(lambda: process.poll() is None and _answers(url + health), f"the {name} web server to answer", 600)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _record(server: Server, url: str, name: str, method: str, path: str, body: object = None) -> None:
    """With AIRFLOW_DOCTOR_RECORD=1: keep the answer for the unit tier (the request body's password masked)."""
    import os

    if not os.environ.get("AIRFLOW_DOCTOR_RECORD"):
        return
    from tests.recorded.record import record

    data = record(url, method, path, None, json.dumps(body) if body is not None else None)
    data["request_body"] = {**body, "password": "***"} if isinstance(body, dict) and "password" in body else body
    label = Path(__file__).parents[1] / "recorded" / f"airflow-{server.version}"
    (label / f"{name}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


ANONYMOUS = {"2.10.5": ("AIRFLOW__WEBSERVER__CONFIG_FILE", "AUTH_ROLE_PUBLIC"),
             "3.3.2": ("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "simple_auth_manager_all_admins")}


@pytest.mark.parametrize("key", list(ANONYMOUS), ids=lambda key: f"airflow-{key}")
def test_an_api_open_to_anonymous_callers_is_a_security_warning_in_every_format_with_its_setting(
        key: str, airflow_servers: dict[str, Server], tmp_path: Path) -> None:
    server = settled(airflow_servers[key])
    variable, setting = ANONYMOUS[key]
    if server.major >= 3:
        env = {variable: "True"}
    else:
        config = tmp_path / "webserver_config_public.py"
        config.write_text((server.sandbox.home / "webserver_config.py").read_text() + "\nAUTH_ROLE_PUBLIC = 'Viewer'\n")
        env = {variable: str(config)}
    with extra_web_process(server, "webserver-anonymous", env, tmp_path) as url:
        _record(server, url, "dags_anonymous_open", "GET", ("/api/v2" if server.major >= 3 else "/api/v1") + "/dags?limit=1")
        if server.major >= 3:
            _record(server, url, "token_all_admins", "POST", "/auth/token", {"username": "admin", "password": "anything"})
            _record(server, url, "auth_login_redirect_all_admins", "GET", "/api/v2/auth/login")
        profiles = [server.profile(tmp_path, auth_type="none", url=url, payload=None, name="anonymous")]
        if server.major >= 3:  # all-admins mode answers any credentials with its 'Anonymous' admin token too
            profiles.append(server.profile(tmp_path, url=url, payload=None, name="credentials"))
        for profile in profiles:
            data = diagnose(profile)
            auth = result_of(data, "auth-backend")
            assert auth["status"] == "warn" and auth["code"] == "anonymous-api-access", auth
            assert auth["summary"].startswith("security: the API accepts requests without credentials")
            assert setting in auth["summary"] and setting in auth["fix"]["text"] + " ".join(auth["fix"]["commands"])
            assert result_of(data, "dag-exists")["status"] == "pass"  # the later checks ran with it
            from typer.testing import CliRunner

            from airflow_doctor.cli import app

            for fmt in ("text", "markdown", "junit"):
                shown = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", fmt])
                assert "accepts requests without credentials" in shown.stdout and setting in shown.stdout, (fmt, shown.stdout[-2000:])
    # the fix: the same server without the setting refuses a caller without credentials
    plain = diagnose(server.profile(tmp_path, auth_type="none", payload=None, name="plain"))
    assert result_of(plain, "auth-backend")["status"] == "fail"
