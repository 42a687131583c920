"""The trigger-body rules; every 'server answers' claim here is verified in tests/integration/test_server_claims.py."""

from __future__ import annotations

import pytest

from airflow_doctor.checks import payload_schema
from airflow_doctor.checks.payload_schema import correct, schema_issues
from airflow_doctor.model import Status
from tests.conftest import check_context

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
    assert "The UI's trigger form fills in and validates params" in finding.explanation


def test_a_valid_payload_passes_and_a_fixed_date_warns_about_409() -> None:
    assert run({"conf": {"batch_size": 3}}, params=V2_PARAMS).status is Status.PASS
    finding = run({"logical_date": "2030-01-01T00:00:00Z", "conf": {}})
    assert finding.status is Status.WARN and "409" in finding.summary


def test_no_payload_skips_and_says_what_the_minimal_body_is() -> None:
    finding = run(None, api="/api/v2")
    assert finding.status is Status.SKIP and '{"logical_date": null, "conf": {}}' in finding.summary


def test_the_corrected_body_uses_param_defaults_and_leaves_the_profile_untouched() -> None:
    payload = {"conf": {"batch_size": "ten"}}
    finding = run(payload, params=V2_PARAMS)
    assert finding.fix is not None and finding.fix.commands == ('{"conf": {"batch_size": 10}}',)
    assert payload == {"conf": {"batch_size": "ten"}}
