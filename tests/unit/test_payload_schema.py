"""The trigger-body rules; every 'server answers' claim here is verified in tests/integration/test_server_claims.py."""

from __future__ import annotations

import json

import pytest
import responses

from airflow_doctor.checks import payload_schema
from airflow_doctor.checks.readers.trigger_body import correct, schema_issues, without_refused_null_conf
from airflow_doctor.model import Status
from tests.conftest import check_context, replay

V2_PARAMS = {"batch_size": {"value": 10, "schema": {"type": "integer", "minimum": 1}}}


@pytest.mark.parametrize("payload, v3, fields, corrected", [
    ({"conf": {"x": 1}, "run_id": "custom_run_id_123"}, False, ["run_id"], {"conf": {"x": 1}, "dag_run_id": "custom_run_id_123"}),
    ({"conf": {"x": 1}, "run_id": "custom_run_id_123"}, True, ["run_id", "logical_date"],
     {"logical_date": None, "conf": {"x": 1}, "dag_run_id": "custom_run_id_123"}),
    ({"conf": {}, "run_id": None}, False, ["run_id"], {"conf": {}}),
    ({"conf": {}, "run_id": None}, True, ["run_id", "logical_date"], {"logical_date": None, "conf": {}}),
    ({"conf": "{\"a\": 1}"}, False, ["conf"], {"conf": {"a": 1}}),
    ({"logical_date": "2024-01-01"}, False, ["logical_date"], {"logical_date": "2024-01-01T00:00:00Z"}),
    ({"logical_date": None, "execution_date": "2024-01-01T00:00:00Z"}, True, ["execution_date"],
     {"logical_date": None}),
    ({"logical_date": None}, False, ["logical_date"], {}),
    ({"dag_run_id": "nightly run/1"}, False, ["dag_run_id"], {"dag_run_id": "nightly_run_1"}),
    ({"dag_id": "x", "state": "queued"}, False, ["dag_id", "state"], {}),
    ({"logical_date": None, "conf": None}, True, [], {"logical_date": None, "conf": None}),
    ({"dag_run_id": ""}, False, [], {}),
    ({"logical_date": None, "dag_run_id": ""}, True, [], {"logical_date": None}),
    ({"dag_run_id": "r" * 251}, False, ["dag_run_id"], {"dag_run_id": "r" * 250}),
    ({"logical_date": None, "dag_run_id": "r" * 251}, True, [], {"logical_date": None, "dag_run_id": "r" * 251}),
    ({"logical_date": 1700000000}, True, [], {"logical_date": 1700000000}),
    ({"logical_date": 1700000000}, False, ["logical_date"], {"logical_date": "2023-11-14T22:13:20Z"}),
])
def test_schema_table(payload: dict, v3: bool, fields: list[str], corrected: dict) -> None:
    version = "3.3.2" if v3 else "2.10.5"
    assert [i.field for i in schema_issues(payload, v3, version)] == fields
    assert correct(payload, v3, version) == corrected
    assert schema_issues(correct(payload, v3, version), v3, version) == []


def run(payload, api="/api/v1", params=None):
    ctx = check_context("http://h", api=api, version="2.10.5" if api == "/api/v1" else "3.3.2", payload=payload)
    if params is not None:
        from airflow_doctor.checks.base import DagInfo

        ctx.facts.dag = DagInfo("doctor_demo", False, True, False, "f.py", 16, params)
    return payload_schema.Check().run(ctx)


def test_conf_is_checked_against_the_dag_params_with_the_corrected_body() -> None:
    finding = run({"conf": {"batch_size": 0}}, params=V2_PARAMS)
    assert finding.status is Status.FAIL and "conf.batch_size" in finding.summary
    assert "0 is less than the minimum of 1" in finding.explanation
    assert "fills in and validates every param" in finding.why_ui_works
    assert "(expected: Airflow 2.10.5 answers 400 'Invalid input for param batch_size" in finding.explanation
    assert "the server answered" not in finding.explanation


def test_a_valid_payload_passes_and_a_fixed_date_warns_about_409() -> None:
    assert run({"conf": {"batch_size": 3}}, params=V2_PARAMS).status is Status.PASS
    finding = run({"logical_date": "2024-06-01T00:00:00Z", "conf": {}})
    assert finding.status is Status.WARN and "409" in finding.summary


def test_no_payload_skips_and_says_what_the_minimal_body_is() -> None:
    finding = run(None, api="/api/v2")
    assert finding.status is Status.SKIP and '{"logical_date": null, "conf": {}}' in finding.summary


def test_the_corrected_body_uses_param_defaults_and_leaves_the_profile_untouched() -> None:
    payload = {"conf": {"batch_size": "ten"}}
    finding = run(payload, params=V2_PARAMS)
    assert finding.fix is not None and finding.fix.commands == ('{"conf": {"batch_size": 10}}',)
    assert payload == {"conf": {"batch_size": "ten"}}


