"""Where sandboxes and their venvs live, what is saved about each sandbox, and how its processes are stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping


def doctor_home(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("AIRFLOW_DOCTOR_HOME"):
        return Path(env["AIRFLOW_DOCTOR_HOME"]).expanduser()
    cache = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".cache")
    return Path(cache) / "airflow-doctor"


def venv_dir(version: str, env: Mapping[str, str] = os.environ, extras: tuple[str, ...] = ()) -> Path:
    return doctor_home(env) / "venvs" / ("-".join([f"af-{version}", *extras]))


def sandboxes_dir(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env["AIRFLOW_DOCTOR_SANDBOX_DIR"]).expanduser() if env.get("AIRFLOW_DOCTOR_SANDBOX_DIR") else doctor_home(env) / "sandbox"


def sandbox_root(version: str, env: Mapping[str, str] = os.environ) -> Path:
    return sandboxes_dir(env) / version


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:port now."""
    if not 0 < port < 65536:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class SandboxState:
    version: str
    url: str
    port: int
    home: str
    profile_path: str
    pids: list[int] = field(default_factory=list)
    running: bool = False

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def password_file(self) -> Path:
        """Where the generated admin password is kept (the profile reads it from there)."""
        return Path(self.profile_path).parent / "admin-password"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def stop_pids(pids: list[int], grace: float = 10.0) -> None:
    """SIGTERM each process group, then SIGKILL what is left after `grace` seconds."""
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.2)
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass



def status(env: Mapping[str, str] = os.environ) -> list[SandboxState]:
    base = sandboxes_dir(env)
    states = []
    if base.is_dir():
        for root in sorted(base.iterdir()):
            state = _read_state(root)
            if state is not None:
                state.running = state.running and any(_alive(p) for p in state.pids)
                states.append(state)
    return states


def _read_state(root: Path) -> SandboxState | None:
    try:
        return SandboxState(**json.loads((root / "state.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None
