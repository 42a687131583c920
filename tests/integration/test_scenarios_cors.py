"""Browser pages on another origin (checks/cors.py) against real Airflow 2.10.5, 3.2.2 and 3.3.2.

The shared servers run with no CORS setting (the default). Each configured case starts one more webserver (2.x) or
api-server (3.x) on the same database with [api] access_control_* set through the environment, and stops it by PID:
the shared servers' configuration never changes. Each scenario asserts the cause, why the UI works and the fix; the
printed settings are then applied (a server started with them) and the check passes.

AIRFLOW_DOCTOR_RECORD=1 also writes the answers the unit tests replay (tests/cases/cors.yml) into tests/recorded,
in tests/recorded/record.py's format, with the Access-Control-* headers kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from airflow_doctor.checks.cors import Code
from airflow_doctor.sandbox.state import free_port, stop_pids
from tests.integration.conftest import Server
from tests.integration.test_scenarios_auth import check, fix_text, result_of
from tests.recorded.record import KEPT_HEADERS

pytestmark = pytest.mark.integration

PAGE = "http://portal.example.test:8080"
OTHER = "https://other.example.test"
RECORDED = Path(__file__).parents[1] / "recorded"
READY_S = 240


def cors_env(origins: str | None = None, methods: str | None = None, headers: str | None = None) -> dict[str, str]:
    values = {"ORIGINS": origins, "METHODS": methods, "HEADERS": headers}
    return {f"AIRFLOW__API__ACCESS_CONTROL_ALLOW_{k}": v for k, v in values.items() if v is not None}


@contextmanager
def web_process(server: Server, tmp_path: Path, env: dict[str, str], wait: bool = True) -> Iterator[tuple[str, Path]]:
    """One more webserver/api-server on the server's database with `env` on top of its own; stopped by PID after."""
    sandbox = server.sandbox
    port = free_port()
    home = tmp_path / f"web-{port}"
    (home / "tmp").mkdir(parents=True)
    args = (["api-server", "-H", "127.0.0.1", "-p", str(port), "-w", "1"] if server.major >= 3 else
            ["webserver", "-H", "127.0.0.1", "-p", str(port), "-w", "1", "--pid", str(home / "web.pid")])
    process_env = {**replace(sandbox, extra_webservers={}).environment(), **env,
                   "HOME": str(home), "XDG_RUNTIME_DIR": str(home), "TMPDIR": str(home / "tmp")}
    log = home / "web.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(sandbox.airflow()), *args], env=process_env, cwd=home, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        if wait:
            _wait_ready(url, server, process, log)
        yield url, log
    finally:
        stop_pids([process.pid])


def _wait_ready(url: str, server: Server, process: subprocess.Popen, log: Path) -> None:
    prefix = "/api/v2" if server.major >= 3 else "/api/v1"
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the extra web process exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url + prefix + "/version", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise AssertionError(f"the extra web process did not answer in {READY_S} s:\n{log.read_text()[-3000:]}")


def doctor(server: Server, tmp_path: Path, url: str, origin: str = PAGE) -> dict[str, Any]:
    """`airflow-doctor check --only cors` for the page on `origin`, against `url`; the cors result."""
    profile = server.profile(tmp_path, url=url)
    profile.write_text(profile.read_text() + f"origin: {origin}\n")
    code, data = check(profile, "--only", "cors")
    result = result_of(data, "cors")
    assert code == (1 if result["status"] == "fail" else 0), data
    return result


def printed_settings(result: dict[str, Any]) -> dict[str, str]:
    """The fix's NAME=value lines, as a user pastes them into the server's environment."""
    return dict(line.split("=", 1) for line in result["fix"]["commands"])


