"""airflow-doctor run in a real pseudo-terminal (stdlib pty), for the commands that ask questions."""

from __future__ import annotations

import os
import pty
import select
import sys
import time

DEADLINE = 180.0
"""A deadline, not a wait: a loaded 2-core machine can take long to start Python and answer."""


class Terminal:
    """One `python -m airflow_doctor ARGS` whose stdin, stdout and stderr are a pseudo-terminal it controls."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: its controlling terminal is the pty
            os.execve(sys.executable, [sys.executable, "-m", "airflow_doctor", *args], env)
        self.output = ""
        self._seen = 0

    def expect(self, text: str, timeout: float = DEADLINE) -> str:
        """Read until `text` appears after what was already matched; return the output up to and including it."""
        deadline = time.monotonic() + timeout
        while text not in self.output[self._seen:]:
            if not self._read(deadline):
                raise AssertionError(f"{text!r} never appeared; the terminal showed:\n{self.output}")
        end = self.output.index(text, self._seen) + len(text)
        self._seen = end
        return self.output[:end]

    def send(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def finish(self, timeout: float = DEADLINE) -> int:
        """Read to the end and return the exit code."""
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)

    def _read(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            os.kill(self.pid, 9)
            raise AssertionError(f"no end within the deadline; the terminal showed:\n{self.output}")
        ready, _, _ = select.select([self.fd], [], [], remaining)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self.output += data.decode("utf-8", "replace").replace("\r\n", "\n")
        return True
