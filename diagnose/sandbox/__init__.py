"""A real local Airflow to try the doctor on: installed from PyPI into a cached venv, run on 127.0.0.1.

The same code provisions the servers of the integration tests, so what the sandbox shows is what the
tests prove. Nothing here is a fake: it is the released Airflow, on sqlite, with a sample DAG.

The package: `state` (where sandboxes and venvs live, their saved state, stopping processes), `venvs` (installing a
release and its pins), `server` (one Airflow: configuration, processes, readiness, and the errors of a sandbox that
cannot start); here, the CLI's verbs.
"""

from __future__ import annotations

import json
import os
import subprocess  # noqa: F401  (tests replace subprocess.call and Popen through this package)
from dataclasses import asdict
from pathlib import Path
from typing import Mapping

from airflow_doctor.sandbox.server import (ADMIN_USER, HEALTH_THRESHOLD, LOG_TAIL_LINES, PBKDF2_ROUNDS, READY_TIMEOUT,
                                           REPARSE_UNCHANGED_S, SAMPLE_DAG, SCHEDULER_RESTARTS, START_ATTEMPTS,
                                           SUPERVISE, WATCHDOG_TIMEOUT, Sandbox, SandboxError, StartupFailure,
                                           log_tail)
from airflow_doctor.sandbox.state import (SandboxState, _alive, _read_state, doctor_home, free_port, port_is_free,
                                          sandbox_root, sandboxes_dir, status, stop_pids, venv_dir)
from airflow_doctor.sandbox.venvs import (DEFAULT_AIRFLOW, INSTALL_PINS, KNOWN_GOOD, NEWEST_AIRFLOW_2, NEWEST_BY_MAJOR,
                                          ConsoleProgress, Pin, Progress, install, install_pins, pins_for, release)

__all__ = ["ADMIN_USER", "DEFAULT_AIRFLOW", "HEALTH_THRESHOLD", "INSTALL_PINS", "KNOWN_GOOD", "LOG_TAIL_LINES",
           "NEWEST_AIRFLOW_2", "NEWEST_BY_MAJOR", "PBKDF2_ROUNDS", "READY_TIMEOUT", "REPARSE_UNCHANGED_S", "SAMPLE_DAG",
           "SCHEDULER_RESTARTS", "START_ATTEMPTS", "SUPERVISE", "WATCHDOG_TIMEOUT", "ConsoleProgress", "Pin", "Progress",
           "Sandbox", "SandboxError", "SandboxState", "StartupFailure", "doctor_home", "down", "free_port", "install",
           "install_pins", "last_free_port", "log_tail", "pins_for", "port_is_free", "release", "running",
           "sandbox_root", "sandboxes_dir", "status", "stop_pids", "up", "venv_dir"]


def up(version: str | None = None, progress: Progress = Progress()) -> SandboxState:
    version = release(version)
    root = sandbox_root(version)
    existing = _read_state(root)
    if existing and existing.running and all(_alive(p) for p in existing.pids):
        progress.note(f"Airflow {version} is already running at {existing.url}")
        return existing
    install(version, progress)
    root.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(version, root, port=last_free_port(existing))
    with progress.step(f"Preparing Airflow {version} (sqlite database, admin user, sample DAG)"):
        sandbox.prepare()
    with progress.step(f"Starting Airflow {version} on 127.0.0.1 and waiting until it is healthy"):
        sandbox.start_until_ready()
    sandbox.write_profile()
    sandbox.save_state()
    state = _read_state(root)
    assert state is not None
    return state


def last_free_port(previous: SandboxState | None) -> int:
    """The port of the last run when it is free (the URL the user already knows keeps working), else 0: any."""
    return previous.port if previous is not None and port_is_free(previous.port) else 0


def running(version: str | None = None, env: Mapping[str, str] = os.environ) -> SandboxState | None:
    """The running sandbox of this release (any release when None), if one is up."""
    version = release(version) if version is not None else None
    return next((s for s in status(env) if s.running and version in (None, s.version)), None)


def down(version: str | None = None) -> list[str]:
    version = release(version) if version is not None else None
    stopped = []
    for state in status():
        if (version is None or state.version == version) and state.running:
            stop_pids(state.pids)
            state.pids, state.running = [], False
            (Path(state.profile_path).parent / "state.json").write_text(json.dumps(asdict(state)))
            stopped.append(state.version)
    return stopped

