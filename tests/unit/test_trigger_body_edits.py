"""The corrected body is a minimal edit of the user's: every value the server would take is kept, top-level DAG
inputs move into conf, a wrong type is converted where the meaning is clear and each edit is said; placeholders
only for what the user never sent."""

from __future__ import annotations

import json

import pytest
import responses

from airflow_doctor.checks import payload_schema
from airflow_doctor.checks.base import DagInfo
from airflow_doctor.checks.readers.trigger_body import (PLACEHOLDER, converted_params, correct, corrected_body,
                                                        schema_issues)
from airflow_doctor.model import Status
from tests.conftest import check_context, recorded, replay

PARAMS = {"batch_size": {"value": 10, "schema": {"type": "integer", "minimum": 1}},
          "region": {"value": None, "schema": {"type": "string"}}}
"""doctor_required_param's params as its details answer gives them (a default, and one without)."""
PARAMS_DEMO = {"batch_size": {"value": 10, "schema": {"type": "integer", "minimum": 1}}}
TYPED = {"dry_run": {"value": False, "schema": {"type": "boolean"}},
         "tables": {"value": [], "schema": {"type": "array"}},
         "ratio": {"value": 0.5, "schema": {"type": "number"}}}


@pytest.mark.parametrize("payload, v3, corrected, said", [
    ({"region": "eu", "batch_size": 5}, False, {"conf": {"region": "eu", "batch_size": 5}},
     ["region, batch_size moved into conf with their values"]),
    ({"logical_date": None, "region": "eu"}, True, {"logical_date": None, "conf": {"region": "eu"}},
     ["region moved into conf with its value"]),
    ({"conf": {"region": "us"}, "region": "eu"}, False, {"conf": {"region": "us"}},
     ["top-level region dropped: conf already has region"]),
    ({"source": "nightly", "conf": {"region": "eu"}}, False, {"conf": {"region": "eu", "source": "nightly"}},
     ["source moved into conf with its value"]),
    ({"run_id": "r1", "dag_id": "x", "conf": {}}, False, {"dag_run_id": "r1", "conf": {}},
     ["run_id renamed to dag_run_id", "dag_id dropped (the server sets it)"]),
    ({"conf": "{\"region\": \"eu\"}"}, False, {"conf": {"region": "eu"}},
     ["conf decoded from the JSON string it was sent as into the object it holds"]),
    ({"logical_date": "2024-05-01"}, False, {"logical_date": "2024-05-01T00:00:00Z"},
     ["logical_date '2024-05-01' read as UTC: 2024-05-01T00:00:00Z"]),
    ({"logical_dat": "2024-05-01T00:00:00Z"}, False, {}, ["logical_dat dropped (not a field of this version's trigger "
                                                          "body)"]),
])
def test_the_corrected_body_keeps_the_users_values_and_says_each_edit(payload, v3, corrected, said) -> None:
    version = "3.3.2" if v3 else "2.10.5"
    body, edits = corrected_body(payload, v3, version, PARAMS)
    assert body == corrected and edits == said
    assert schema_issues(body, v3, version) == []


def test_a_top_level_param_is_named_as_belonging_in_conf() -> None:
    issue = schema_issues({"region": "eu"}, False, "2.10.5", PARAMS)[0]
    assert issue.field == "region" and "a param of the DAG" in issue.problem and "inside 'conf'" in issue.problem


@pytest.mark.parametrize("sent, params, converted", [
    ({"batch_size": "5"}, PARAMS, {"batch_size": 5}),
    ({"batch_size": 5.0}, PARAMS, {"batch_size": 5}),
    ({"region": 42}, PARAMS, {"region": "42"}),
    ({"dry_run": "true"}, TYPED, {"dry_run": True}),
    ({"tables": "[\"a\", \"b\"]"}, TYPED, {"tables": ["a", "b"]}),
    ({"ratio": "0.25"}, TYPED, {"ratio": 0.25}),
    ({"batch_size": "ten"}, PARAMS, {"batch_size": "ten"}),
    ({"batch_size": "0"}, PARAMS, {"batch_size": "0"}),
])
def test_a_wrong_type_is_converted_only_where_the_meaning_is_clear(sent, params, converted) -> None:
    conf, notes = converted_params(sent, params)
    assert conf == converted
    assert bool(notes) == (conf != sent)


def run(payload, params=PARAMS, api="/api/v1"):
    ctx = check_context("http://h", api=api, version="2.10.5" if api == "/api/v1" else "3.3.2", payload=payload)
    ctx.facts.dag = DagInfo("doctor_required_param", False, True, False, "f.py", 16, params)
    return payload_schema.Check().run(ctx), ctx


def test_a_string_for_an_integer_param_is_converted_in_the_fix_and_the_finding_says_so() -> None:
    finding, ctx = run({"conf": {"region": "eu", "batch_size": "5"}})
    assert finding.status is Status.FAIL and "conf.batch_size: '5' is invalid for the param" in finding.summary
    assert json.loads(finding.fix.commands[0]) == {"conf": {"region": "eu", "batch_size": 5}} == ctx.facts.trigger_body
    assert 'conf.batch_size "5" converted to 5' in finding.fix.text


def test_params_sent_at_the_top_level_move_into_conf_without_a_placeholder() -> None:
    finding, ctx = run({"region": "eu", "batch_size": "7"})
    body = json.loads(finding.fix.commands[0])
    assert body == {"conf": {"region": "eu", "batch_size": 7}} == ctx.facts.trigger_body
    assert PLACEHOLDER.format(name="region") not in json.dumps(body) and "fill in" not in finding.fix.text
    assert "region, batch_size moved into conf" in finding.fix.text and finding.summary.startswith("3 problems")


