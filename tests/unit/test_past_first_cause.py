"""Past the first cause: a failure whose fix is known and safe (`assumed`) lets the checks that build on it run on
the corrected facts; their results are marked `after_fix_of`, shown under 'after fixing the above', and never the
headline. The runner and renderers know no Airflow: fake checks stand for the real ones here."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import jsonschema

from airflow_doctor.junit import render_junit
from airflow_doctor.model import Assumption, Finding, Fix, Report, Status, Uses, choose_diagnosis
from airflow_doctor.report import render_json, render_markdown, render_terminal, report_schema
from airflow_doctor.runner import run_checks


@dataclass
class Recorder:
    def drain(self):
        return ()


@dataclass
class FakeCheck:
    id: str
    outcome: Status
    requires: tuple[str, ...] = ()
    uses: tuple[Uses, ...] = ()
    provides: tuple[str, ...] = ()
    assumed: Assumption | None = None
    title: str = "a check"
    calls: list[str] = field(default_factory=list)

    def run(self, context):
        self.calls.append(self.id)
        return Finding(self.outcome, f"{self.id} {self.outcome.value}", fix=Fix(f"fix {self.id}", ()),
                       assumed=self.assumed, code=f"{self.id}-code")


REDIRECT = Assumption("the url is https://airflow.example.com (where the redirect points; its version endpoint answered)")


def chain(first: Status = Status.FAIL, assumed: Assumption | None = REDIRECT) -> list[FakeCheck]:
    """reachability -> auth -> dag -> paused, and an independent check beside them."""
    return [FakeCheck("reach", first, assumed=assumed, provides=("api",)),
            FakeCheck("auth", Status.PASS, requires=("reach",), provides=("credentials",)),
            FakeCheck("dag", Status.PASS, requires=("auth",), provides=("dag",)),
            FakeCheck("paused", Status.FAIL, requires=("dag",)),
            FakeCheck("beside", Status.PASS)]


def report_of(results) -> Report:
    return Report("0", "now", "p", "https://x", (), (), tuple(results), choose_diagnosis(results))


def test_a_failure_with_a_safe_assumed_fix_lets_its_dependants_run_and_marks_them_after_that_fix() -> None:
    checks = chain()
    results = {r.check_id: r for r in run_checks(checks, None, Recorder())}
    assert [c.id for c in checks if c.calls] == ["reach", "auth", "dag", "paused", "beside"]
    assert results["reach"].assumed == REDIRECT and results["reach"].after_fix_of is None
    assert [results[c].after_fix_of for c in ("auth", "dag", "paused")] == ["reach", "reach", "reach"]
    assert results["beside"].after_fix_of is None, "a check that does not build on the failure is the script as it is"


@dataclass
class TriggeringCheck(FakeCheck):
    changes_server: bool = True


def test_a_check_that_changes_the_server_never_runs_on_an_assumed_fix() -> None:
    trigger = TriggeringCheck("trigger", Status.PASS, requires=("dag",))
    results = {r.check_id: r for r in run_checks([*chain(), trigger], None, Recorder())}
    assert not trigger.calls and results["trigger"].status is Status.SKIP
    assert "reach's fix is only assumed" in results["trigger"].summary
    unassumed = TriggeringCheck("trigger", Status.PASS)
    assert run_checks([unassumed], None, Recorder())[0].status is Status.PASS and unassumed.calls


def test_a_failure_without_an_assumed_fix_still_skips_its_dependants() -> None:
    results = run_checks(chain(assumed=None), None, Recorder())
    assert [r.status for r in results] == [Status.FAIL, Status.SKIP, Status.SKIP, Status.SKIP, Status.PASS]
    assert all(r.after_fix_of is None for r in results)


def test_an_assumption_on_a_pass_or_a_warning_is_not_kept() -> None:
    results = run_checks(chain(first=Status.WARN), None, Recorder())
    assert results[0].assumed is None and all(r.after_fix_of is None for r in results)


def test_a_second_assumed_fix_after_the_first_is_named_by_the_results_that_build_on_it() -> None:
    checks = chain()
    checks[1] = FakeCheck("auth", Status.FAIL, requires=("reach",), provides=("credentials",),
                          assumed=Assumption("a token from /auth/token instead of Basic"))
    results = {r.check_id: r for r in run_checks(checks, None, Recorder())}
    assert results["auth"].after_fix_of == "reach" and results["auth"].assumed is not None
    assert results["dag"].after_fix_of == "auth" and results["paused"].after_fix_of == "auth"


def test_a_fact_from_a_check_that_ran_after_a_fix_carries_the_mark_to_its_readers() -> None:
    checks = chain()
    checks.append(FakeCheck("schema", Status.FAIL, requires=("beside",), uses=(Uses("dag", "params unchecked"),)))
    results = {r.check_id: r for r in run_checks(checks, None, Recorder())}
    assert results["schema"].after_fix_of == "reach"


def test_the_headline_stays_the_first_cause_and_never_an_after_fix_result() -> None:
    results = run_checks(chain(), None, Recorder())
    diagnosis = choose_diagnosis(results)
    assert diagnosis is not None and diagnosis.check_id == "reach"


def test_an_after_fix_result_that_claims_to_explain_the_first_cause_does_not_take_the_headline() -> None:
    checks = chain()
    results = run_checks(checks, None, Recorder())
    from dataclasses import replace

    results = [replace(r, explains=("reach",)) if r.check_id == "paused" else r for r in results]
    assert choose_diagnosis(results).check_id == "reach"


def test_every_format_shows_the_assumed_fix_and_each_further_problem_after_fixing_the_above() -> None:
    report = report_of(run_checks(chain(), None, Recorder()))
    terminal = render_terminal(report, width=200)
    assert "Diagnosis (reach): reach fail" in terminal
    assert f"Assumed fixed for the checks after reach: {REDIRECT.text}" in terminal
    assert "After fixing the above, the script would still hit:" in terminal and "✗ paused: paused fail" in terminal
    assert "[✗] paused  after fixing the above (reach): paused fail" in terminal
    assert "[✓] beside  beside pass" in terminal

    markdown = render_markdown(report)
    assert f"**Assumed fixed for the checks after `reach`:** {REDIRECT.text}" in markdown
    assert "**After fixing the above**, the script would still hit:" in markdown
    assert "- ✗ `paused`: paused fail" in markdown
    assert "| `paused` | after fixing the above (reach): paused fail |" in markdown

    data = json.loads(render_json(report))
    jsonschema.validate(data, report_schema())
    by_id = {r["check_id"]: r for r in data["results"]}
    assert data["diagnosis"]["check_id"] == "reach" and by_id["reach"]["assumed"] == REDIRECT.text
    assert by_id["paused"]["after_fix_of"] == "reach" and by_id["paused"]["code"] == "paused-code"
    assert by_id["beside"]["after_fix_of"] is None and by_id["beside"]["assumed"] is None

    cases = {c.get("name"): c for c in ET.fromstring(render_junit(report)).iter("testcase")}
    assert cases["paused"].find("failure").get("message") == "after fixing the above (reach): paused fail"
    assert REDIRECT.text in cases["reach"].find("failure").text


def test_a_report_with_nothing_assumed_reads_as_before() -> None:
    report = report_of(run_checks(chain(assumed=None), None, Recorder()))
    assert "after fixing the above" not in render_terminal(report, width=200).lower()
    assert "after fixing the above" not in render_markdown(report).lower()


def test_a_failure_beside_the_headline_is_also_named_as_what_the_script_hits_after_fixing_it() -> None:
    checks = chain(assumed=None)
    checks[-1] = FakeCheck("beside", Status.FAIL)
    report = report_of(run_checks(checks, None, Recorder()))
    terminal = render_terminal(report, width=200)
    assert "After fixing the above, the script would still hit:" in terminal and "✗ beside: beside fail" in terminal
    assert "[✗] beside  beside fail" in terminal, "its row is the script as it is: no after-fix mark"


def test_a_check_skipped_after_an_assumed_fix_is_not_marked_it_found_nothing() -> None:
    checks = chain()
    checks[2] = FakeCheck("dag", Status.FAIL, requires=("auth",), provides=("dag",))
    results = {r.check_id: r for r in run_checks(checks, None, Recorder())}
    assert results["dag"].after_fix_of == "reach"
    assert results["paused"].status is Status.SKIP and results["paused"].after_fix_of is None
