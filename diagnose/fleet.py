"""Runs several profiles at once, and shows their progress as a live table on stderr. Generic: a job is a name
and a callable that returns a Report."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from airflow_doctor.model import ExitCode, Report

MAX_WORKERS = 16


@dataclass(frozen=True)
class FleetEntry:
    name: str
    report: Report | None
    error: str | None = None
    """Why no report exists (the profile could not be loaded), or why it is partial; a usage error either way."""

    @property
    def exit_code(self) -> ExitCode:
        """No report, or a partial one that found nothing wrong: a usage error, as `check` exits for it."""
        if self.report is None or (self.error and self.report.exit_code is ExitCode.OK):
            return ExitCode.USAGE
        return self.report.exit_code


@dataclass(frozen=True)
class Partial:
    """A job that could run only part of its checks: its report, and the sentence naming what is missing."""

    report: Report
    reason: str


@dataclass(frozen=True)
class FleetReport:
    generated_at: str
    tool_version: str
    entries: tuple[FleetEntry, ...]

    @property
    def exit_code(self) -> ExitCode:
        """The worst of the profiles: a profile error, then a failed check, then nothing."""
        codes = {e.exit_code for e in self.entries}
        for code in (ExitCode.USAGE, ExitCode.CHECK_FAILED):
            if code in codes:
                return code
        return ExitCode.OK


Job = Callable[[], "Report | Partial"]


def run_fleet(jobs: dict[str, Job], expected: tuple[type[Exception], ...], tool_version: str,
              on_done: Callable[[FleetEntry], None] | None = None) -> FleetReport:
    """Run every job concurrently; an `expected` exception becomes that entry's error, in the input order."""

    def one(name: str) -> FleetEntry:
        try:
            outcome = jobs[name]()
            entry = (FleetEntry(name, outcome.report, outcome.reason) if isinstance(outcome, Partial)
                     else FleetEntry(name, outcome))
        except expected as exc:
            entry = FleetEntry(name, None, str(exc))
        if on_done:
            on_done(entry)
        return entry

    with ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, len(jobs)))) as pool:
        entries = tuple(pool.map(one, list(jobs)))
    return FleetReport(datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"), tool_version, entries)


class LiveTable:
    """A live table on stderr, one row per profile, while the fleet runs (only on a terminal)."""

    def __init__(self, names: tuple[str, ...], enabled: bool) -> None:
        self.names = names
        self.enabled = enabled and sys.stderr.isatty()
        self.state = {name: "running…" for name in names}
        self._live = None

    def _table(self):  # type: ignore[no-untyped-def]
        from rich.table import Table

        table = Table(show_header=False, box=None)
        for name in self.names:
            table.add_row(name, self.state[name])
        return table

    def __enter__(self) -> "LiveTable":
        if self.enabled:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._table(), console=Console(stderr=True), refresh_per_second=8, transient=True)
            self._live.start()
        return self

    def done(self, entry: FleetEntry) -> None:
        if entry.report is None:
            self.state[entry.name] = "profile error"
        else:
            self.state[entry.name] = {ExitCode.OK: "✓ no failure", ExitCode.CHECK_FAILED: "✗ failed"}.get(entry.exit_code, "?")
        if self._live is not None:
            self._live.update(self._table())

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
