"""The released Airflow, installed from PyPI into one cached venv per release (and its pins), with progress."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from airflow_doctor.errors import SandboxError
from airflow_doctor.sandbox.state import venv_dir

DEFAULT_AIRFLOW = "3.3.2"
"""The newest Airflow 3 release that issues tokens out of the box here (3.1.3 without constraints answers
500 at /auth/token unless [api_auth] jwt_issuer is set; the sandbox sets it anyway)."""
NEWEST_AIRFLOW_2 = "2.11.2"
"""The newest Airflow 2 release (what self-hosted users move to before 3); `--airflow 2` means it."""
NEWEST_BY_MAJOR = {"2": NEWEST_AIRFLOW_2, "3": DEFAULT_AIRFLOW}
KNOWN_GOOD = (NEWEST_AIRFLOW_2, DEFAULT_AIRFLOW)


def release(spec: str | None) -> str:
    """The release an --airflow value names: a bare major ("2", "3") is its newest release known to work here."""
    if spec is None:
        return DEFAULT_AIRFLOW
    return NEWEST_BY_MAJOR.get(spec.strip(), spec.strip())




# --- progress ---------------------------------------------------------------------------------------

class Progress:
    """Silent progress (tests); ConsoleProgress shows a spinner on stderr."""

    @contextmanager
    def step(self, text: str, log: Path | None = None) -> Iterator[None]:
        yield

    def note(self, text: str) -> None:
        pass


class ConsoleProgress(Progress):
    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)

    @contextmanager
    def step(self, text: str, log: Path | None = None) -> Iterator[None]:
        started = time.monotonic()
        with self.console.status(text) as status:
            if log is None:
                yield
            else:
                import threading

                done = threading.Event()

                def follow() -> None:
                    while not done.wait(0.5):
                        last = _last_line(log)
                        status.update(f"{text} ({time.monotonic() - started:.0f} s) {last[:70]}")

                watcher = threading.Thread(target=follow, daemon=True)
                watcher.start()
                try:
                    yield
                finally:
                    done.set()
                    watcher.join()
        self.console.print(f"[green]✓[/green] {text} ({time.monotonic() - started:.1f} s)")

    def note(self, text: str) -> None:
        self.console.print(text)


def _last_line(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 2000))
            lines = [l for l in handle.read().decode("utf-8", "replace").splitlines() if l.strip() and not l.startswith("WARNING: Location")]
            return lines[-1].strip() if lines else ""
    except OSError:
        return ""


# --- install ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pin:
    """A requirement installed over a release's own, and why (what broke without it, in the error's own words)."""

    requirement: str
    why: str

    def text(self) -> str:
        return f"{self.requirement}: {self.why}"


INSTALL_PINS = {
    "2.7.": (Pin("flask-session==0.5.0",
                 "2.7.3 asks for flask-session>=0.4.0 without an upper bound and imports flask_session.sessions, which "
                 "0.6 removed; installed without Airflow's constraints file (its host is not reachable here), `airflow "
                 "db migrate` fails with \"ModuleNotFoundError: No module named 'flask_session.sessions'\". Airflow's "
                 "constraints pin 0.5.0; 2.8.4 bounds it below 0.6 itself."),),
    "3.2.": (Pin("fastapi<0.137.0",
                 "Airflow 3.2.2 declares fastapi>=0.129.0 with no upper bound; with FastAPI 0.165.0 (what pip picks "
                 "today) its api-server dies at start with \"PydanticUserError: Model 'TITerminalStatePayload' needs a "
                 "discriminator field\". 3.3.2 declares fastapi<0.137.0, which 3.2 gets here."),),
}
"""Release prefix -> pins added to a plain `pip install apache-airflow==X`, as the release's constraints file would:
the one list, used by every install (the sandbox, the shared test servers, the release matrix)."""


def pins_for(version: str) -> tuple[Pin, ...]:
    return next((pins for prefix, pins in INSTALL_PINS.items() if version.startswith(prefix)), ())


def install_pins(version: str) -> tuple[str, ...]:
    return tuple(pin.requirement for pin in pins_for(version))


def install(version: str, progress: Progress = Progress(), env: Mapping[str, str] = os.environ,
            extras: tuple[str, ...] = ()) -> Path:
    """Install apache-airflow[extras]==version (and its pins) into its own cached venv (first time only); return
    the venv. A venv installed before its pins existed is resolved again with them (in place: its other packages stay)."""
    venv = venv_dir(version, env, extras)
    requirement = f"apache-airflow[{','.join(extras)}]=={version}" if extras else f"apache-airflow=={version}"
    pins = install_pins(version)
    marker = venv / ".airflow-doctor-installed"
    installed = "".join(f"{line}\n" for line in (version, *pins))
    if marker.exists() and marker.read_text() == installed:
        return venv
    if marker.exists() and pins:
        _pip_install(venv, [requirement, *pins], progress, venv.parent / f"{venv.name}.pins.log")
        marker.write_text(installed)
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    log = venv.parent / f"{venv.name}.install.log"
    shutil.rmtree(venv, ignore_errors=True)
    with progress.step(f"Installing {requirement} into {venv} (first time only, about a minute)", log):
        with log.open("w") as out:
            steps = [[sys.executable, "-m", "venv", str(venv)],
                     _pip(venv, [requirement, *pins])]
            for command in steps:
                code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                if code != 0:
                    raise SandboxError(f"installing {requirement} failed (exit {code}); see {log}")
    marker.write_text(installed)
    return venv


def _pip(venv: Path, requirements: list[str]) -> list[str]:
    return [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar",
            "off", *requirements]


def _pip_install(venv: Path, requirements: list[str], progress: Progress, log: Path) -> None:
    with progress.step(f"Installing {' '.join(requirements)} into {venv}", log), log.open("w") as out:
        code = subprocess.call(_pip(venv, requirements), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if code != 0:
        raise SandboxError(f"installing {' '.join(requirements)} failed (exit {code}); see {log}")

