from __future__ import annotations

import pytest
import responses
from responses import matchers

from airflow_doctor.checks import dag_exists, paused, permissions
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.model import Status
from tests.conftest import check_context, recorded, replay

BASE = "http://airflow.test"
V2, V3 = "airflow-2.10.5", "airflow-3.3.2"


def ctx_with_dag(label: str, details: str = "details_demo", **kw):
    api, version = ("/api/v1", "2.10.5") if label == V2 else ("/api/v2", "3.3.2")
    ctx = check_context(BASE, api=api, version=version, **kw)
    ctx.facts.credentials = Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password)
    import json

    ctx.facts.dag = dag_exists.dag_info(json.loads(recorded(label, details)["body"]), ctx.facts.api)
    return ctx


@pytest.mark.parametrize("label, body", [(V2, permissions.V1_PROBE), (V3, permissions.V2_PROBE)])
@responses.activate(assert_all_requests_are_fired=True)
def test_permission_probe_rejected_after_authorization_means_allowed(label: str, body: dict) -> None:
    ctx = ctx_with_dag(label)
    replay(responses, BASE, label, "probe_admin", match=[matchers.json_params_matcher(body)])
    finding = permissions.Check().run(ctx)
    assert finding.status is Status.PASS and "no run was created" in finding.details[0]


@responses.activate(assert_all_requests_are_fired=True)
def test_airflow_2_viewer_gets_the_permissions_it_lacks_named() -> None:
    ctx = ctx_with_dag(V2)
    ctx.facts.identity = "viewer"
    replay(responses, BASE, V2, "probe_viewer")
    finding = permissions.Check().run(ctx)
    assert finding.status is Status.FAIL and "may not trigger" in finding.summary
    assert "'can edit' on DAGs" in finding.explanation and "'can create' on DAG Runs" in finding.explanation


@responses.activate(assert_all_requests_are_fired=True)
def test_airflow_3_viewer_gets_its_entry_as_configuration_and_is_warned_the_setting_is_the_whole_list() -> None:
    ctx = ctx_with_dag(V3)
    ctx.facts.identity, ctx.facts.role = "admin (user id 2)", "viewer"
    replay(responses, BASE, V3, "probe_viewer")
    finding = permissions.Check().run(ctx)
    assert finding.status is Status.FAIL and "role viewer" in finding.summary
    assert finding.fix.commands == ("admin:user",)
    assert "keep every other entry" in finding.fix.text and "restart the api-server" in finding.fix.text
    assert "another user" in finding.why_ui_works


@pytest.mark.parametrize("identity", ["viewer", "viewer (user id 7)"])
@responses.activate(assert_all_requests_are_fired=True)
def test_add_role_command_names_the_login_not_the_identity_shown(identity: str) -> None:
    ctx = ctx_with_dag(V2, username="viewer")
    ctx.facts.credentials = Credentials(Scheme.BASIC, "viewer", ctx.profile.auth.password)
    ctx.facts.identity = identity
    replay(responses, BASE, V2, "probe_viewer")
    finding = permissions.Check().run(ctx)
    assert finding.fix.commands == ("airflow users add-role -u viewer -r User",)
    assert "users create" not in finding.fix.text and finding.why_ui_works


@pytest.mark.parametrize("check", [permissions.Check(), paused.Check()], ids=lambda c: c.id)
def test_without_a_dag_there_is_nothing_to_ask_so_the_check_skips_saying_why(check) -> None:
    ctx = ctx_with_dag(V2)
    ctx.facts.dag = None
    finding = check.run(ctx)
    assert finding.status is Status.SKIP and "no dag_id" in finding.summary


