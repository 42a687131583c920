"""The output conventions CLI users reach for without reading a manual: -q, --no-color, --format junit.

`check` hands a finished report here first; what is not handled here (every other format, every verbosity >= 0)
is published as before. Quiet is verbosity -1: the headline on stdout and the exit code, nothing else.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from airflow_doctor.model import Report, Status

if TYPE_CHECKING:
    from airflow_doctor.fleet import FleetEntry, FleetReport

QUIET = -1
"""The verbosity of -q/--quiet."""
JUNIT = "junit"
TEXT = "text"
_SUFFIXES = {JUNIT: "xml", "markdown": "md"}


def _format_name(output_format: object) -> str:
    """'junit' from the CLI's OutputFormat member or from a plain string."""
    return str(getattr(output_format, "value", output_format))


def verbosity(quiet: bool, verbose: int) -> int:
    return QUIET if quiet else verbose


def flag_problem(quiet: bool, verbose: int, output_format: str, output: Path | None) -> str | None:
    """The one sentence for flags that cannot go together, or None."""
    if quiet and verbose > 0:
        return "-q prints only the headline and -v adds detail; choose one of them."
    if quiet and _format_name(output_format) != TEXT and output is None:
        name = _format_name(output_format)
        return (f"-q prints only the headline on stdout, where the {name} report would go; write the "
                f"report to a file with -o (e.g. -o report.{_SUFFIXES.get(name, name)}).")
    return None


def without_color(wanted: bool, on_close: Callable[[Callable[[], None]], object]) -> None:
    """--no-color: the same as NO_COLOR=1 (no-color.org) for this command, which every colour decision already reads;
    `on_close` registers putting the environment back when the command ends."""
    if not wanted:
        return
    before = os.environ.get("NO_COLOR")
    os.environ["NO_COLOR"] = "1"

    def restore() -> None:
        if before is None:
            os.environ.pop("NO_COLOR", None)
        else:
            os.environ["NO_COLOR"] = before

    on_close(restore)


# --- one profile ------------------------------------------------------------------------------------

def headline(report: Report) -> str:
    """The one line -q prints: the diagnosis (or warning) with its check, else the tally."""
    diagnosis = report.diagnosis
    if diagnosis is not None:
        failed = any(r.check_id == diagnosis.check_id and r.status is Status.FAIL for r in report.results)
        return f"{'Diagnosis' if failed else 'Warning'} ({diagnosis.check_id}): {diagnosis.summary}"
    counts = report.counts()
    return (f"No issues found ({counts[Status.PASS]} passed, {counts[Status.WARN]} warned, "
            f"{counts[Status.FAIL]} failed, {counts[Status.SKIP]} skipped).")


def publish_special(report: Report, output_format: str, output: Path | None, verbose: int) -> bool:
    """Publish a report for -q and/or --format junit; False when the usual renderers should publish it."""
    from airflow_doctor.junit import render_junit

    quiet = verbose <= QUIET
    if quiet:
        _stdout(headline(report))
    if _format_name(output_format) == JUNIT:
        _deliver(render_junit(report), output, "report")
        return True
    return quiet and output is None


# --- a fleet ----------------------------------------------------------------------------------------

def fleet_headline(entry: FleetEntry) -> str:
    from airflow_doctor.redact import one_line

    if entry.report is None:
        return f"{entry.name}: profile error: {one_line(entry.error or '')}"
    if entry.error and entry.report.diagnosis is None:
        return f"{entry.name}: {one_line(entry.error)}"
    return f"{entry.name}: {headline(entry.report)}"


def publish_fleet_special(fleet: FleetReport, output_format: str, output: Path | None, quiet: bool) -> bool:
    """`check --all` for -q (one headline per profile) and/or --format junit; False: publish as usual."""
    from airflow_doctor.junit import render_fleet_junit

    if quiet:
        _stdout("\n".join(fleet_headline(entry) for entry in fleet.entries))
    if _format_name(output_format) == JUNIT:
        _deliver(render_fleet_junit(fleet), output, "fleet report")
        return True
    return quiet and output is None


# --- leaving the process ----------------------------------------------------------------------------

def _stdout(text: str) -> None:
    from airflow_doctor.redact import redact_text
    from airflow_doctor.report import emit

    emit(redact_text(text) + "\n", sys.stdout)


def _deliver(text: str, output: Path | None, what: str) -> None:
    """To the file (atomically, refused if a secret is left) or to stdout (scrubbed), like every other format; the
    note on stderr says where it went, as for the other formats (with -q too: stdout stays the headline alone)."""
    from airflow_doctor.report import emit, write_atomic

    if output is None:
        emit(text, sys.stdout)
        return
    write_atomic(output, text)
    sys.stderr.write(f"airflow-doctor: wrote the {what} to {output}\n")
    sys.stderr.flush()
