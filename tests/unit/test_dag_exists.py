from __future__ import annotations

import json

import pytest
import responses
from responses import matchers

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
def test_wrong_case_dag_id_gives_the_real_id_as_the_fix() -> None:
    ctx = ctx_for(V3, "DOCTOR_DEMO")
    unknown_to_the_server(responses, V3, "DOCTOR_DEMO")
    finding = dag_exists.Check().run(ctx)
    assert finding.status is Status.FAIL and "differs only in case" in finding.summary
    assert finding.fix is not None and finding.fix.commands == ("dag_id: doctor_demo",)
    assert "ignores case" in finding.why_ui_works


@responses.activate(assert_all_requests_are_fired=True)
def test_display_name_used_as_id_names_the_id() -> None:
    ctx = ctx_for(V2, "Doctor Display")
    unknown_to_the_server(responses, V2, "Doctor Display")
    finding = dag_exists.Check().run(ctx)
    assert "display name" in finding.summary and "doctor_display_id" in finding.summary
    assert finding.fix.commands == ("dag_id: doctor_display_id",) and "display names" in finding.why_ui_works


@pytest.mark.parametrize("label", [V2, V3])
@responses.activate(assert_all_requests_are_fired=True)
def test_never_imported_file_is_reported_as_its_import_error(label: str) -> None:
    ctx = ctx_for(label, "doctor_missing")
    unknown_to_the_server(responses, label, "doctor_missing")
    finding = dag_exists.Check().run(ctx)
    assert finding.status is Status.FAIL
    assert "doctor_missing.py fails to import" in finding.summary
    assert "No module named 'airflow_doctor_no_such_module'" in finding.summary
    assert finding.fix.commands == ("airflow dags list-import-errors",) and "doctor_missing.py" in finding.fix.text
    assert "import error in the banner" in finding.why_ui_works


@responses.activate(assert_all_requests_are_fired=True)
def test_a_close_id_never_replaces_the_import_error_of_the_dags_own_file() -> None:
    ctx = ctx_for(V3, "doctor_missing")
    unknown_to_the_server(responses, V3, "doctor_missing", visible=["doctor_demo", "doctor_missin"])
    finding = dag_exists.Check().run(ctx)
    assert "fails to import" in finding.summary and "doctor_missin'" not in finding.summary
    assert not any("doctor_missin" in c for c in finding.fix.commands)
    assert "Did you mean 'doctor_missin'? It is a different DAG" in finding.explanation
    assert "'doctor_missin' in the list is another DAG" in finding.why_ui_works


@responses.activate(assert_all_requests_are_fired=True)
def test_a_close_id_is_a_question_never_the_fix() -> None:
    ctx = ctx_for(V2, "doctor_demos")
    unknown_to_the_server(responses, V2, "doctor_demos", import_errors=False)
    finding = dag_exists.Check().run(ctx)
    assert "did you mean 'doctor_demo'? that is a different DAG" in finding.summary
    assert finding.fix.commands == ("airflow dags list",)
    assert finding.why_ui_works


@pytest.mark.parametrize("visible, processor, blamed", [
    ([], "unhealthy", True),
    ([], None, True),
    (["doctor_demo"], "healthy", False),
    (["zzz_near_miss_doctor_parsed"], "unhealthy", False),
], ids=["stopped", "never-started", "running", "a-close-id-is-the-likelier-cause"])
@responses.activate(assert_all_requests_are_fired=True)
def test_dag_processor_is_blamed_only_when_health_shows_it_down_and_nothing_else_explains_the_id(
        visible: list[str], processor: str | None, blamed: bool) -> None:
    ctx = ctx_for(V3, "zzz_near_miss_doctor_parse", health={"scheduler": "healthy", "dag_processor": processor})
    unknown_to_the_server(responses, V3, "zzz_near_miss_doctor_parse", visible=visible, import_errors=False)
    finding = dag_exists.Check().run(ctx)
    assert (finding.fix.commands == ("airflow dag-processor",)) is blamed, finding
    assert ("no dag-processor is running" in finding.summary) is blamed


@responses.activate(assert_all_requests_are_fired=True)
def test_unknown_id_mentions_files_that_fail_to_import() -> None:
    ctx = ctx_for(V2, "orders_daily")
    unknown_to_the_server(responses, V2, "orders_daily", visible=["doctor_demo"])
    finding = dag_exists.Check().run(ctx)
    assert finding.summary == "no DAG has the id 'orders_daily' (1 visible to this identity)"
    assert "2 DAG file(s) fail to import" in finding.explanation
    assert finding.fix.commands == ("airflow dags list", "airflow dags list-import-errors")


