"""The corrected body is a minimal edit of the user's: every value the server would take is kept, top-level DAG
inputs move into conf, a wrong type is converted where the meaning is clear and each edit is said; placeholders
only for what the user never sent."""

from __future__ import annotations

import json

import pytest

from airflow_doctor.checks import payload_schema
from airflow_doctor.checks.base import DagInfo
from airflow_doctor.checks.readers.trigger_body import (PLACEHOLDER, converted_params, correct, corrected_body,
                                                        schema_issues)
from airflow_doctor.model import Status
from tests.conftest import check_context

PARAMS = {"batch_size": {"value": 10, "schema": {"type": "integer", "minimum": 1}},
          "region": {"value": None, "schema": {"type": "string"}}}
"""doctor_required_param's params as its details answer gives them (a default, and one without)."""
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