PROBE_422 = {"detail": [
    {"type": "timezone_aware", "loc": ["body", "logical_date"], "msg": "Input should have timezone info", "input": "x"},
    {"type": "extra_forbidden", "loc": ["body", "run_id"], "msg": "Extra inputs are not permitted", "input": "a"},
    {"type": "extra_forbidden", "loc": ["body", "airflow_doctor_probe"], "msg": "Extra inputs are not permitted",
     "input": True}]}
"""Airflow 3.3.2's answer to a body plus the probe field, as measured: every schema error at once, no run."""
NO_RUNS = {"dag_runs": [], "total_entries": 0}


def with_server(payload, api="/api/v2", params=None):
    from airflow_doctor.checks.readers.credentials import Credentials, Scheme
    from airflow_doctor.checks.base import DagInfo

    ctx = check_context("http://h", api=api, version="3.3.2" if api == "/api/v2" else "2.10.5", payload=payload)
    ctx.facts.credentials = Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password)
    ctx.facts.dag = DagInfo("doctor_demo", False, True, False, "f.py", 16, params or {})
    return ctx


@responses.activate
def test_airflow_3_judges_the_whole_body_with_a_probe_that_cannot_create_a_run_and_the_finding_says_so() -> None:
    responses.post("http://h/api/v2/dags/doctor_demo/dagRuns", json=PROBE_422, status=422)
    finding = payload_schema.Check().run(with_server({"logical_date": "2024-01-01", "run_id": "a", "conf": {}}))
    sent = json.loads(responses.calls[0].request.body)
    assert sent["airflow_doctor_probe"] is True and sent["run_id"] == "a"
    assert finding.status is Status.FAIL and "Airflow 3.3.2 judged the body itself" in finding.explanation
    assert "- logical_date: '2024-01-01' is not an RFC 3339 date-time" in finding.explanation
    assert "(the server answered: 422 timezone_aware 'Input should have timezone info')" in finding.explanation
    assert "(the server answered: 422 extra_forbidden" in finding.explanation and "expected:" not in finding.explanation
    assert "airflow_doctor_probe" not in finding.summary + finding.explanation.split(":", 1)[1]


@responses.activate
def test_airflow_2_names_every_field_error_once_the_types_are_valid_and_a_long_run_id_is_its_own() -> None:
    detail = "{'dag_run_id': ['Longer than maximum length 250.'], 'airflow_doctor_probe': ['Unknown field.']}"
    responses.post("http://h/api/v1/dags/doctor_demo/dagRuns", json={"detail": detail, "status": 400}, status=400)
    finding = payload_schema.Check().run(with_server({"dag_run_id": "r" * 300}, api="/api/v1"))
    assert finding.status is Status.FAIL and finding.summary.endswith("dag_run_id: is 300 characters long; Airflow 2 "
                                                                      "allows 250")
    assert "the server answered: 400 {'dag_run_id': ['Longer than maximum length 250.']}" in finding.explanation
    assert finding.fix is not None and json.loads(finding.fix.commands[0])["dag_run_id"] == "r" * 250


@responses.activate
def test_a_body_the_server_accepts_with_the_probe_passes_and_says_the_server_judged_it() -> None:
    detail = "{'airflow_doctor_probe': ['Unknown field.']}"
    responses.post("http://h/api/v1/dags/doctor_demo/dagRuns", json={"detail": detail, "status": 400}, status=400)
    finding = payload_schema.Check().run(with_server({"dag_run_id": "", "conf": {}}, api="/api/v1"))
    assert finding.status is Status.PASS and "Airflow 2.10.5 accepted its schema" in finding.summary


@pytest.mark.parametrize("payload, lookup, field", [
    ({"logical_date": None, "dag_run_id": "nightly_1", "conf": {}}, "/dagRuns/nightly_1", "dag_run_id"),
    ({"logical_date": "2024-05-01T00:00:00Z", "conf": {}}, "/dagRuns", "logical_date"),
])
@responses.activate
def test_a_fixed_run_id_or_date_that_already_exists_is_the_failure_and_the_corrected_body_drops_it(
        payload, lookup, field) -> None:
    responses.post("http://h/api/v2/dags/doctor_demo/dagRuns", status=422, json={"detail": [
        {"type": "extra_forbidden", "loc": ["body", "airflow_doctor_probe"], "msg": "Extra inputs are not permitted"}]})
    existing = {"dag_run_id": "nightly_1", "state": "success"}
    responses.get(f"http://h/api/v2/dags/doctor_demo{lookup}",
                  json=existing if lookup.endswith("nightly_1") else {"dag_runs": [existing], "total_entries": 1})
    ctx = with_server(payload)
    finding = payload_schema.Check().run(ctx)
    assert finding.status is Status.FAIL and f"{field}: " in finding.summary and "already" in finding.summary
    assert "409 'already exists'" in finding.explanation and "never repeats a run id" in finding.why_ui_works
    corrected = json.loads(finding.fix.commands[0])
    assert corrected == {"logical_date": None, "conf": {}} == ctx.facts.trigger_body


