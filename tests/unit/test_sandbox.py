"""The sandbox's servers: each process in a home of its own, watchdogs that allow a slow start, one retry.

Start-up is exercised with a stand-in `airflow` executable that dies, hangs or serves /health as told, so
the retry logic runs in the fast tier; tests/integration/test_sandbox_real.py checks the same settings
against the real Airflow and gunicorn installed in the cached venvs.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

import pytest

from airflow_doctor.sandbox import HEALTH_THRESHOLD, WATCHDOG_TIMEOUT, Sandbox, SandboxError, venv_dir

INTEGRATION_WEBSERVERS = {"webserver-session": {"AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.session"},
                          "webserver-deny": {"AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.deny_all"},
                          "webserver-default": {"AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.default"},
                          "webserver-sso": {"AIRFLOW__WEBSERVER__CONFIG_FILE": "/nowhere/webserver_config.py"}}

STAND_IN_AIRFLOW = '''\
"""Stand-in for `airflow webserver`: what attempt N does is the N-th word of STAND_IN_PLAN (die, hang, serve)."""
import http.server, json, os, signal, sys
from pathlib import Path

args = sys.argv[1:]
attempts = Path(os.environ["STAND_IN_ATTEMPTS"])
attempt = len(list(attempts.iterdir())) + 1
port = int(args[args.index("-p") + 1])
(attempts / str(attempt)).write_text(json.dumps({"port": port, "home": os.environ["HOME"]}))
plan = os.environ["STAND_IN_PLAN"].split(",")[attempt - 1]
print(f"stand-in {args[0]}, attempt {attempt}: {plan}", flush=True)
if plan == "die":
    print("No response from gunicorn master within 120 seconds", flush=True)
    sys.exit(1)
if plan == "hang":
    print("still loading the app", flush=True)
    signal.pause()


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
'''


def integration_like_airflow_2(root: Path) -> Sandbox:
    return Sandbox("2.10.5", root, extra_webservers=INTEGRATION_WEBSERVERS)


def test_every_server_process_has_a_home_runtime_dir_and_temp_dir_of_its_own(tmp_path: Path) -> None:
    sandbox = integration_like_airflow_2(tmp_path)
    names = list(sandbox.commands())
    environments = [sandbox.process_environment(name) for name in names]
    assert names == ["webserver", "scheduler", *INTEGRATION_WEBSERVERS]
    for key in ("HOME", "XDG_RUNTIME_DIR", "TMPDIR"):
        places = [env[key] for env in environments]
        assert len(set(places)) == len(names), f"{key} is shared: {places}"
        assert all(Path(place).is_relative_to(tmp_path) for place in places)
    assert all(env["XDG_RUNTIME_DIR"] == env["HOME"] for env in environments), "gunicorn.ctl goes in the process's home"


def test_each_extra_webserver_keeps_its_own_overrides(tmp_path: Path) -> None:
    sandbox = integration_like_airflow_2(tmp_path)
    backends = {name: sandbox.process_environment(name)["AIRFLOW__API__AUTH_BACKENDS"] for name in sandbox.commands()}
    assert backends["webserver-session"] == "airflow.api.auth.backend.session"
    assert backends["webserver"] == backends["scheduler"] == backends["webserver-sso"]
    assert "basic_auth" in backends["webserver"]


def test_airflow_2_gunicorn_watchdogs_allow_a_slow_start(tmp_path: Path) -> None:
    env = Sandbox("2.10.5", tmp_path).process_environment("webserver")
    assert env["AIRFLOW__WEBSERVER__WEB_SERVER_MASTER_TIMEOUT"] == env["AIRFLOW__WEBSERVER__WEB_SERVER_WORKER_TIMEOUT"] \
        == str(WATCHDOG_TIMEOUT)
    assert WATCHDOG_TIMEOUT >= 5 * 120, "five times Airflow's default of 120 s"
    assert env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD"] == str(HEALTH_THRESHOLD)


def test_airflow_3_api_worker_and_heartbeat_thresholds_allow_a_slow_machine(tmp_path: Path) -> None:
    env = Sandbox("3.3.2", tmp_path).process_environment("api-server")
    assert env["AIRFLOW__API__WORKER_TIMEOUT"] == str(WATCHDOG_TIMEOUT)
    assert env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD"] == str(HEALTH_THRESHOLD)
    assert env["AIRFLOW__DAG_PROCESSOR__HEALTH_CHECK_THRESHOLD"] == str(HEALTH_THRESHOLD)
    assert HEALTH_THRESHOLD >= 4 * 30, "four times Airflow's default of 30 s"


def test_the_users_own_airflow_settings_and_home_do_not_leak_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__WEBSERVER__WEB_SERVER_MASTER_TIMEOUT", "5")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/0")
    env = Sandbox("2.10.5", tmp_path).process_environment("webserver")
    assert env["AIRFLOW__WEBSERVER__WEB_SERVER_MASTER_TIMEOUT"] == str(WATCHDOG_TIMEOUT)
    assert env["XDG_RUNTIME_DIR"] != "/run/user/0" and env["HOME"] != os.environ["HOME"]


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A Sandbox whose `airflow` is the stand-in, following `plan` (one word per start-up attempt)."""
    monkeypatch.setenv("AIRFLOW_DOCTOR_HOME", str(tmp_path / "doctor"))
    executable = venv_dir("2.10.5") / "bin" / "airflow"
    executable.parent.mkdir(parents=True)
    executable.write_text(f"#!{sys.executable}\n{STAND_IN_AIRFLOW}")
    executable.chmod(0o755)
    attempts = tmp_path / "attempts"
    attempts.mkdir()
    started: list[Sandbox] = []

    def make(plan: str) -> tuple[Sandbox, Path]:
        root = tmp_path / "sandbox"
        root.mkdir()
        sandbox = Sandbox("2.10.5", root, run_scheduler=False,
                          extra_env={"STAND_IN_PLAN": plan, "STAND_IN_ATTEMPTS": str(attempts)})
        started.append(sandbox)
        return sandbox, attempts

    yield make
    for sandbox in started:
        sandbox.stop()


