from __future__ import annotations

import json

import pytest
import responses

from airflow_doctor.checks import dag_exists
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.model import Status
from tests.conftest import check_context, recorded, replay

BASE = "http://airflow.test"
V2, V3 = "airflow-2.10.5", "airflow-3.3.2"
API = {V2: "/api/v1", V3: "/api/v2"}


def ctx_for(label: str, dag_id: str | None, health: dict | None = None):
    api, version = ("/api/v1", "2.10.5") if label == V2 else ("/api/v2", "3.3.2")
    ctx = check_context(BASE, api=api, version=version, dag_id=dag_id, health=health)
    ctx.facts.credentials = Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password)
    return ctx


def unknown_to_the_server(rsps, label: str, dag_id: str, visible: list[str] | None = None,
                          import_errors: bool = True) -> None:
    """GET /details and GET /dags/{id} 404; the DAG list holds `visible` (default: the recorded list)."""
    quoted = dag_id.replace(" ", "%20")
    replay(rsps, BASE, label, "details_missing", path=f"{API[label]}/dags/{quoted}/details")
    replay(rsps, BASE, label, "details_missing", path=f"{API[label]}/dags/{quoted}")
    if visible is None:
        replay(rsps, BASE, label, "dags_list", path=f"{API[label]}/dags?limit=100&order_by=dag_id")
    else:
        rsps.add("GET", f"{BASE}{API[label]}/dags?limit=100&order_by=dag_id",
                 json={"dags": [{"dag_id": d, "dag_display_name": d} for d in visible], "total_entries": len(visible)})
    if import_errors:
        replay(rsps, BASE, label, "import_errors")
    else:
        rsps.add("GET", f"{BASE}{API[label]}/importErrors?limit=100", json={"import_errors": [], "total_entries": 0})


@responses.activate(assert_all_requests_are_fired=True)
def test_a_close_id_never_replaces_the_import_error_of_the_dags_own_file() -> None:
    ctx = ctx_for(V3, "doctor_missing")
    unknown_to_the_server(responses, V3, "doctor_missing", visible=["doctor_demo", "doctor_missin"])
    finding = dag_exists.Check().run(ctx)
    assert finding.code is dag_exists.Code.NEVER_IMPORTED
    assert "fails to import" in finding.summary and "doctor_missin'" not in finding.summary
    assert not any("doctor_missin" in c for c in finding.fix.commands)
    assert "Did you mean 'doctor_missin'? It is a different DAG" in finding.explanation
    assert "'doctor_missin' in the list is another DAG" in finding.why_ui_works


@responses.activate(assert_all_requests_are_fired=True)
def test_a_close_id_is_a_question_never_the_fix() -> None:
    ctx = ctx_for(V2, "doctor_demos")
    unknown_to_the_server(responses, V2, "doctor_demos", import_errors=False)
    finding = dag_exists.Check().run(ctx)
    assert finding.code is dag_exists.Code.CLOSE_ID
    assert "did you mean 'doctor_demo'? that is a different DAG" in finding.summary
    assert finding.fix.commands == ("airflow dags list",)
    assert finding.why_ui_works


@pytest.mark.parametrize("visible, processor, blamed, code", [
    ([], "unhealthy", True, dag_exists.Code.NOT_PARSED),
    ([], None, True, dag_exists.Code.NOT_PARSED),
    (["doctor_demo"], "healthy", False, dag_exists.Code.NOT_FOUND),
    (["zzz_near_miss_doctor_parsed"], "unhealthy", False, dag_exists.Code.CLOSE_ID),
], ids=["stopped", "never-started", "running", "a-close-id-is-the-likelier-cause"])
@responses.activate(assert_all_requests_are_fired=True)
def test_dag_processor_is_blamed_only_when_health_shows_it_down_and_nothing_else_explains_the_id(
        visible: list[str], processor: str | None, blamed: bool, code: dag_exists.Code) -> None:
    ctx = ctx_for(V3, "zzz_near_miss_doctor_parse", health={"scheduler": "healthy", "dag_processor": processor})
    unknown_to_the_server(responses, V3, "zzz_near_miss_doctor_parse", visible=visible, import_errors=False)
    finding = dag_exists.Check().run(ctx)
    assert ("airflow dag-processor" in finding.fix.commands) is blamed, finding
    assert ("no dag-processor is running" in finding.summary) is blamed and finding.code is code
    if blamed:  # the id is questioned first, the dag-processor only after
        assert finding.summary.index("is the id right?") < finding.summary.index("dag-processor")
        assert finding.fix.commands == ("airflow dags list", "airflow dag-processor")


@responses.activate(assert_all_requests_are_fired=True)
def test_unknown_id_mentions_files_that_fail_to_import() -> None:
    ctx = ctx_for(V2, "orders_daily")
    unknown_to_the_server(responses, V2, "orders_daily", visible=["doctor_demo"])
    finding = dag_exists.Check().run(ctx)
    assert finding.code is dag_exists.Code.NOT_FOUND
    assert finding.summary == "no DAG has the id 'orders_daily' (1 visible to this identity)"
    assert "2 DAG file(s) fail to import" in finding.explanation
    assert finding.fix.commands == ("airflow dags list", "airflow dags list-import-errors")


@pytest.mark.parametrize("listed, says, code", [
    ("import_errors", "no longer defines it", dag_exists.Code.STALE),
    (None, "now fails to import", dag_exists.Code.NOW_BROKEN),
])
def test_a_stale_dag_still_flagged_broken_is_deleted_when_its_file_has_no_import_error(
        listed: str | None, says: str, code: dag_exists.Code) -> None:
    """Fresh 3.1.3 and 3.3.2 servers kept has_import_errors true on a DAG whose file was deleted while queued for
    parsing (CI, 2026-11-22); the import errors (recorded on 3.3.2) list other files only. Without that list the flag
    is all the evidence there is."""
    details = recorded(V3, "details_stale")
    body = {**json.loads(details["body"]), "has_import_errors": True}
    ctx = ctx_for(V3, "doctor_stale")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add("GET", f"{BASE}/api/v2/dags/doctor_stale/details", json=body)
        if listed:
            replay(rsps, BASE, V3, listed)
        else:
            rsps.add("GET", f"{BASE}/api/v2/importErrors?limit=100", status=403, json={"detail": "Forbidden"})
        finding = dag_exists.Check().run(ctx)
    assert finding.status is Status.FAIL and says in finding.summary, finding.summary
    assert finding.code is code
