from __future__ import annotations

import pytest
import responses

from airflow_doctor.checks import dag_exists
from airflow_doctor.checks._credentials import Credentials, Scheme
from airflow_doctor.model import Status
from tests.conftest import check_context, replay

BASE = "http://airflow.test"
V2, V3 = "airflow-2.10.5", "airflow-3.3.2"


def ctx_for(label: str, dag_id: str):
    api, version = ("/api/v1", "2.10.5") if label == V2 else ("/api/v2", "3.3.2")
    ctx = check_context(BASE, api=api, version=version, dag_id=dag_id)
    ctx.facts.credentials = Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password)
    return ctx


@pytest.mark.parametrize("label", [V2, V3])
@responses.activate(assert_all_requests_are_fired=True)
def test_found_dag_records_params_and_state_for_later_checks(label: str) -> None:
    ctx = ctx_for(label, "doctor_demo")
    replay(responses, BASE, label, "details_demo")
    finding = dag_exists.Check().run(ctx)
    assert finding.status is Status.PASS and ctx.facts.dag is not None
    assert ctx.facts.dag.params["batch_size"]["schema"] == {"type": "integer", "minimum": 1}
    assert ctx.facts.dag.is_paused is False and ctx.facts.dag.is_active is True


@responses.activate(assert_all_requests_are_fired=True)
def test_wrong_case_dag_id_suggests_the_real_one() -> None:
    ctx = ctx_for(V3, "DOCTOR_DEMO")
    replay(responses, BASE, V3, "details_missing", path="/api/v2/dags/DOCTOR_DEMO/details")
    replay(responses, BASE, V3, "details_missing", path="/api/v2/dags/DOCTOR_DEMO")
    replay(responses, BASE, V3, "dags_list", path="/api/v2/dags?limit=100&order_by=dag_id")
    finding = dag_exists.Check().run(ctx)
    assert finding.status is Status.FAIL and "differs only in case" in finding.summary
    assert finding.fix is not None and finding.fix.commands == ("dag_id: doctor_demo",)


@responses.activate(assert_all_requests_are_fired=True)
def test_display_name_used_as_id_names_the_id() -> None:
    ctx = ctx_for(V2, "Doctor Display")
    replay(responses, BASE, V2, "details_missing", path="/api/v1/dags/Doctor%20Display/details")
    replay(responses, BASE, V2, "details_missing", path="/api/v1/dags/Doctor%20Display")
    replay(responses, BASE, V2, "dags_list", path="/api/v1/dags?limit=100&order_by=dag_id")
    finding = dag_exists.Check().run(ctx)
    assert "display name" in finding.summary and "doctor_display_id" in finding.summary


@responses.activate(assert_all_requests_are_fired=True)
def test_never_imported_file_is_found_through_import_errors() -> None:
    ctx = ctx_for(V2, "doctor_missing")
    replay(responses, BASE, V2, "details_missing", path="/api/v1/dags/doctor_missing/details")
    replay(responses, BASE, V2, "details_missing", path="/api/v1/dags/doctor_missing")
    replay(responses, BASE, V2, "dags_list", path="/api/v1/dags?limit=100&order_by=dag_id")
    replay(responses, BASE, V2, "import_errors")
    finding = dag_exists.Check().run(ctx)
    assert finding.status is Status.FAIL and "fails to import" in finding.summary
    assert "airflow_doctor_no_such_module" in finding.explanation


@responses.activate(assert_all_requests_are_fired=True)
def test_deleted_file_on_airflow_2_is_found_inactive_through_the_dag_row() -> None:
    ctx = ctx_for(V2, "doctor_stale")
    replay(responses, BASE, V2, "details_stale")
    replay(responses, BASE, V2, "dag_stale")
    finding = dag_exists.Check().run(ctx)
    assert finding.status is Status.FAIL and "inactive" in finding.summary and "404" in finding.summary


@pytest.mark.parametrize("label, code", [(V2, "400"), (V3, "404")])
@responses.activate(assert_all_requests_are_fired=True)
def test_broken_file_answers_400_on_airflow_2_and_404_on_airflow_3(label: str, code: str) -> None:
    ctx = ctx_for(label, "doctor_becomes_broken")
    replay(responses, BASE, label, "details_broken")
    replay(responses, BASE, label, "import_errors")
    finding = dag_exists.Check().run(ctx)
    assert finding.status is Status.FAIL and finding.summary.endswith(f"a trigger answers {code}"), finding.summary
    assert "airflow_doctor_no_such_module" in finding.explanation


@responses.activate(assert_all_requests_are_fired=True)
def test_dag_that_forbids_manual_runs() -> None:
    ctx = ctx_for(V3, "doctor_no_manual")
    replay(responses, BASE, V3, "details_no_manual")
    finding = dag_exists.Check().run(ctx)
    assert finding.status is Status.FAIL and "does not allow manual runs" in finding.summary


def test_no_dag_id_skips() -> None:
    ctx = ctx_for(V2, "x")
    ctx.profile = type(ctx.profile)("t", BASE, ctx.profile.auth, None)
    assert dag_exists.Check().run(ctx).status is Status.SKIP