def attempts_made(attempts: Path) -> list[dict[str, object]]:
    import json

    return [json.loads((attempts / str(n)).read_text()) for n in range(1, len(list(attempts.iterdir())) + 1)]


def test_a_webserver_that_dies_on_start_is_started_once_more_on_a_fresh_port(stand_in) -> None:
    sandbox, attempts = stand_in("die,serve")
    sandbox.start_until_ready(dag_id=None)
    first, second = attempts_made(attempts)
    assert first["port"] != second["port"] == sandbox.port
    assert first["home"] == second["home"] == str(sandbox.process_home("webserver"))
    with urllib.request.urlopen(f"{sandbox.url}/api/v1/health", timeout=30) as answer:
        assert answer.status == 200
    assert "No response from gunicorn master" in (sandbox.root / "webserver.attempt-1.log").read_text()
    assert "attempt 2: serve" in sandbox.log_path("webserver").read_text()


def test_a_second_failed_start_raises_with_the_tail_of_the_failing_process_log(stand_in) -> None:
    sandbox, attempts = stand_in("die,die")
    with pytest.raises(SandboxError) as failed:
        sandbox.start_until_ready(dag_id=None)
    message = str(failed.value)
    assert "webserver process exited during start-up (start-up attempt 2 of 2)" in message
    assert "attempt 2: die\nNo response from gunicorn master within 120 seconds" in message
    assert len(attempts_made(attempts)) == 2 and sandbox.pids == []


def test_a_webserver_that_never_answers_is_named_with_its_log_after_two_deadlines(stand_in) -> None:
    sandbox, attempts = stand_in("hang,hang")
    with pytest.raises(SandboxError) as failed:
        sandbox.start_until_ready(timeout=1, dag_id=None)
    message = str(failed.value)
    assert "did not become ready within 1 s: the API did not answer" in message
    assert str(sandbox.log_path("webserver")) in message and "attempt 2: hang\nstill loading the app" in message
    assert len({a["port"] for a in attempts_made(attempts)}) == 2 and sandbox.pids == []


def test_the_scheduler_log_server_gets_a_free_port_per_sandbox(stand_in) -> None:
    sandbox, _ = stand_in("serve")
    sandbox.start_until_ready(dag_id=None)
    port = sandbox.process_environment("webserver")["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"]
    assert int(port) not in (0, 8793, sandbox.port)


def test_a_scheduler_that_exits_is_started_again_a_bounded_number_of_times(tmp_path: Path) -> None:
    """Airflow 2's scheduler exits on a StaleDataError when a run it works on is deleted under it."""
    import subprocess

    from airflow_doctor.sandbox import SCHEDULER_RESTARTS, SUPERVISE

    starts = tmp_path / "starts"
    crash = f"open({str(starts)!r}, 'a').write('started\\n'); raise SystemExit(1)"
    no_pause = tmp_path / "bin"
    no_pause.mkdir()
    (no_pause / "sleep").write_text("#!/bin/sh\n")  # the supervisor's second between starts, skipped
    (no_pause / "sleep").chmod(0o755)
    subprocess.run(["/bin/sh", "-c", SUPERVISE, "scheduler-supervisor", sys.executable, "-c", crash],
                   check=True, timeout=120, capture_output=True, env={**os.environ, "PATH": f"{no_pause}:{os.environ['PATH']}"})
    assert starts.read_text().count("started") == SCHEDULER_RESTARTS


