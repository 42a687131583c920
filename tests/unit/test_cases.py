"""The checks' test tables: tests/cases/<check>.yml, one case a row, run here against answers recorded on real servers.

A case names the server its answers were recorded on, the context the checks before left, the recorded answers to
replay, and what the check must conclude: its status and code, and the key words of its prose. `responses` refuses
any request no answer was given for, and a case fails if one of its answers went unasked. The keys of a case:

  name:     the test's id
  notes:    why the case is there, when its name does not say
  server:   a label under tests/recorded (or a list of them: one test each); {version} and {api} follow it
  given:    the context the checks before this one leave: dag_id (the profile's; default doctor_demo), dag (a
            recorded /details answer that dag-exists put in the facts), version, username, identity, role, health,
            dag_active_runs (as the details gave it unless given), origin (the profile's), trigger ({confirm, wait, cleanup}; absent: not
            requested)
  answers:  recorded answers, replayed at their own path, or {answer, at: another path, sent: as recorded (the
            request body must equal the one the real server got)}; 'airflow-2.7.3/dag_broken' is another server's
  expect:   status and code; fragments that summary / explanation / why_ui_works / fix / details must contain;
            summary_lacks, explanation_lacks, why_ui_works_lacks, fix_lacks: fragments they must not; summary_is
            (the exact summary); commands (the fix's, exactly); in_commands (each in one of them); dag (attributes
            of the DAG in the facts afterwards, dotted into dicts)
  words:    per server, values for {placeholders} in the fragments
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import responses
import yaml
from responses import matchers

from airflow_doctor.checks import CHECKS, dag_exists
from airflow_doctor.checks.base import TriggerOptions
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.codes import finding_codes
from airflow_doctor.model import Finding, Status
from tests.conftest import check_context, recorded, replay

CASES = Path(__file__).resolve().parents[1] / "cases"
BASE = "http://airflow.test"
TEXTS = ("summary", "explanation", "why_ui_works")


@dataclass(frozen=True)
class Server:
    """A recorded server: its label under tests/recorded, its Airflow version and API prefix."""

    label: str

    @property
    def version(self) -> str:
        return self.label.removeprefix("airflow-").split("-")[0]

    @property
    def api(self) -> str:
        return "/api/v1" if self.version.startswith("2.") else "/api/v2"


@dataclass(frozen=True)
class Case:
    check: str
    name: str
    server: Server
    given: dict[str, Any]
    answers: list[Any]
    expect: dict[str, Any]
    notes: str = ""
    words: dict[str, str] = field(default_factory=dict)

    def filled(self, text: str) -> str:
        """{version}, {api} and the case's own `words` in a fragment or a path."""
        return text.format(version=self.server.version, api=self.server.api, **self.words)


def load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES.glob("*.yml")):
        table = yaml.safe_load(path.read_text(encoding="utf-8"))
        for row in table["cases"]:
            servers = row["server"] if isinstance(row["server"], list) else [row["server"]]
            for label in servers:
                case = Case(table["check"], row["name"], Server(label), row.get("given") or {}, row.get("answers") or [],
                            row["expect"], row.get("notes", ""), (row.get("words") or {}).get(label, {}))
                params.append(pytest.param(case, id=f"{path.stem}:{row['name']}" + (f"[{label}]" if len(servers) > 1 else "")))
    return params


def context_for(case: Case):  # type: ignore[no-untyped-def]
    """A CheckContext as the checks before this one leave it, from the case's `given`."""
    given, server = case.given, case.server
    ctx = check_context(BASE, api=server.api, version=given.get("version", server.version),
                        dag_id=given.get("dag_id", "doctor_demo"), username=given.get("username", "admin"),
                        health=given.get("health"))
    if given.get("origin"):
        ctx.profile = replace(ctx.profile, origin=given["origin"])
    ctx.facts.credentials = Credentials(Scheme.BASIC, given.get("username", "admin"), ctx.profile.auth.password)
    ctx.facts.identity, ctx.facts.role = given.get("identity"), given.get("role")
    if given.get("dag"):
        label, name = answer_name(case, given["dag"])
        ctx.facts.dag = dag_exists.dag_info(json.loads(recorded(label, name)["body"]), ctx.facts.api)
        if "dag_active_runs" in given:
            ctx.facts.dag.active_runs = given["dag_active_runs"]
    if "trigger" in given:
        options = given["trigger"] or {}
        ctx.trigger = TriggerOptions(wait=options.get("wait", 0), cleanup=options.get("cleanup", False),
                                     confirm=lambda plan: options.get("confirm", True))
    return ctx