def record(server: Server, url: str, name: str, origin: str = PAGE) -> None:
    """With AIRFLOW_DOCTOR_RECORD: the preflight and the read the check sends, as record.py stores answers."""
    if not os.environ.get("AIRFLOW_DOCTOR_RECORD"):
        return
    prefix = "/api/v2" if server.major >= 3 else "/api/v1"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    answers = {f"cors_{name}_preflight": requests.options(f"{url}{prefix}/dags/doctor_demo/dagRuns", headers=preflight,
                                                          timeout=20),
               f"cors_{name}_read": requests.get(f"{url}{prefix}/dags?limit=1", timeout=20,
                                                 headers={"Origin": origin, **server.admin_headers()})}
    label = RECORDED / f"airflow-{server.version}"
    for file_name, response in answers.items():
        sent = {k: v for k, v in response.request.headers.items() if k in ("Origin", *preflight)}
        data = {"method": response.request.method, "path": response.request.path_url, "request_body": None,
                "request_headers": sent, "status": response.status_code,
                "headers": {k: v for k, v in response.headers.items()
                            if k.lower() in KEPT_HEADERS or k.lower().startswith("access-control-") or k.lower() == "vary"},
                "body": response.content.decode("utf-8", errors="replace")}
        (label / f"{file_name}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# --- scenarios ---------------------------------------------------------------------------------------

@pytest.fixture(params=["2.10.5", "3.3.2"], ids=lambda v: f"airflow-{v}")
def server(request: pytest.FixtureRequest, airflow_servers: dict[str, Server]) -> Server:
    return airflow_servers[request.param]


def test_no_cors_setting_names_the_setting_and_the_origin_and_the_printed_settings_make_it_pass(
        server: Server, tmp_path: Path) -> None:
    result = doctor(server, tmp_path, server.url)
    assert (result["status"], result["code"]) == ("fail", Code.NO_CORS.value), result
    assert PAGE in result["summary"] and "access_control_allow_origins" in result["summary"]
    assert "own origin" in result["why_ui_works"]
    settings = printed_settings(result)
    assert settings["AIRFLOW__API__ACCESS_CONTROL_ALLOW_ORIGINS"] == PAGE
    assert "authorization" in settings["AIRFLOW__API__ACCESS_CONTROL_ALLOW_HEADERS"]
    assert ("405" if server.major >= 3 else "200") in result["explanation"]
    record(server, server.url, "none")
    with web_process(server, tmp_path, settings) as (url, _):
        fixed = doctor(server, tmp_path, url)
        assert (fixed["status"], fixed["code"]) == ("pass", Code.ALLOWED.value), fixed
        record(server, url, "fixed")
        profile = server.profile(tmp_path, url=url)
        profile.write_text(profile.read_text() + f"origin: {PAGE}\n")
        code, data = check(profile)  # every check: the Access-Control-* headers are Airflow's, not a front's
        assert code == 0 and result_of(data, "cors")["status"] == "pass", [(r["check_id"], r["status"]) for r in data["results"]]


def test_an_origin_not_listed_is_named_with_the_one_the_server_allows(server: Server, tmp_path: Path) -> None:
    env = cors_env(OTHER, "GET,POST", "authorization,content-type")
    with web_process(server, tmp_path, env) as (url, _):
        result = doctor(server, tmp_path, url)
        assert (result["status"], result["code"]) == ("fail", Code.ORIGIN_NOT_ALLOWED.value), result
        assert PAGE in result["summary"] and "access_control_allow_origins" in result["summary"]
        assert "own origin" in result["why_ui_works"]
        record(server, url, "other_origin")
        settings = printed_settings(result)
    with web_process(server, tmp_path, {**env, **settings}) as (url, _):
        assert doctor(server, tmp_path, url)["status"] == "pass"


def test_an_origin_without_its_headers_is_refused_for_what_is_missing(server: Server, tmp_path: Path) -> None:
    """Only the origin set: Airflow 2 lists no headers (the browser refuses authorization and content-type); Airflow 3
    refuses the method first (its middleware checks POST against an empty list), and the headers with it."""
    env = cors_env(PAGE)
    with web_process(server, tmp_path, env) as (url, _):
        result = doctor(server, tmp_path, url)
        record(server, url, "origin_only")
        want = Code.METHOD_NOT_ALLOWED if server.major >= 3 else Code.HEADERS_NOT_ALLOWED
        assert (result["status"], result["code"]) == ("fail", want.value), result
        assert ("access_control_allow_methods" if server.major >= 3 else "authorization") in result["summary"]
        settings = printed_settings(result)
        assert "AIRFLOW__API__ACCESS_CONTROL_ALLOW_ORIGINS" not in settings
    with web_process(server, tmp_path, {**env, **settings}) as (url, _):
        assert doctor(server, tmp_path, url)["status"] == "pass"


@pytest.mark.parametrize(("key", "warned"), [("2.10.5", True), ("3.1.3", True), ("3.2.2", False)],
                         ids=lambda v: f"airflow-{v}" if isinstance(v, str) else "")
def test_a_wildcard_origin_is_explained_as_refused_to_credentialed_pages(key: str, warned: bool,
                                                                         airflow_servers: dict[str, Server],
                                                                         tmp_path: Path) -> None:
    """2.x answers '*'; 3.1 (Starlette 0.48) answers the real request '*' unless it carries a cookie; 3.2 (Starlette
    1.x, allow_credentials) echoes the page's origin everywhere, so a credentialed page works there."""
    server = airflow_servers[key]
    env = cors_env("*", "GET,POST", "authorization,content-type")
    with web_process(server, tmp_path, env) as (url, _):
        result = doctor(server, tmp_path, url)
        record(server, url, "wildcard")
        if not warned:
            assert (result["status"], result["code"]) == ("pass", Code.ALLOWED.value), result
            return
        assert (result["status"], result["code"]) == ("warn", Code.WILDCARD_WITH_CREDENTIALS.value), result
        assert "credentials" in result["explanation"] and "'*'" in result["explanation"]
        settings = printed_settings(result)
    with web_process(server, tmp_path, {**env, **settings}) as (url, _):
        assert doctor(server, tmp_path, url)["status"] == "pass"


def test_airflow_3_3_refuses_to_start_with_a_wildcard_origin_which_the_fix_never_prints(
        airflow_servers: dict[str, Server], tmp_path: Path) -> None:
    server = airflow_servers["3.3.2"]
    with web_process(server, tmp_path, cors_env("*"), wait=False) as (url, log):
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline and "must not contain `*`" not in log.read_text():
            time.sleep(1)
        assert "must not contain `*`" in log.read_text()
    result = doctor(server, tmp_path, server.url)
    assert "*" not in printed_settings(result)["AIRFLOW__API__ACCESS_CONTROL_ALLOW_ORIGINS"]
    assert "refuse to start" in fix_text(result)
