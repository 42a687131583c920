"""Ctrl-C or Ctrl-D at "Create this run?" ends the program (exit 130), not the check: no run, no report."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from airflow_doctor import cli
from tests.conftest import recorded, write_profile
from tests.servers import LocalServer, Reply

AIRFLOW_2 = "airflow-2.10.5"
ANSWERS = ("v1_version", "v2_version", "health", "dags_basic_admin", "details_demo", "probe_admin", "dagruns_running")
PASSWORD = "prompt-test-pw-8d1"


class RecordingAirflow(LocalServer):
    """Airflow 2.10.5's recorded answers on a real 127.0.0.1 socket; remembers every request with its body.

    A POST that would create a run (one naming a dag_run_id) is answered as created, as Airflow would."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, str, bytes]] = []
        self.answers = {(a["method"], a["path"]): a for a in (recorded(AIRFLOW_2, name) for name in ANSWERS)}
        super().__init__(self._answer)

    def _answer(self, handler: BaseHTTPRequestHandler) -> Reply:
        body = handler.request_body
        self.bodies.append((handler.command, handler.path, body))
        if b"dag_run_id" in body:
            created = {**json.loads(body), "state": "queued", "logical_date": None}
            return Reply(200, {"Content-Type": "application/json"}, json.dumps(created).encode())
        answer = self.answers.get((handler.command, handler.path))
        if answer is None:
            return Reply(404, {"Content-Type": "application/json"}, b'{"title": "Not Found"}')
        return Reply(answer["status"], answer["headers"], answer["body"].encode("utf-8"))

    def created_runs(self) -> list[bytes]:
        """Bodies of POSTs to dagRuns that create a run (the permission probe's deliberately invalid body does not)."""
        return [body for method, path, body in self.bodies
                if method == "POST" and path.endswith("/dagRuns") and b"dag_run_id" in body]

    def permission_probes(self) -> int:
        return sum(1 for method, path, body in self.bodies
                   if method == "POST" and path.endswith("/dagRuns") and b"dag_run_id" not in body)


def profile_for(server: RecordingAirflow, tmp_path: Path, extra: str = "") -> Path:
    return write_profile(tmp_path, f"url: {server.url}\ndag_id: doctor_demo\n"
                                   "auth: {type: basic, username: admin, password: '${PROMPT_PW}'}\n" + extra,
                         name="p.yml")


def trigger_with_prompt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: RecordingAirflow, answer: str,
                        extra: str = ""):
    monkeypatch.setattr(cli, "_can_ask", lambda: True)
    args = ["check", "--profile", str(profile_for(server, tmp_path, extra)), "--trigger", "--wait", "0",
            "-o", str(tmp_path / "report.md")]
    return CliRunner().invoke(cli.app, args, input=answer, env={"PROMPT_PW": PASSWORD})


def test_ctrl_d_at_the_prompt_exits_130_and_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with RecordingAirflow() as server:
        result = trigger_with_prompt(tmp_path, monkeypatch, server, answer="")
    assert result.exit_code == 130 and result.stderr.rstrip().endswith("airflow-doctor: interrupted.")
    assert server.permission_probes() == 1 and server.created_runs() == []
    assert result.stdout.strip() == "" and not (tmp_path / "report.md").exists()
    assert "internal error" not in result.output


@pytest.mark.parametrize("interruption", [typer.Abort, KeyboardInterrupt], ids=["click-abort", "keyboard-interrupt"])
def test_ctrl_c_at_the_prompt_exits_130_and_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            interruption: type[BaseException]) -> None:
    def pressed_ctrl_c(*args: object, **kwargs: object) -> bool:
        raise interruption()

    monkeypatch.setattr(typer, "confirm", pressed_ctrl_c)
    with RecordingAirflow() as server:
        result = trigger_with_prompt(tmp_path, monkeypatch, server, answer="")
    assert result.exit_code == 130 and result.stderr.rstrip().endswith("airflow-doctor: interrupted.")
    assert server.created_runs() == [] and result.stdout.strip() == "" and not (tmp_path / "report.md").exists()