@pytest.mark.parametrize("label, version", [(V2, "2.10.5"), (V3, "3.3.2")])
def test_paused_dag_fails_with_the_ui_auto_unpause_as_why_the_ui_works(label: str, version: str) -> None:
    ctx = ctx_with_dag(label, "details_paused")
    finding = paused.Check().run(ctx)
    assert finding.status is Status.FAIL and "is paused" in finding.summary
    assert f"Airflow {version} accepts a trigger of a paused DAG" in finding.summary
    assert "unpauses the DAG first" in finding.why_ui_works
    assert finding.fix.commands[0] == "airflow dags unpause doctor_paused"


@pytest.mark.parametrize("auth_type, expected", [
    ("basic", "-u admin:\"$AIRFLOW_PASSWORD\""),
    ("token", "-H \"Authorization: Bearer $AIRFLOW_TOKEN\""),
    ("jwt", "-H \"Authorization: Bearer $JWT\""),
])
def test_unpause_curl_runs_as_printed_with_only_the_secret_in_the_environment(auth_type: str, expected: str) -> None:
    ctx = ctx_with_dag(V3, "details_paused", auth_type=auth_type, token="tok" if auth_type == "token" else None)
    scheme = Scheme.BASIC if auth_type == "basic" else Scheme.BEARER
    ctx.facts.credentials = Credentials(scheme, "admin" if auth_type != "token" else "", ctx.profile.auth.password)
    curl = paused.Check().run(ctx).fix.commands[1]
    assert "<" not in curl and "***" not in curl and expected in curl
    assert curl.splitlines()[-1].startswith("curl -sS --fail-with-body -X PATCH http://airflow.test/api/v2/dags/doctor_paused ")
    assert ("/auth/token" in curl) is (auth_type == "jwt")


FAB3 = "airflow-3.3.2-fab"


def fab_ctx(label: str, user: str):  # type: ignore[no-untyped-def]
    api, version = ("/api/v1", "2.10.5") if label == V2 else ("/api/v2", "3.3.2")
    ctx = check_context(BASE, api=api, version=version, username=user)
    ctx.facts.credentials = Credentials(Scheme.BASIC, user, ctx.profile.auth.password)
    ctx.facts.identity = user
    import json

    ctx.facts.dag = dag_exists.dag_info(json.loads(recorded(label, "details_demo_dag_level")["body"]), ctx.facts.api)
    return ctx


@pytest.mark.parametrize("label", [V2, FAB3])
@responses.activate(assert_all_requests_are_fired=True)
def test_dag_level_access_without_dag_run_create_names_the_missing_permission_and_the_grant(label: str) -> None:
    ctx = fab_ctx(label, "dag_level_user")
    replay(responses, BASE, label, "probe_dag_level")
    replay(responses, BASE, label, "edit_probe_dag_level")
    finding = permissions.Check().run(ctx)
    assert finding.status is Status.FAIL
    assert finding.summary == ("dag_level_user may edit 'doctor_demo' but may not trigger it (403): missing 'can create "
                               "on DAG Runs'")
    assert "'can edit' on DAG:doctor_demo" in finding.explanation and "access_control" in finding.explanation
    assert finding.fix.commands == ('airflow roles add-perms "$ROLE" -r "DAG Runs" -a can_create',)
    assert ("cache_ttl" in finding.fix.text) is (label == FAB3)
    assert ("greyed out" in finding.why_ui_works) is (label == V2) and "another user" in finding.why_ui_works


@pytest.mark.parametrize("label", [V2, FAB3])
@responses.activate(assert_all_requests_are_fired=True)
def test_a_viewer_refused_the_edit_probe_too_is_told_can_edit_is_missing_and_given_the_user_role(label: str) -> None:
    ctx = fab_ctx(label, "viewer")
    replay(responses, BASE, label, "probe_viewer")
    replay(responses, BASE, label, "edit_probe_viewer")
    finding = permissions.Check().run(ctx)
    assert finding.status is Status.FAIL and finding.summary == "viewer may not trigger 'doctor_demo' (403)"
    assert "'can edit' on DAG:doctor_demo is missing at least" in finding.explanation
    assert finding.fix.commands == ("airflow users add-role -u viewer -r User",)
