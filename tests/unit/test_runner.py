from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from airflow_doctor.model import Finding, Fix, Status, Uses
from airflow_doctor.runner import Selection, UnknownCheck, attempt, in_dependency_order, run_checks


@dataclass
class Recorder:
    drained: int = 0

    def drain(self):
        self.drained += 1
        return ()


@dataclass
class FakeCheck:
    id: str
    outcome: Status | BaseException
    requires: tuple[str, ...] = ()
    uses: tuple[Uses, ...] = ()
    provides: tuple[str, ...] = ()
    title: str = "a check"
    calls: list[str] = field(default_factory=list)

    def run(self, context):
        self.calls.append(self.id)
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return Finding(self.outcome, f"{self.id} {self.outcome.value}")


def test_checks_run_in_registry_order_and_a_failed_prerequisite_skips_naming_it_without_repeating_its_sentence() -> None:
    checks = [FakeCheck("a", Status.FAIL), FakeCheck("b", Status.PASS, requires=("a",)), FakeCheck("c", Status.PASS)]
    results = run_checks(checks, None, Recorder())
    assert [(r.check_id, r.status) for r in results] == [("a", Status.FAIL), ("b", Status.SKIP), ("c", Status.PASS)]
    assert results[1].summary == "skipped (needs a)"
    assert checks[1].calls == []


def test_a_skipped_prerequisite_propagates_and_a_warning_does_not_block() -> None:
    checks = [FakeCheck("a", Status.WARN), FakeCheck("b", Status.SKIP, requires=("a",)),
              FakeCheck("c", Status.PASS, requires=("b",))]
    results = run_checks(checks, None, Recorder())
    assert [r.status for r in results] == [Status.WARN, Status.SKIP, Status.SKIP]
    assert results[2].summary == "skipped (needs b, which was skipped)"


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
    assert results[1].summary == "skipped (needs a, excluded with --skip)"


def test_unknown_check_ids_are_refused_with_a_suggestion() -> None:
    with pytest.raises(UnknownCheck, match="did you mean 'reachability'"):
        Selection(only=("reachabilty",)).validate(["reachability", "auth-backend"])


@dataclass
class Fetches:
    """A check that makes one real request (to a port nothing listens on) and never catches what it raises."""

    probe: object
    id: str = "fetches"
    title: str = "fetches a page"
    requires: tuple[str, ...] = ()
    uses: tuple[Uses, ...] = ()
    provides: tuple[str, ...] = ()

    def run(self, context):
        self.probe.get("/api/v1/dags/demo/details")
        return Finding(Status.PASS, "never reached")


def test_a_transport_error_in_any_check_is_a_finding_naming_the_request_not_an_internal_error() -> None:
    from airflow_doctor.probe import Probe
    from tests.servers import closed_port

    probe = Probe(f"http://127.0.0.1:{closed_port()}", connect_timeout=30)
    [result] = run_checks([Fetches(probe)], None, probe)
    assert result.status is Status.FAIL and result.internal_error is None
    assert result.summary == (f"GET {probe.base_url}/api/v1/dags/demo/details failed: the connection was refused")
    assert "internal error" not in result.summary and "tcp-refused" not in result.summary
    assert [e.error.split(":")[0] for e in result.evidence] == ["tcp-refused"]


def test_a_check_that_describes_its_own_failure_is_reported_in_its_words() -> None:
    class Unreachable(Exception):
        def as_finding(self) -> Finding:
            return Finding(Status.FAIL, "the carrier refused the call")

    [result] = run_checks([FakeCheck("a", Unreachable())], None, Recorder())
    assert (result.status, result.summary, result.internal_error) == (Status.FAIL, "the carrier refused the call", None)


def test_ctrl_c_in_a_check_stops_the_run_instead_of_becoming_a_failed_check() -> None:
    checks = [FakeCheck("a", KeyboardInterrupt()), FakeCheck("b", Status.PASS)]
    with pytest.raises(KeyboardInterrupt):
        run_checks(checks, None, Recorder())
    assert checks[1].calls == []


def test_only_also_runs_the_checks_that_provide_what_it_uses_transitively() -> None:
    checks = [FakeCheck("root", Status.PASS, provides=("api",)),
              FakeCheck("dag", Status.PASS, requires=("root",), provides=("dag",)),
              FakeCheck("other", Status.PASS),
              FakeCheck("schema", Status.PASS, uses=(Uses("dag", "the params were not checked"),))]
    results = run_checks(checks, None, Recorder(), Selection(only=("schema",)))
    assert [r.check_id for r in results] == ["root", "dag", "schema"]
    assert results[-1].summary == "schema pass"