def test_a_value_with_no_clear_conversion_gets_the_default_and_the_fix_says_whose_value_it_replaced() -> None:
    finding, _ = run({"conf": {"region": "eu", "batch_size": "ten"}})
    assert json.loads(finding.fix.commands[0]) == {"conf": {"region": "eu", "batch_size": 10}}
    assert 'conf.batch_size "ten" has no clear conversion' in finding.fix.text and "default 10" in finding.fix.text


def test_a_placeholder_only_for_a_param_the_user_never_sent() -> None:
    finding, _ = run({"conf": {"batch_size": 3}})
    assert json.loads(finding.fix.commands[0]) == {"conf": {"batch_size": 3, "region": "<FILL IN: region>"}}
    assert "fill in conf.region first" in finding.fix.text


def test_correct_alone_gives_the_same_body_the_check_prints() -> None:
    """working-request's fallback and the trial run use correct(): the same minimal edit, conversions included."""
    assert correct({"region": "eu", "batch_size": "7"}, False, "2.10.5", PARAMS) == {
        "conf": {"region": "eu", "batch_size": 7}}


FUTURE = "2030-01-01T00:00:00Z"


@pytest.mark.parametrize("label, api", [("airflow-2.10.5", "/api/v1"), ("airflow-3.3.2", "/api/v2")])
@responses.activate(assert_all_requests_are_fired=True)
def test_a_logical_date_ahead_of_the_servers_date_header_is_the_failure_and_the_fix_dates_the_run_now(
        label: str, api: str) -> None:
    """Replays the server's answers to the judge probe and the date lookup: their Date header is its clock."""
    from airflow_doctor.checks.readers.credentials import Credentials, Scheme

    replay(responses, "http://h", label, "trigger_future_probe")
    replay(responses, "http://h", label, "dagruns_future_lookup")
    v3 = api == "/api/v2"
    ctx = check_context("http://h", api=api, version=label.removeprefix("airflow-"),
                        payload={**({"logical_date": FUTURE} if v3 else {"execution_date": FUTURE}),
                                 "conf": {"batch_size": 5}})
    ctx.facts.credentials = Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password)
    details = json.loads(recorded(label, "details_demo")["body"])
    ctx.facts.dag = DagInfo("doctor_demo", False, True, False, "f.py", 16, PARAMS_DEMO, raw=details)
    finding = payload_schema.Check().run(ctx)
    server_date = recorded(label, "trigger_future_probe")["headers"]
    assert finding.status is Status.FAIL and finding.code is payload_schema.Code.DATE_AHEAD
    assert "ahead of the server's clock (2026-12-06T" in finding.summary and "Date" in finding.summary, server_date
    assert ("stays queued" if not v3 else "its tasks wait") in finding.summary
    assert "seen on " in finding.explanation and "dates the run now" in finding.why_ui_works
    assert json.loads(finding.fix.commands[0]) == ({"logical_date": None} if v3 else {}) | {"conf": {"batch_size": 5}}
    assert f'{"logical_date" if v3 else "execution_date"} "{FUTURE}" left out: ahead of the server\'s clock' in finding.fix.text


def test_without_credentials_the_date_is_compared_with_this_machines_clock_and_says_so() -> None:
    finding, _ = run({"logical_date": "2999-01-01T00:00:00Z", "conf": {"region": "eu"}})
    assert finding.code is payload_schema.Code.DATE_AHEAD and "this machine's clock" in finding.summary


@pytest.mark.parametrize("label, v3", [("airflow-2.10.5", False), ("airflow-3.3.2", True)])
def test_a_date_before_the_dags_start_date_is_a_run_that_does_nothing(label: str, v3: bool) -> None:
    details = json.loads(recorded(label, "details_demo")["body"])
    ctx = check_context("http://h", api="/api/v2" if v3 else "/api/v1", version=label.removeprefix("airflow-"),
                        payload={"logical_date": "2023-06-01T00:00:00Z", "conf": {"batch_size": 5}})
    ctx.facts.dag = DagInfo("doctor_demo", False, True, False, "f.py", 16, PARAMS_DEMO, raw=details)
    finding = payload_schema.Check().run(ctx)
    assert finding.code is payload_schema.Code.DATE_OUTSIDE
    assert "before the DAG's start_date 2024-01-01" in finding.summary
    assert "marked success at once without a single task instance" in finding.explanation
    assert json.loads(finding.fix.commands[0]) == ({"logical_date": None} if v3 else {}) | {"conf": {"batch_size": 5}}


def test_a_passed_end_date_says_the_fix_is_in_the_dag_and_is_worded_as_a_prediction() -> None:
    ctx = check_context("http://h", api="/api/v1", version="2.10.5", payload={"conf": {}, "logical_date":
                                                                               "2024-06-01T00:00:00Z"})
    ctx.facts.dag = DagInfo("d", False, True, False, "f.py", 16, {}, raw={"start_date": "2024-01-01T00:00:00+00:00",
                                                                         "end_date": "2024-03-01T00:00:00+00:00"})
    finding = payload_schema.Check().run(ctx)
    assert finding.code is payload_schema.Code.DATE_OUTSIDE and "end_date" in finding.summary
    assert "the fix is in the DAG" in finding.explanation and "a prediction" in finding.explanation
