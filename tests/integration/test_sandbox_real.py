"""The sandbox's per-process settings, as the real Airflow and gunicorn in the cached venvs read them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from airflow_doctor.sandbox import WATCHDOG_TIMEOUT, Sandbox, install

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _integration_enabled() -> None:
    if os.environ.get("AIRFLOW_DOCTOR_SKIP_INTEGRATION"):
        pytest.skip("AIRFLOW_DOCTOR_SKIP_INTEGRATION is set")


def run_in(sandbox: Sandbox, process: str, *command: str) -> str:
    sandbox.process_home(process).mkdir(parents=True, exist_ok=True)
    result = subprocess.run(command, env=sandbox.process_environment(process), capture_output=True, text=True,
                            timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_each_airflow_2_webserver_gets_its_own_gunicorn_control_socket(tmp_path: Path) -> None:
    install("2.10.5")
    sandbox = Sandbox("2.10.5", tmp_path, extra_webservers={"webserver-session": {}})
    python = str(sandbox.airflow().with_name("python"))
    sockets = {name: run_in(sandbox, name, python, "-c", "from gunicorn.config import ControlSocket; "
                                                          "print(ControlSocket.default)")
               for name in ("webserver", "webserver-session", "scheduler")}
    assert sockets == {name: str(sandbox.process_home(name) / "gunicorn.ctl") for name in sockets}


@pytest.mark.parametrize("version, section, key", [
    ("2.10.5", "webserver", "web_server_master_timeout"),
    ("2.10.5", "webserver", "web_server_worker_timeout"),
    ("3.3.2", "api", "worker_timeout"),
], ids=lambda v: str(v))
def test_airflow_reads_the_generous_watchdog_timeouts(tmp_path: Path, version: str, section: str, key: str) -> None:
    install(version)
    sandbox = Sandbox(version, tmp_path)
    sandbox.home.mkdir()
    value = run_in(sandbox, "config", str(sandbox.airflow()), "config", "get-value", section, key)
    assert value == str(WATCHDOG_TIMEOUT)
