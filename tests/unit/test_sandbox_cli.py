"""The sandbox as users meet it: --profile sandbox, the port kept across runs, demo and a sandbox it did not start,
and where the generated password is kept."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_doctor import sandbox
from airflow_doctor.cli import app
from airflow_doctor.cli import resolve
from airflow_doctor.errors import ProfileError
from airflow_doctor.sandbox import SandboxState
from tests.servers import closed_port


def save_state(base: Path, version: str, port: int, running: bool) -> SandboxState:
    """A sandbox folder as `sandbox up` leaves it; a running one is represented by this test process's PID."""
    root = base / version
    root.mkdir(parents=True)
    profile = root / f"sandbox-{version}.yml"
    (root / "admin-password").write_text("generated-pw-123")
    profile.write_text(f"url: http://127.0.0.1:{port}\nauth: {{type: jwt, username: admin, password_file: "
                       f"{root / 'admin-password'}}}\ndag_id: doctor_demo\n")
    state = SandboxState(version, f"http://127.0.0.1:{port}", port, str(root / "home"), str(profile),
                         [os.getpid()] if running else [], running)
    (root / "state.json").write_text(json.dumps(asdict(state)))
    return state


@pytest.fixture
def sandboxes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "sandboxes"
    monkeypatch.setenv("AIRFLOW_DOCTOR_SANDBOX_DIR", str(base))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    return base


def test_profile_sandbox_is_the_profile_of_the_running_sandbox(sandboxes: Path) -> None:
    state = save_state(sandboxes, "3.3.2", 43210, running=True)
    profile, chosen = resolve("sandbox", None, env=dict(os.environ))
    assert profile.url == "http://127.0.0.1:43210" and profile.auth.password.reveal() == "generated-pw-123"
    assert chosen == f"the running sandbox (Airflow 3.3.2, {state.profile_path})"


def test_profile_sandbox_with_none_running_says_how_to_start_one(sandboxes: Path) -> None:
    save_state(sandboxes, "3.3.2", 43210, running=False)
    with pytest.raises(ProfileError, match="none is running; start one with 'airflow-doctor sandbox up'"):
        resolve("sandbox", None, env=dict(os.environ))


def test_a_profile_named_sandbox_in_the_profiles_file_still_wins(sandboxes: Path, tmp_path: Path) -> None:
    path = tmp_path / "profiles.yml"
    path.write_text("profiles:\n  sandbox: {url: http://mine.example}\n")
    profile, _ = resolve("sandbox", str(path), env=dict(os.environ))
    assert profile.url == "http://mine.example"


def test_sandbox_up_keeps_the_port_of_the_last_run_when_it_is_free(sandboxes: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    save_state(sandboxes, "3.3.2", port, running=False)
    started_on: list[int] = []
    monkeypatch.setattr(sandbox, "install", lambda *a, **k: None)
    monkeypatch.setattr(sandbox.Sandbox, "prepare", lambda self: None)
    monkeypatch.setattr(sandbox.Sandbox, "start_until_ready", lambda self: started_on.append(self.port))
    state = sandbox.up("3.3.2")
    assert started_on == [port] and state.url == f"http://127.0.0.1:{port}"


def test_a_busy_port_of_the_last_run_is_not_reused() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        previous = SandboxState("3.3.2", f"http://127.0.0.1:{busy}", busy, "home", "p.yml")
        assert sandbox.last_free_port(previous) == 0


def test_sandbox_up_says_where_the_generated_password_is_kept(sandboxes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = save_state(sandboxes, "3.3.2", 43210, running=True)
    monkeypatch.setattr(sandbox, "up", lambda *a, **k: state)
    result = CliRunner().invoke(app, ["sandbox", "up"])
    assert result.exit_code == 0, result.output
    assert f"Password of admin: generated, kept in {Path(state.profile_path).parent / 'admin-password'}" in result.output
    assert "airflow-doctor check --profile sandbox" in result.output


@pytest.mark.parametrize("running_before, stopped", [(True, []), (False, ["3.3.2"])])
def test_demo_leaves_running_a_sandbox_it_did_not_start(running_before: bool, stopped: list[str], sandboxes: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    state = save_state(sandboxes, "3.3.2", closed_port(), running=running_before)
    calls: list[str] = []
    monkeypatch.setattr(sandbox, "up", lambda *a, **k: state)
    monkeypatch.setattr(sandbox, "down", lambda version=None: calls.append(version) or [version])
    result = CliRunner().invoke(app, ["demo"])
    assert calls == stopped, result.output
    assert ("was already running before demo; it is left running" in result.output) is running_before
    assert "generated password of admin is kept in" in result.output


def test_a_sandbox_that_cannot_start_shows_its_log_tail_not_an_internal_error(monkeypatch) -> None:
    from typer.testing import CliRunner

    from airflow_doctor import sandbox
    from airflow_doctor.cli import app

    def fails(*args, **kwargs):
        raise sandbox.SandboxError("Airflow 3.3.2 did not become ready; the last lines of api-server.log:\n"
                                   "OSError: [Errno 98] Address already in use")

    monkeypatch.setattr(sandbox, "up", fails)
    result = CliRunner().invoke(app, ["sandbox", "up"])
    assert result.exit_code == 1, result.output
    assert "Address already in use" in result.output and "internal error" not in result.output


def test_sandbox_up_airflow_2_starts_the_newest_airflow_2(sandboxes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installed: list[str] = []
    monkeypatch.setattr(sandbox, "install", lambda version, *a, **k: installed.append(version))
    monkeypatch.setattr(sandbox.Sandbox, "prepare", lambda self: None)
    monkeypatch.setattr(sandbox.Sandbox, "start_until_ready", lambda self: None)
    result = CliRunner().invoke(app, ["sandbox", "up", "--airflow", "2"])
    assert result.exit_code == 0, result.output
    assert installed == ["2.11.2"] and "Airflow 2.11.2" in result.output
    assert (sandboxes / "2.11.2" / "sandbox-2.11.2.yml").exists()
