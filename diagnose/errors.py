"""Every failure the doctor reports as one sentence and a documented exit code, in one place (as pypa/build's
_exceptions.py): the CLI's one handler maps a `DoctorError` to its `exit_code` without knowing each kind.

A class derives from the error it *is*: an unreadable curl command is a profile that cannot be read, an unknown
check id is a usage error. Nothing here imports more than the model and the redaction of one line.
"""

from __future__ import annotations

from typing import ClassVar

from airflow_doctor.model import ExitCode
from airflow_doctor.redact import one_line


class DoctorError(Exception):
    """A failure the user can fix, told in one sentence (`str(error)`) that names the problem and the fix."""

    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL

    @property
    def sentence(self) -> str:
        """The sentence as one line: what a JSON error document carries."""
        return one_line(str(self))

    @property
    def shown(self) -> str:
        """What stderr shows after 'error: '."""
        return self.sentence


class UsageError(DoctorError):
    """Bad arguments: no check can run as asked."""

    exit_code = ExitCode.USAGE


class ProfileError(DoctorError):
    """A problem with the profile file or a profile in it (or the command a profile is read from)."""

    exit_code = ExitCode.USAGE


class CurlError(ProfileError):
    """The command is not a curl command this tool can read; the message names the part and the fix."""


class MissingExtra(DoctorError):
    """The profile needs an optional dependency that is not installed (exit 2, before any check)."""

    exit_code = ExitCode.USAGE


class UnknownCheck(UsageError, ValueError):
    """--only or --skip names a check that does not exist."""


class SandboxError(DoctorError):
    """The sandbox could not be installed or started; the message says what to look at.

    A local Airflow that could not start is no bug of the doctor: its first line is the sentence, the rest (the
    log's last lines) is shown on stderr."""

    exit_code = ExitCode.CHECK_FAILED

    @property
    def sentence(self) -> str:
        return str(self).splitlines()[0]

    @property
    def shown(self) -> str:
        return str(self)


class StartupFailure(SandboxError):
    """One start-up attempt failed; `process` names the server process whose log tells why."""

    def __init__(self, message: str, process: str) -> None:
        super().__init__(message)
        self.process = process


class OptionsError(UsageError):
    """`--url`/`--from-curl` options (or init's answers) that do not describe one server."""


class NotUnderstood(UsageError):
    """`explain` got text that is neither an HTTP answer nor a requests traceback."""


class ServerUnreachable(DoctorError):
    """`init`: the URL did not answer like Airflow, so there is nothing to save (exit 1: the check that would run
    next would fail the same way)."""

    exit_code = ExitCode.CHECK_FAILED


class OutputRefused(DoctorError):
    """A rendered output still contained a secret; nothing was written (the doctor's fault: exit 3)."""

    exit_code = ExitCode.INTERNAL
