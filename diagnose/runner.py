"""Runs checks in dependency order. Knows nothing about Airflow: only ids, prerequisites, declared inputs, timing
and evidence."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, replace
from typing import Any, Callable, Hashable, Iterable, Protocol, Sequence, TypeVar

from airflow_doctor.errors import UnknownCheck
from airflow_doctor.failures import finding_for
from airflow_doctor.model import Check, CheckResult, Exchange, Finding, Status
from airflow_doctor.redact import redact_result, redact_text

T = TypeVar("T")
C = TypeVar("C")
"""The caller's context type (the checks' CheckContext): the runner passes it on and never reads it."""


class Recorder(Protocol):
    def drain(self) -> tuple[Exchange, ...]: ...


def producers(checks: Sequence[Check[Any]]) -> dict[Hashable, str]:
    """Which check provides each fact; a fact has one producer."""
    found: dict[Hashable, str] = {}
    for check in checks:
        for fact in check.provides:
            if fact in found:
                raise ValueError(f"{fact} is provided by both {found[fact]} and {check.id}")
            found[fact] = check.id
    return found


def upstream(check: Check[Any], provided_by: dict[Hashable, str]) -> tuple[str, ...]:
    """The checks this one builds on: what it requires, and where the facts it uses come from."""
    sources = (provided_by[u.fact] for u in check.uses if u.fact in provided_by)
    return tuple(dict.fromkeys(c for c in (*check.requires, *sources) if c != check.id))


def in_dependency_order(checks: Sequence[Check[Any]]) -> list[Check[Any]]:
    """Registry order, except that a check always comes after the checks it builds on."""
    provided_by = producers(checks)
    known = {c.id for c in checks}
    pending, placed, done = list(checks), [], set()
    while pending:
        ready = next((c for c in pending if all(d in done or d not in known for d in upstream(c, provided_by))), None)
        if ready is None:
            raise ValueError(f"these checks build on each other in a cycle: {', '.join(c.id for c in pending)}")
        pending.remove(ready)
        placed.append(ready)
        done.add(ready.id)
    return placed


@dataclass(frozen=True)
class Selection:
    """Which checks to run: --only (plus what they build on) minus --skip."""

    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()

    def validate(self, known: Sequence[str]) -> None:
        for check_id in (*self.only, *self.skip):
            if check_id not in known:
                import difflib

                close = difflib.get_close_matches(check_id, known, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known checks: {', '.join(known)}."
                raise UnknownCheck(f"There is no check '{check_id}'; {hint}")

    def wanted(self, checks: Sequence[Check[Any]]) -> set[str]:
        by_id = {c.id: c for c in checks}
        if not self.only:
            return set(by_id)
        provided_by = producers(checks)
        wanted: set[str] = set()
        stack = list(self.only)
        while stack:
            check_id = stack.pop()
            if check_id not in wanted:
                wanted.add(check_id)
                stack.extend(upstream(by_id[check_id], provided_by))
        return wanted


Progress = Callable[[str, str, "CheckResult | None"], None]


def run_checks(checks: Iterable[Check[C]], context: C, recorder: Recorder, selection: Selection = Selection(),
               on_progress: Progress | None = None, debug: bool = False,
               available: Callable[[Hashable], bool] = lambda fact: True,
               review: Callable[[CheckResult], CheckResult] = lambda result: result,
               describe: Callable[[BaseException], Finding | None] = finding_for) -> list[CheckResult]:
    """Run the selected checks; `available(fact)` says whether a fact a check uses was learned, `review` may
    restate a result from its own evidence, and `describe` turns an exception a check raised into its finding (None:
    a bug). Both are the caller's knowledge: the runner reads no answers."""
    checks = in_dependency_order(list(checks))
    wanted = selection.wanted(checks)
    provided_by = producers(checks)
    results: dict[str, CheckResult] = {}
    ordered: list[CheckResult] = []
    for check in checks:
        if check.id not in wanted:
            continue
        if on_progress:
            on_progress(check.id, check.title, None)
        if check.id in selection.skip:
            result = CheckResult(check.id, check.title, Status.SKIP, "skipped: excluded with --skip")
        elif (blocker := _blocking_prerequisite(check, results, selection)
                          or _acts_on_an_assumption(check, results, provided_by)) is not None:
            result = CheckResult(check.id, check.title, Status.SKIP, blocker)
        else:
            missing = [f"{u.unchecked}: {_why_missing(provided_by.get(u.fact), results, selection)}"
                       for u in check.uses if u.unchecked and not available(u.fact)]
            result = _with_missing_inputs(_run_one(check, context, recorder, debug, review, describe), missing)
        if result.status is not Status.SKIP:  # a skip found nothing, after a fix or not
            result = replace(result, after_fix_of=after_fix_of(check, results, provided_by))
        results[check.id] = result
        ordered.append(result)
        if on_progress:
            on_progress(check.id, check.title, result)
    return ordered


