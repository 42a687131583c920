"""Runs checks in registry order. Knows nothing about Airflow: only ids, prerequisites, timing and evidence."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol, Sequence

from airflow_doctor.model import CheckResult, Exchange, Finding, Status
from airflow_doctor.secrets import REGISTRY


class RunnableCheck(Protocol):
    id: str
    title: str
    requires: tuple[str, ...]

    def run(self, context: Any) -> Finding: ...


class Recorder(Protocol):
    def drain(self) -> tuple[Exchange, ...]: ...


class UnknownCheck(ValueError):
    pass


@dataclass(frozen=True)
class Selection:
    """Which checks to run: --only (plus what they need) minus --skip."""

    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()

    def validate(self, known: Sequence[str]) -> None:
        for check_id in (*self.only, *self.skip):
            if check_id not in known:
                import difflib

                close = difflib.get_close_matches(check_id, known, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known checks: {', '.join(known)}."
                raise UnknownCheck(f"There is no check '{check_id}'; {hint}")

    def wanted(self, checks: Sequence[RunnableCheck]) -> set[str]:
        by_id = {c.id: c for c in checks}
        if not self.only:
            return set(by_id)
        wanted: set[str] = set()
        stack = list(self.only)
        while stack:
            check_id = stack.pop()
            if check_id not in wanted:
                wanted.add(check_id)
                stack.extend(by_id[check_id].requires)
        return wanted


Progress = Callable[[str, str, "CheckResult | None"], None]


def run_checks(checks: Iterable[RunnableCheck], context: Any, recorder: Recorder, selection: Selection = Selection(),
               on_progress: Progress | None = None, debug: bool = False) -> list[CheckResult]:
    checks = list(checks)
    wanted = selection.wanted(checks)
    results: dict[str, CheckResult] = {}
    ordered: list[CheckResult] = []
    for check in checks:
        if check.id not in wanted:
            continue
        if on_progress:
            on_progress(check.id, check.title, None)
        if check.id in selection.skip:
            result = CheckResult(check.id, check.title, Status.SKIP, "skipped: excluded with --skip")
        elif (blocker := _blocking_prerequisite(check, results, selection)) is not None:
            result = CheckResult(check.id, check.title, Status.SKIP, blocker)
        else:
            result = _run_one(check, context, recorder, debug)
        results[check.id] = result
        ordered.append(result)
        if on_progress:
            on_progress(check.id, check.title, result)
    return ordered


def _blocking_prerequisite(check: RunnableCheck, results: dict[str, CheckResult], selection: Selection) -> str | None:
    for needed in check.requires:
        upstream = results.get(needed)
        if upstream is None:
            return f"skipped: needs {needed}, which did not run"
        if upstream.status is Status.FAIL:
            return f"skipped: needs {needed}, which failed ({upstream.summary})"
        if upstream.status is Status.SKIP:
            why = "was excluded with --skip" if needed in selection.skip else "was skipped"
            return f"skipped: needs {needed}, which {why}"
    return None


def _run_one(check: RunnableCheck, context: Any, recorder: Recorder, debug: bool) -> CheckResult:
    recorder.drain()
    started = time.perf_counter()
    try:
        finding = check.run(context)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a crashing check must not stop the others
        duration = (time.perf_counter() - started) * 1000
        trace = REGISTRY.scrub("".join(traceback.format_exception(exc))) if debug else None
        hint = "the trace is printed below" if debug else "run again with --debug to see the trace"
        return CheckResult(check.id, check.title, Status.FAIL,
                           f"internal error in airflow-doctor ({type(exc).__name__}); {hint}",
                           explanation="This is a bug in airflow-doctor, not a finding about your Airflow. "
                                       "Please report it with the --debug output.",
                           evidence=recorder.drain(), duration_ms=duration, internal_error=trace)
    duration = (time.perf_counter() - started) * 1000
    return CheckResult.from_finding(check.id, check.title, finding, recorder.drain(), duration)