def test_the_sandbox_starts_its_scheduler_under_the_supervisor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_doctor import sandbox as module

    started: dict[str, list[str]] = {}

    class Recorded:
        def __init__(self, argv, **kwargs) -> None:
            started[argv[-1] if argv[0] != "/bin/sh" else "scheduler"] = argv
            self.pid = 1000 + len(started)

    monkeypatch.setattr(module.subprocess, "Popen", Recorded)
    monkeypatch.setattr(Sandbox, "save_state", lambda self: None)
    Sandbox("3.3.2", tmp_path).start()
    assert started["scheduler"][:3] == ["/bin/sh", "-c", module.SUPERVISE]
    assert started["scheduler"][-1] == "scheduler"


@pytest.mark.parametrize("asked, started", [("2", "2.11.2"), ("3", "3.3.2"), (None, "3.3.2"), ("2.10.5", "2.10.5")])
def test_airflow_2_means_the_newest_airflow_2_that_works_here(asked: str | None, started: str) -> None:
    from airflow_doctor.sandbox import release

    assert release(asked) == started


def test_an_airflow_3_sandbox_runs_extra_api_servers_with_a_setting_unset(tmp_path: Path) -> None:
    """The second api-server of the 3.1.x scenario server: the same database, no [api_auth] jwt_issuer."""
    sandbox = Sandbox("3.1.3", tmp_path, extra_webservers={"api-server-no-issuer": {"AIRFLOW__API_AUTH__JWT_ISSUER": None}},
                      extra_ports={"api-server-no-issuer": 45678})
    commands = sandbox.commands()
    assert list(commands) == ["api-server", "scheduler", "dag-processor", "api-server-no-issuer"]
    assert commands["api-server-no-issuer"] == ["api-server", "-H", "127.0.0.1", "-p", "45678", "-w", "1"]
    assert "AIRFLOW__API_AUTH__JWT_ISSUER" not in sandbox.process_environment("api-server-no-issuer")
    assert sandbox.process_environment("api-server")["AIRFLOW__API_AUTH__JWT_ISSUER"] == sandbox.jwt_issuer
    assert sandbox.process_environment("api-server-no-issuer")["AIRFLOW__API_AUTH__JWT_SECRET"] == \
        sandbox.process_environment("api-server")["AIRFLOW__API_AUTH__JWT_SECRET"]


@pytest.fixture
def pip_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The commands install() runs, recorded instead of run (each succeeds)."""
    from airflow_doctor import sandbox

    monkeypatch.setenv("AIRFLOW_DOCTOR_HOME", str(tmp_path / "doctor"))
    calls: list[list[str]] = []

    def call(command: list[str], **kwargs: object) -> int:
        if command[1:3] == ["-m", "venv"]:
            Path(command[3]).mkdir(parents=True)
        calls.append(command)
        return 0

    monkeypatch.setattr(sandbox.subprocess, "call", call)
    return calls


def installed_before(version: str, text: str) -> Path:
    venv = venv_dir(version)
    venv.mkdir(parents=True)
    (venv / ".airflow-doctor-installed").write_text(text)
    return venv


def test_airflow_3_2_is_installed_with_the_fastapi_its_api_server_starts_with(pip_calls: list[list[str]]) -> None:
    from airflow_doctor.sandbox import install

    install("3.2.2")
    assert pip_calls[-1][-2:] == ["apache-airflow==3.2.2", "fastapi<0.137.0"]
    assert (venv_dir("3.2.2") / ".airflow-doctor-installed").read_text() == "3.2.2\nfastapi<0.137.0\n"


def test_a_venv_installed_before_its_pins_is_resolved_again_in_place(pip_calls: list[list[str]]) -> None:
    from airflow_doctor.sandbox import install

    venv = installed_before("3.2.2", "3.2.2\n")
    (venv / "keep").write_text("the installed Airflow")
    install("3.2.2")
    assert [command[-2:] for command in pip_calls] == [["apache-airflow==3.2.2", "fastapi<0.137.0"]]
    assert (venv / "keep").exists()
    install("3.2.2")
    assert len(pip_calls) == 1, "pinned once, then the venv is ready"


def test_a_venv_of_a_release_without_pins_is_used_as_it_is(pip_calls: list[list[str]]) -> None:
    from airflow_doctor.sandbox import install

    installed_before("3.3.2", "3.3.2\n")
    install("3.3.2")
    assert pip_calls == []