@responses.activate
def test_a_fixed_run_id_that_does_not_exist_yet_only_warns_about_the_second_trigger() -> None:
    responses.post("http://h/api/v2/dags/doctor_demo/dagRuns", status=422, json={"detail": [
        {"type": "extra_forbidden", "loc": ["body", "airflow_doctor_probe"], "msg": "Extra inputs are not permitted"}]})
    responses.get("http://h/api/v2/dags/doctor_demo/dagRuns/fresh_1", status=404, json={"detail": "not found"})
    finding = payload_schema.Check().run(with_server({"logical_date": None, "dag_run_id": "fresh_1"}))
    assert finding.status is Status.WARN and "409" in finding.summary


def test_a_json_list_body_is_a_payload_finding_with_an_object_to_send() -> None:
    finding = run([{"batch_size": 3}], api="/api/v2")
    assert finding.status is Status.FAIL and "the payload is a JSON list" in finding.summary
    assert finding.fix is not None and json.loads(finding.fix.commands[0]) == {"logical_date": None, "conf": {}}
    assert "expected: Airflow 3.3.2 answers 422 model_attributes_type" in finding.explanation and finding.why_ui_works


@responses.activate
def test_a_json_list_that_crashes_airflow_3_0_is_reported_with_the_servers_500_not_the_expected_422() -> None:
    replay(responses, "http://h", "airflow-3.0.6", "trigger_json_list")
    ctx = with_server([{"batch_size": 5}])
    ctx.facts.airflow_version = "3.0.6"
    finding = payload_schema.Check().run(ctx)
    assert finding.status is Status.FAIL and "the payload is a JSON list" in finding.summary
    assert "(the server answered: 500 Internal Server Error)" in finding.explanation
    assert "expected:" not in finding.explanation and "422" not in finding.explanation


@responses.activate
def test_a_null_conf_airflow_3_0_refuses_is_corrected_to_an_object_in_the_fix() -> None:
    replay(responses, "http://h", "airflow-3.0.6", "trigger_null_conf_probe")
    responses.get("http://h/api/v2/dags/doctor_demo/dagRuns", json=NO_RUNS)
    ctx = with_server({"logical_date": None, "conf": None})
    ctx.facts.airflow_version = "3.0.6"
    finding = payload_schema.Check().run(ctx)
    assert finding.status is Status.FAIL and "conf: Input should be a valid dictionary" in finding.summary
    assert "(the server answered: 422 dict_type 'Input should be a valid dictionary')" in finding.explanation
    assert json.loads(finding.fix.commands[0]) == {"logical_date": None, "conf": {}} == ctx.facts.trigger_body


def test_a_null_conf_is_kept_where_the_server_takes_it() -> None:
    assert without_refused_null_conf({"logical_date": None, "conf": None}, []) == {
        "logical_date": None, "conf": None}


def test_a_required_param_without_a_default_gets_a_marked_placeholder_and_a_note() -> None:
    params = {**V2_PARAMS, "region": {"value": None, "schema": {"type": "string"}}}
    ctx = check_context("http://h", api="/api/v1", version="2.10.5", payload={"conf": {"batch_size": 2}})
    from airflow_doctor.checks.base import DagInfo

    ctx.facts.dag = DagInfo("doctor_demo", False, True, False, "f.py", 16, params)
    finding = payload_schema.Check().run(ctx)
    assert finding.status is Status.FAIL and "conf.region: is required" in finding.summary
    assert json.loads(finding.fix.commands[0]) == {"conf": {"batch_size": 2, "region": "<FILL IN: region>"}}
    assert "fill in conf.region first" in finding.fix.text


@pytest.mark.parametrize("version, fields, corrected", [
    ("3.3.2", ["dag_run_id"], {"logical_date": None, "dag_run_id": "release.2024.1"}),
    ("3.2.2", [], {"logical_date": None, "dag_run_id": "release..2024..1"}),
])
def test_a_run_id_with_two_dots_is_refused_from_airflow_3_3_on(version: str, fields: list[str], corrected: dict) -> None:
    """Seen on real 3.3.2: 400 "The run_id 'a..b' must not contain '..' to prevent path traversal"; 3.2.2 takes it."""
    payload = {"logical_date": None, "dag_run_id": "release..2024..1"}
    issues = schema_issues(payload, True, version)
    assert [i.field for i in issues] == fields
    assert correct(payload, True, version) == corrected and schema_issues(corrected, True, version) == []
    if issues:
        assert "contains '..'" in issues[0].problem and "must not contain '..'" in issues[0].server_says


@responses.activate(assert_all_requests_are_fired=True)
def test_a_json_list_that_crashes_airflow_3_1_quotes_the_500_it_got_not_the_422_of_later_releases() -> None:
    from tests.conftest import replay

    ctx = with_server([{"batch_size": 5}])
    ctx.facts.airflow_version = "3.1.3"
    replay(responses, "http://h", "airflow-3.1.3", "trigger_list_body")
    finding = payload_schema.Check().run(ctx)
    assert finding.status is Status.FAIL and "the payload is a JSON list" in finding.summary
    assert "(the server answered: 500 Internal Server Error)" in finding.explanation, finding.explanation
    assert "expected:" not in finding.explanation