def test_answering_yes_at_the_prompt_creates_exactly_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with RecordingAirflow() as server:
        result = trigger_with_prompt(tmp_path, monkeypatch, server, answer="y\n")
    assert result.exit_code == 0, result.output
    assert len(server.created_runs()) == 1 and "airflow-doctor" in (tmp_path / "report.md").read_text()


def test_answering_no_at_the_prompt_skips_the_trigger_and_still_reports(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with RecordingAirflow() as server:
        result = trigger_with_prompt(tmp_path, monkeypatch, server, answer="n\n")
    assert result.exit_code == 0 and server.created_runs() == []
    assert "declined at the prompt" in (tmp_path / "report.md").read_text()


def test_the_plan_shown_at_the_prompt_masks_a_token_in_the_payload(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwcm9tcHQifQ.c2lnbmVkLWJ5LXRlc3Q"
    with RecordingAirflow() as server:
        result = trigger_with_prompt(tmp_path, monkeypatch, server, answer="n\n",
                                     extra=f"payload: {{conf: {{message: 'Bearer {token}'}}}}\n")
    assert "about to send" in result.stderr and "Bearer" in result.stderr and token not in result.stderr


# --- the real keys on a real terminal -----------------------------------------------------------------

CTRL_C, CTRL_D = b"\x03", b"\x04"
ON_A_TERMINAL = """\
import fcntl, os, signal, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
signal.signal(signal.SIGINT, signal.SIG_DFL)  # a test run started in the background inherits SIGINT ignored
os.execv(sys.executable, [sys.executable, "-m", "airflow_doctor", *sys.argv[1:]])
"""


def read_until(fd: int, marker: bytes | None, seen: bytearray, deadline_s: float = 120.0) -> bool:
    """Read the terminal until `marker` appears (None: until the program closes it); the deadline only guards a hang."""
    import time

    end = time.monotonic() + deadline_s
    while (marker is None or marker not in seen) and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            seen += chunk
    return marker is not None and marker in seen


READ_SYSCALL = {"x86_64": 0, "aarch64": 63}.get(os.uname().machine)


def wait_until_reading_the_terminal(pid: int, deadline_s: float = 120.0) -> None:
    """Wait until the program sits in read(0, ...): the prompt is printed just before input() reads, and a Ctrl-C
    that lands in between is caught by Python's handler with no read to interrupt (a race no person can hit)."""
    import time

    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            fields = Path(f"/proc/{pid}/syscall").read_text().split()
        except OSError:
            return
        if READ_SYSCALL is None or fields[:2] == [str(READ_SYSCALL), "0x0"]:
            return
        select.select([], [], [], 0.05)


@pytest.mark.skipif(not hasattr(os, "openpty") or sys.platform == "darwin", reason="needs a Linux pseudo-terminal")
@pytest.mark.parametrize("key", [CTRL_C, CTRL_D], ids=["ctrl-c", "ctrl-d"])
def test_pressing_the_key_on_a_real_terminal_exits_130_and_creates_nothing(tmp_path: Path, key: bytes) -> None:
    master, slave = os.openpty()
    with RecordingAirflow() as server:
        args = ["check", "--profile", str(profile_for(server, tmp_path)), "--trigger", "--wait", "0",
                "-o", str(tmp_path / "report.md")]
        env = {**os.environ, "PROMPT_PW": PASSWORD, "NO_COLOR": "1"}
        process = subprocess.Popen([sys.executable, "-c", ON_A_TERMINAL, *args], stdin=slave, stdout=slave,
                                   stderr=slave, env=env, start_new_session=True, close_fds=True)
        os.close(slave)
        seen = bytearray()
        try:
            assert read_until(master, b"Create this run?", seen), seen.decode(errors="replace")
            wait_until_reading_the_terminal(process.pid)
            os.write(master, key)
            read_until(master, None, seen)
            code = process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
            os.close(master)
    text = seen.decode(errors="replace")
    assert code == 130 and "interrupted." in text and "internal error" not in text, text
    assert server.created_runs() == [] and not (tmp_path / "report.md").exists()