@responses.activate(assert_all_requests_are_fired=True)
def test_deleted_file_on_airflow_2_is_found_inactive_and_the_404_is_the_servers_answer() -> None:
    ctx = ctx_for(V2, "doctor_stale")
    replay(responses, BASE, V2, "details_stale")
    replay(responses, BASE, V2, "dag_stale")
    replay(responses, BASE, V2, "probe_stale", match=[matchers.json_params_matcher(dag_exists.TRIGGER_PROBE)])
    finding = dag_exists.Check().run(ctx)
    assert finding.status is Status.FAIL and "inactive" in finding.summary
    assert "the trigger endpoint answered 404 (DAG with dag_id: 'doctor_stale' not found)" in finding.summary
    assert "refused the same way" in finding.why_ui_works


@responses.activate(assert_all_requests_are_fired=True)
def test_broken_file_on_airflow_2_quotes_the_400_the_server_gave_a_harmless_probe() -> None:
    ctx = ctx_for(V2, "doctor_becomes_broken")
    replay(responses, BASE, V2, "details_broken")
    replay(responses, BASE, V2, "import_errors")
    replay(responses, BASE, V2, "probe_broken", match=[matchers.json_params_matcher(dag_exists.TRIGGER_PROBE)])
    finding = dag_exists.Check().run(ctx)
    assert "answered 400 (DAG with dag_id: 'doctor_becomes_broken' has import errors) to a probe that cannot create a run" \
        in finding.summary
    assert "airflow_doctor_no_such_module" in finding.explanation and "cannot trigger it either" in finding.why_ui_works


@responses.activate(assert_all_requests_are_fired=True)
def test_broken_file_on_airflow_2_7_is_read_from_the_dag_row_when_the_details_do_not_say() -> None:
    """2.7.3 answers /details from the parsed DAG (has_import_errors null); its /dags/{dag_id} row says True."""
    ctx = ctx_for(V2, "doctor_becomes_broken")
    ctx.facts.airflow_version = "2.7.3"
    replay(responses, BASE, "airflow-2.7.3", "details_broken")
    replay(responses, BASE, "airflow-2.7.3", "dag_broken")
    replay(responses, BASE, V2, "import_errors")
    replay(responses, BASE, V2, "probe_broken", match=[matchers.json_params_matcher(dag_exists.TRIGGER_PROBE)])
    finding = dag_exists.Check().run(ctx)
    assert finding.status is Status.FAIL and "now fails to import" in finding.summary
    assert ctx.facts.dag is not None and ctx.facts.dag.has_import_errors is True


@responses.activate(assert_all_requests_are_fired=True)
def test_broken_file_on_airflow_3_says_what_that_version_answers_without_claiming_it_was_sent() -> None:
    ctx = ctx_for(V3, "doctor_becomes_broken")
    replay(responses, BASE, V3, "details_broken")
    replay(responses, BASE, V3, "import_errors")
    finding = dag_exists.Check().run(ctx)
    assert "Airflow 3.3.2 answers a trigger of it with 404" in finding.summary and "answered" not in finding.summary
    assert "doctor_becomes_broken.py" in finding.fix.text


@responses.activate(assert_all_requests_are_fired=True)
def test_dag_that_forbids_manual_runs() -> None:
    ctx = ctx_for(V3, "doctor_no_manual")
    replay(responses, BASE, V3, "details_no_manual")
    finding = dag_exists.Check().run(ctx)
    assert finding.status is Status.FAIL and "does not allow manual runs" in finding.summary
    assert "created by the schedule" in finding.why_ui_works


def test_no_dag_id_warns_naming_what_could_not_be_checked() -> None:
    finding = dag_exists.Check().run(ctx_for(V2, None))
    assert finding.status is Status.WARN
    for unchecked in ("dag-exists", "permissions", "paused", "payload's params"):
        assert unchecked in finding.summary
    assert finding.fix.commands == ("dag_id: <the DAG's id>",)


@pytest.mark.parametrize("listed, says", [
    ("import_errors", "no longer defines it"),
    (None, "now fails to import"),
])
def test_a_stale_dag_still_flagged_broken_is_deleted_when_its_file_has_no_import_error(listed: str | None,
                                                                                     says: str) -> None:
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