def answer_name(case: Case, name: str) -> tuple[str, str]:
    """'details_demo' is the case's server's answer; 'airflow-2.7.3/details_broken' another server's."""
    label, _, answer = name.rpartition("/")
    return label or case.server.label, answer


def replay_answers(rsps: responses.RequestsMock, case: Case) -> None:
    for entry in case.answers:
        entry = {"answer": entry} if isinstance(entry, str) else entry
        label, name = answer_name(case, entry["answer"])
        match = []
        if entry.get("sent") == "as recorded":
            match.append(matchers.json_params_matcher(recorded(label, name)["request_body"]))
        replay(rsps, BASE, label, name, path=case.filled(entry["at"]) if "at" in entry else None, match=match)


def check_named(check_id: str):  # type: ignore[no-untyped-def]
    return next(check for check in CHECKS if check.id == check_id)


def assert_concluded(case: Case, finding: Finding, ctx) -> None:  # type: ignore[no-untyped-def]
    expect = case.expect
    assert (finding.status, finding.code) == (Status(expect["status"]), expect["code"]), finding
    for key in TEXTS:
        text = getattr(finding, key)
        for fragment in expect.get(key, []):
            assert case.filled(fragment) in text, f"{key} lacks {case.filled(fragment)!r}: {text!r}"
        for fragment in expect.get(f"{key}_lacks", []):
            assert case.filled(fragment) not in text, f"{key} has {case.filled(fragment)!r}: {text!r}"
    if "summary_is" in expect:
        assert finding.summary == case.filled(expect["summary_is"])
    if any(key in expect for key in ("fix", "fix_lacks", "commands", "in_commands")):
        assert finding.fix is not None
        for fragment in expect.get("fix", []):
            assert case.filled(fragment) in finding.fix.text, finding.fix.text
        for fragment in expect.get("fix_lacks", []):
            assert case.filled(fragment) not in finding.fix.text, finding.fix.text
        if "commands" in expect:
            assert list(finding.fix.commands) == [case.filled(c) for c in expect["commands"]]
        for fragment in expect.get("in_commands", []):
            assert any(case.filled(fragment) in command for command in finding.fix.commands), finding.fix.commands
    for fragment in expect.get("details", []):
        assert any(case.filled(fragment) in detail for detail in finding.details), finding.details
    for name, value in (expect.get("dag") or {}).items():
        assert ctx.facts.dag is not None and dotted(ctx.facts.dag, name) == value, (name, ctx.facts.dag)


def dotted(obj: Any, name: str) -> Any:
    for part in name.split("."):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj


@pytest.mark.parametrize("case", load_cases())
def test_case(case: Case) -> None:
    ctx = context_for(case)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        replay_answers(rsps, case)
        finding = check_named(case.check).run(ctx)
    assert_concluded(case, finding, ctx)


def test_every_case_expects_a_code_of_its_checks_tables() -> None:
    known = {code.value for code in finding_codes()}
    assert [p.values[0].name for p in load_cases() if p.values[0].expect["code"] not in known] == []


def test_every_answer_a_case_replays_was_recorded() -> None:
    for param in load_cases():
        case = param.values[0]
        for entry in [*case.answers, *([case.given["dag"]] if case.given.get("dag") else [])]:
            label, name = answer_name(case, entry if isinstance(entry, str) else entry["answer"])
            assert recorded(label, name), (case.name, label, name)
