"""Where a report goes: rendered in the format asked for, to stdout or atomically to `-o`, and what the user sees on
stderr meanwhile (a spinner, one-line notes). Kept out of cli.py so the CLI is only wiring; knows nothing about
Airflow: it renders whatever Report or FleetReport it is given.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_doctor.errors import UsageError

if TYPE_CHECKING:
    from airflow_doctor.fleet import FleetReport
    from airflow_doctor.model import Report


class OutputFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"
    junit = "junit"


class ListFormat(str, Enum):
    text = "text"
    json = "json"


def say_on_stderr(message: str) -> None:
    """A line on stderr, through the redaction policy (secrets the tool registered and those it never saw)."""
    from airflow_doctor.redact import redact_text

    sys.stderr.write(redact_text(f"airflow-doctor: {message}") + "\n")
    sys.stderr.flush()


def check_output_path(output: Path) -> None:
    """Refuse an -o the report could not be written to, before any check runs."""
    directory = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise UsageError(f"-o {output} is a directory; give a file name, e.g. -o {output / 'report.md'}")
    if not directory.is_dir():
        raise UsageError(f"-o {output}: the directory {directory} does not exist; create it or choose another path.")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"-o {output}: the directory {directory} is not writable; choose another path.")


def publish(report: Report, output_format: OutputFormat, output: Path | None, verbose: int) -> None:
    """One profile's report, to -o (atomically) or stdout."""
    from airflow_doctor import output_modes
    from airflow_doctor.report import render_json, render_markdown, render_terminal, use_color

    if output_modes.publish_special(report, output_format, output, verbose):
        return
    if output_format is OutputFormat.json:
        text = render_json(report)
    elif output_format is OutputFormat.markdown:
        text = render_markdown(report)
    else:
        color = use_color(output is not None, sys.stdout, os.environ)
        width = 100 if output is not None else None
        text = render_terminal(report, verbose, color=color, width=width or terminal_width())
    _deliver(text, output, "the report")


def publish_fleet(report: FleetReport, output_format: OutputFormat, output: Path | None, quiet: bool = False) -> None:
    """The profile × check matrix of `check --all`, to -o (atomically) or stdout."""
    from airflow_doctor import output_modes
    from airflow_doctor.report import render_fleet_json, render_fleet_markdown, render_fleet_terminal, use_color

    if output_modes.publish_fleet_special(report, output_format, output, quiet):
        return
    if output_format is OutputFormat.json:
        text = render_fleet_json(report)
    elif output_format is OutputFormat.markdown:
        text = render_fleet_markdown(report)
    else:
        color = use_color(output is not None, sys.stdout, os.environ)
        text = render_fleet_terminal(report, color=color, width=terminal_width() if output is None else 140)
    _deliver(text, output, "the fleet report")


def _deliver(text: str, output: Path | None, what: str) -> None:
    from airflow_doctor.report import emit, write_atomic

    if output is not None:
        write_atomic(output, text)
        say_on_stderr(f"wrote {what} to {output}")
    else:
        emit(text, sys.stdout)


def terminal_width() -> int:
    import shutil

    return max(60, min(shutil.get_terminal_size((100, 24)).columns, 140))


class Spinner:
    """A transient spinner on stderr while checks run, only when stderr is a terminal; paused for a question."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._status = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        if not self.enabled:
            return None
        from rich.console import Console

        self._status = Console(stderr=True).status("checking…")
        self._status.start()
        return self

    def update(self, check_id: str, title: str, result: object) -> None:
        if result is None and self._status is not None:
            self._status.update(f"checking {check_id}: {title}…")

    def say(self, text: str) -> None:
        if self._status is not None:
            from airflow_doctor.redact import redact_text

            self._status.update(redact_text(text))

    def pause(self) -> None:
        if self._status is not None:
            self._status.stop()

    def resume(self) -> None:
        if self._status is not None:
            self._status.start()

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()