def attempt(step_id: str, title: str, action: Callable[[], T], debug: bool = False) -> tuple[T | None, CheckResult | None]:
    """One more step of building the report, under the checks' crash guard: its value, or the internal error."""
    started = time.perf_counter()
    try:
        return action(), None
    except Exception as exc:
        return None, _internal_error(step_id, title, exc, (), started, debug)


def after_fix_of(check: Check[Any], results: dict[str, CheckResult], provided_by: dict[Hashable, str]) -> str | None:
    """The failed check whose assumed fix this one ran on: an upstream that failed with an assumption, or one that
    itself ran after such a fix (the nearest such failure: the row that names what this result comes after)."""
    for source in upstream(check, provided_by):
        found = results.get(source)
        if found is None:
            continue
        if found.status is Status.FAIL and found.assumed is not None:
            return source
        if found.after_fix_of is not None:
            return found.after_fix_of
    return None


def _acts_on_an_assumption(check: Check[Any], results: dict[str, CheckResult],
                           provided_by: dict[Hashable, str]) -> str | None:
    """A check that changes the server (`changes_server`) never does so on an assumed fix: the user decides once the
    real fix is made."""
    if not getattr(check, "changes_server", False) or (source := after_fix_of(check, results, provided_by)) is None:
        return None
    return f"skipped (it changes the server, and {source}'s fix is only assumed: fix that first)"


def _blocking_prerequisite(check: Check[Any], results: dict[str, CheckResult], selection: Selection) -> str | None:
    """Why a check did not run, in a few words: the upstream row just above says the rest (never repeated here).
    A failure whose fix is assumed (`assumed`) does not block: its dependants run on the corrected facts."""
    for needed in check.requires:
        upstream_result = results.get(needed)
        if upstream_result is None:
            return f"skipped (needs {needed}, which did not run)"
        if upstream_result.status is Status.FAIL and upstream_result.assumed is None:
            return f"skipped (needs {needed})"
        if upstream_result.status is Status.SKIP:
            why = "excluded with --skip" if needed in selection.skip else "which was skipped"
            return f"skipped (needs {needed}, {why})"
    return None


def _why_missing(producer: str | None, results: dict[str, CheckResult], selection: Selection) -> str:
    """Short: the producer's own row, just above, says why it failed or was skipped."""
    if producer is None:
        return "no check provides it"
    if producer in selection.skip:
        return f"{producer} did not run (--skip {producer})"
    result = results.get(producer)
    if result is None:
        return f"{producer} did not run"
    if result.status is Status.FAIL:
        return f"{producer} failed"
    if result.status is Status.SKIP:
        return f"{producer} was skipped"
    return f"{producer} did not learn it"


def _with_missing_inputs(result: CheckResult, missing: list[str]) -> CheckResult:
    if not missing or result.status is Status.SKIP or result.internal_error:
        return result
    return replace(result, summary="; ".join((result.summary, *missing)))


def _run_one(check: Check[C], context: C, recorder: Recorder, debug: bool,
             review: Callable[[CheckResult], CheckResult],
             describe: Callable[[BaseException], Finding | None]) -> CheckResult:
    recorder.drain()
    started = time.perf_counter()
    try:
        finding = check.run(context)
    except Exception as exc:  # a check that cannot finish must not stop the others
        described = describe(exc)
        if described is None:
            return _internal_error(check.id, check.title, exc, recorder.drain(), started, debug)
        finding = described
    result = review(CheckResult.from_finding(check.id, check.title, finding, recorder.drain(), _ms_since(started)))
    return redact_result(result)


def _internal_error(step_id: str, title: str, exc: Exception, evidence: tuple[Exchange, ...], started: float,
                    debug: bool) -> CheckResult:
    trace = redact_text("".join(traceback.format_exception(exc))) if debug else None
    hint = "the trace is printed below" if debug else "run again with --debug to see the trace"
    return CheckResult(step_id, title, Status.FAIL, f"internal error in airflow-doctor ({type(exc).__name__}); {hint}",
                       explanation="This is a bug in airflow-doctor, not a finding about your Airflow. "
                                   "Please report it with the --debug output.",
                       evidence=evidence, duration_ms=_ms_since(started), internal_error=trace)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
