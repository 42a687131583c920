from __future__ import annotations

import pytest
import responses
from responses import matchers

from airflow_doctor.checks import dag_exists, paused, permissions
from airflow_doctor.checks._credentials import Credentials, Scheme
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
def test_airflow_3_viewer_is_told_which_role_to_give_it() -> None:
    ctx = ctx_with_dag(V3)
    ctx.facts.identity, ctx.facts.role = "viewer", "viewer"
    replay(responses, BASE, V3, "probe_viewer")
    finding = permissions.Check().run(ctx)
    assert finding.status is Status.FAIL and "role viewer" in finding.summary
    assert any("viewer:user" in c for c in finding.fix.commands)


@pytest.mark.parametrize("label", [V2, V3])
def test_paused_dag_fails_with_the_ui_auto_unpause_explained(label: str) -> None:
    ctx = ctx_with_dag(label, "details_paused")
    finding = paused.Check().run(ctx)
    assert finding.status is Status.FAIL and "is paused" in finding.summary
    assert "Unpause" in finding.explanation and finding.fix.commands[0] == "airflow dags unpause doctor_paused"


@responses.activate(assert_all_requests_are_fired=True)
def test_unpaused_dag_counts_run_slots() -> None:
    ctx = ctx_with_dag(V2)
    replay(responses, BASE, V2, "dagruns_running")
    finding = paused.Check().run(ctx)
    assert finding.status is Status.PASS and "0 of 16 run slots in use" in finding.summary
    ctx3 = ctx_with_dag(V3)
    assert paused.Check().run(ctx3).summary.endswith("run slots in use")


def test_unhealthy_scheduler_warns_that_a_run_would_wait() -> None:
    ctx = ctx_with_dag(V3, health={"metadatabase": "healthy", "scheduler": "unhealthy"})
    finding = paused.Check().run(ctx)
    assert finding.status is Status.WARN and "no healthy scheduler" in finding.summary
