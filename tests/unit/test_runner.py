from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from airflow_doctor.model import Finding, Status
from airflow_doctor.runner import Selection, UnknownCheck, run_checks


@dataclass
class Recorder:
    drained: int = 0

    def drain(self):
        self.drained += 1
        return ()


@dataclass
class FakeCheck:
    id: str
    outcome: Status | Exception
    requires: tuple[str, ...] = ()
    title: str = "a check"
    calls: list[str] = field(default_factory=list)

    def run(self, context):
        self.calls.append(self.id)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return Finding(self.outcome, f"{self.id} {self.outcome.value}")


def test_checks_run_in_registry_order_and_a_failed_prerequisite_skips_with_its_cause() -> None:
    checks = [FakeCheck("a", Status.FAIL), FakeCheck("b", Status.PASS, requires=("a",)), FakeCheck("c", Status.PASS)]
    results = run_checks(checks, None, Recorder())
    assert [(r.check_id, r.status) for r in results] == [("a", Status.FAIL), ("b", Status.SKIP), ("c", Status.PASS)]
    assert results[1].summary == "skipped: needs a, which failed (a fail)"
    assert checks[1].calls == []


def test_a_skipped_prerequisite_propagates_and_a_warning_does_not_block() -> None:
    checks = [FakeCheck("a", Status.WARN), FakeCheck("b", Status.SKIP, requires=("a",)),
              FakeCheck("c", Status.PASS, requires=("b",))]
    results = run_checks(checks, None, Recorder())
    assert [r.status for r in results] == [Status.WARN, Status.SKIP, Status.SKIP]
    assert results[2].summary == "skipped: needs b, which was skipped"


def test_a_crashing_check_becomes_an_internal_error_and_the_run_goes_on() -> None:
    checks = [FakeCheck("a", RuntimeError("boom canary-in-trace")), FakeCheck("b", Status.PASS)]
    results = run_checks(checks, None, Recorder())
    assert results[0].status is Status.FAIL and "internal error" in results[0].summary and "--debug" in results[0].summary
    assert results[0].internal_error is None
    assert results[1].status is Status.PASS
    debug = run_checks(checks, None, Recorder(), debug=True)
    assert debug[0].internal_error is not None and "RuntimeError" in debug[0].internal_error


def test_only_runs_the_check_and_what_it_needs() -> None:
    checks = [FakeCheck("a", Status.PASS), FakeCheck("b", Status.PASS, requires=("a",)), FakeCheck("c", Status.PASS)]
    results = run_checks(checks, None, Recorder(), Selection(only=("b",)))
    assert [r.check_id for r in results] == ["a", "b"]


def test_skip_excludes_and_dependents_say_why() -> None:
    checks = [FakeCheck("a", Status.PASS), FakeCheck("b", Status.PASS, requires=("a",))]
    results = run_checks(checks, None, Recorder(), Selection(skip=("a",)))
    assert results[0].summary == "skipped: excluded with --skip"
    assert results[1].summary == "skipped: needs a, which was excluded with --skip"


def test_unknown_check_ids_are_refused_with_a_suggestion() -> None:
    with pytest.raises(UnknownCheck, match="did you mean 'reachability'"):
        Selection(only=("reachabilty",)).validate(["reachability", "auth-backend"])