def test_a_check_runs_after_the_provider_of_what_it_uses_whatever_the_registry_order() -> None:
    checks = [FakeCheck("schema", Status.PASS, uses=(Uses("dag", "the params were not checked"),)),
              FakeCheck("dag", Status.PASS, requires=("root",), provides=("dag",)),
              FakeCheck("root", Status.PASS)]
    assert [c.id for c in in_dependency_order(checks)] == ["root", "dag", "schema"]


def test_checks_that_build_on_each_other_in_a_cycle_are_refused() -> None:
    checks = [FakeCheck("a", Status.PASS, requires=("b",)), FakeCheck("b", Status.PASS, requires=("a",))]
    with pytest.raises(ValueError, match="cycle: a, b"):
        in_dependency_order(checks)


@pytest.mark.parametrize(("provider", "selection", "why"), [
    (FakeCheck("dag", Status.PASS, provides=("dag",)), Selection(skip=("dag",)), "dag did not run (--skip dag)"),
    (FakeCheck("dag", Status.FAIL, provides=("dag",)), Selection(), "dag failed"),
    (FakeCheck("dag", Status.SKIP, provides=("dag",)), Selection(), "dag was skipped"),
    (FakeCheck("dag", Status.PASS, provides=("dag",)), Selection(), "dag did not learn it"),
], ids=["excluded", "failed", "skipped", "passed-without-it"])
def test_a_check_whose_input_is_missing_says_what_went_unchecked_and_why(provider, selection, why) -> None:
    schema = FakeCheck("schema", Status.PASS, uses=(Uses("dag", "the params were not checked"),))
    results = run_checks([provider, schema], None, Recorder(), selection, available=lambda fact: False)
    assert results[-1].summary == f"schema pass; the params were not checked: {why}"
    assert results[-1].status is Status.PASS


def test_an_input_that_was_learned_or_is_guaranteed_by_requires_adds_nothing() -> None:
    checks = [FakeCheck("dag", Status.PASS, provides=("dag",)),
              FakeCheck("schema", Status.PASS, uses=(Uses("dag", "the params were not checked"),)),
              FakeCheck("permissions", Status.PASS, requires=("dag",), uses=(Uses("dag"),))]
    learned = run_checks(checks, None, Recorder(), available=lambda fact: True)
    assert [r.summary for r in learned] == ["dag pass", "schema pass", "permissions pass"]
    unlearned = run_checks(checks, None, Recorder(), available=lambda fact: False)
    assert unlearned[2].summary == "permissions pass"


def test_a_step_after_the_checks_that_crashes_becomes_a_reported_internal_error() -> None:
    def build() -> str:
        raise KeyError("working request")

    value, crash = attempt("working-request", "The request that works", build)
    assert value is None and crash is not None
    assert (crash.check_id, crash.status) == ("working-request", Status.FAIL)
    assert crash.summary.startswith("internal error in airflow-doctor (KeyError)")
    assert attempt("diagnosis", "Diagnosis", lambda: "fine") == ("fine", None)


@dataclass
class QuotingCheck:
    """A check that quotes a server's words holding a credential the tool never registered."""

    id: str = "dag-exists"
    title: str = "DAG exists"
    requires: tuple[str, ...] = ()
    uses: tuple[Uses, ...] = ()
    provides: tuple[str, ...] = ()

    def run(self, context):
        leak = "postgresql://etl:never-registered-canary@db/orders"
        return Finding(Status.FAIL, f"import error: {leak}", f"engine = create_engine('{leak}')",
                       Fix(f"export AIRFLOW_CONN_DB={leak}", (f"echo {leak}",)), (f"details {leak}",),
                       why_ui_works=f"the UI shows {leak}")


def test_the_runner_redacts_what_a_check_quotes_before_the_report_holds_it() -> None:
    [result] = run_checks([QuotingCheck()], None, Recorder())
    texts = [result.summary, result.explanation, result.fix.text, *result.fix.commands, *result.details,
             result.why_ui_works]
    assert all("never-registered-canary" not in text for text in texts), texts
    assert all("postgresql://etl:***@db/orders" in text for text in texts), texts
