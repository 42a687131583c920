"""The one error handler every command runs its body in: a DoctorError is its sentence and its own exit code,
Ctrl-C is 130, anything else an internal error (its trace only with --debug); with --format json, stdout still gets
one JSON document."""

from __future__ import annotations

import sys
from typing import Callable

import typer

from airflow_doctor.errors import DoctorError
from airflow_doctor.model import ExitCode
from airflow_doctor.output import say_on_stderr


def fail(sentence: str, code: ExitCode, json_errors: bool, shown: str | None = None) -> ExitCode:
    """The sentence (or `shown`) on stderr and, for --format json, a JSON document on stdout: consumers always get JSON."""
    from airflow_doctor.redact import redact_text
    from airflow_doctor.report import emit, render_error_json

    say_on_stderr(shown or f"error: {sentence}")
    if json_errors:
        emit(render_error_json(redact_text(sentence), code), sys.stdout)
    return code


def guarded(debug: bool, action: Callable[[], ExitCode], json_errors: bool = False) -> None:
    """The one error handler of every command: run its body; a DoctorError is its sentence and its own exit code,
    anything else an internal error."""
    try:
        code = action()
    except DoctorError as exc:
        code = fail(exc.sentence, exc.exit_code, json_errors, shown=f"error: {exc.shown}")
    except KeyboardInterrupt:
        say_on_stderr("interrupted.")
        code = ExitCode.INTERRUPTED
    except typer.Exit:
        raise
    except Exception as exc:
        code = internal_error(exc, debug, json_errors)
    raise typer.Exit(int(code))


def internal_error(exc: Exception, debug: bool, json_errors: bool) -> ExitCode:
    import traceback

    name = type(exc).__name__
    if debug:
        return fail(f"internal error ({name}); the trace is on stderr.", ExitCode.INTERNAL, json_errors,
                     shown="internal error:\n" + "".join(traceback.format_exception(exc)))
    sentence = f"internal error ({name}); run again with --debug to see the trace, and please report it."
    return fail(sentence, ExitCode.INTERNAL, json_errors, shown=sentence)
