"""Runs that would sit queued: what paused predicts and test-trigger observes, from answers recorded on real Airflow
2.10.5 and 3.3.2 (tests/integration/test_scenarios_queued.py records them and proves the claims live)."""

from __future__ import annotations

import json
import re

import pytest
import responses

from airflow_doctor.checks import dag_exists
from airflow_doctor.checks import trial_run
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.checks.base import TriggerOptions
from airflow_doctor.model import Status
from tests.conftest import check_context, recorded, replay

BASE = "http://airflow.test"
V2, V3 = "airflow-2.10.5", "airflow-3.3.2"
LABELS = pytest.mark.parametrize("label", [V2, V3])


def ctx_for(label: str, details: str, *, seen_earlier: bool = False):  # type: ignore[no-untyped-def]
    """A context after dag-exists. Unless `seen_earlier`, neither the scheduler's health nor the DAG's active run
    count is known from earlier checks (the recorded details were captured before the holder run started), so paused
    reads them itself."""
    api, version = ("/api/v1", "2.10.5") if label == V2 else ("/api/v2", "3.3.2")
    ctx = check_context(BASE, api=api, version=version, dag_id=None, health=None if seen_earlier else {"scheduler": None})
    ctx.facts.credentials = Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password)
    ctx.facts.dag = dag_exists.dag_info(json.loads(recorded(label, details)["body"]), ctx.facts.api)
    if not seen_earlier:
        ctx.facts.dag.active_runs = None
    return ctx


def replay_held(label: str, health: str = "health") -> None:
    for name in (health, "queue_held_runs", "queue_held_tasks_running", "queue_held_tasks", "queue_pool_empty"):
        replay(responses, BASE, label, name)


def holder_of(label: str) -> str:
    return json.loads(recorded(label, "queue_held_runs")["body"])["dag_runs"][0]["dag_run_id"]


@LABELS
@responses.activate(assert_all_requests_are_fired=True)
def test_a_test_run_still_queued_names_what_holds_it_now_not_counting_itself(label: str) -> None:
    ctx = ctx_for(label, "queue_held_details")
    ctx.trigger = TriggerOptions()
    replay(responses, BASE, label, "queue_held_details", path=ctx.facts.api_path("/dags/doctor_queue_held"))
    replay_held(label)
    run = trial_run.TestRun("doctor_own_run", "queued", None, "http://airflow.test/ui")
    finding = trial_run.waiting_run(ctx, run, 5.0)
    assert finding.status is Status.FAIL and "is still queued after 5 s: max_active_runs reached" in finding.summary
    assert finding.code == "max-active-runs-reached"
    assert f"(1 running, 0 queued: {holder_of(label)})" in finding.summary
    assert "pool 'doctor_queue_pool'" in finding.explanation and "Dag Run Triggered" in finding.why_ui_works


@LABELS
@responses.activate(assert_all_requests_are_fired=True)
def test_the_test_run_does_not_count_against_its_own_max_active_runs(label: str) -> None:
    ctx = ctx_for(label, "queue_held_details")
    replay_held(label)
    from airflow_doctor.checks.readers import queue

    assert queue.run_slots_blocker(ctx, "doctor_queue_held", own_run=holder_of(label)) is None
    assert queue.scheduler_blocker(ctx) is None
    assert queue.task_slots_blocker(ctx, "doctor_queue_held") is None
    assert [b.cause.split(" has")[0] for b in queue.pool_blockers(ctx, "doctor_queue_held")] == ["pool 'doctor_queue_pool'"]


@LABELS
@responses.activate(assert_all_requests_are_fired=True)
def test_tasks_running_at_max_active_tasks_make_a_new_runs_tasks_wait(label: str) -> None:
    from airflow_doctor.checks.readers import queue

    ctx = ctx_for(label, "queue_tasks_details")
    replay(responses, BASE, label, "queue_tasks_active")
    active = json.loads(recorded(label, "queue_tasks_active")["body"])["total_entries"]
    blocker = queue.task_slots_blocker(ctx, "doctor_queue_tasks")
    assert blocker is not None and not blocker.never_starts and blocker.code is queue.Code.TASK_SLOTS_FULL
    assert blocker.cause == f"max_active_tasks reached: {active} task(s) of this DAG running or queued, max_active_tasks is 1"
    assert "raise max_active_tasks" in blocker.fix


@responses.activate(assert_all_requests_are_fired=True)
def test_a_scheduler_that_stopped_moments_ago_is_named_with_its_heartbeat_age_on_the_servers_clock() -> None:
    from airflow_doctor.checks.readers import queue

    ctx = ctx_for(V3, "queue_held_details")
    replay(responses, BASE, V3, "health_scheduler_stopped")
    blocker = queue.scheduler_blocker(ctx)
    assert blocker is not None and not blocker.never_starts and blocker.code is queue.Code.SCHEDULER_RESTARTING
    assert re.fullmatch(r"the scheduler reports unhealthy \(its last heartbeat was \d s before the server's clock "
                        r"\(Date header\)\)", blocker.cause), blocker.cause
    assert blocker.commands == ("airflow scheduler",) and "stopped moments ago or is restarting" in blocker.explanation


@responses.activate(assert_all_requests_are_fired=True)
def test_a_date_header_in_the_minus_0000_zone_is_read_as_utc_like_every_other_server_clock() -> None:
    """RFC 5322's '-0000' (UTC, source zone unknown): the same instant as the recorded 'GMT' Date, so the same age."""
    from airflow_doctor.checks.readers import queue

    ctx = ctx_for(V3, "queue_held_details")
    data = recorded(V3, "health_scheduler_stopped")
    responses.add("GET", BASE + data["path"], body=data["body"], status=data["status"], content_type="application/json",
                  headers={"Date": data["headers"]["date"].replace("GMT", "-0000"), "Server": "uvicorn"})
    blocker = queue.scheduler_blocker(ctx)
    assert blocker is not None and "its last heartbeat was 2 s before the server's clock" in blocker.cause


@LABELS
@responses.activate(assert_all_requests_are_fired=True)
def test_a_started_test_run_whose_task_waits_for_a_full_pool_names_the_pool(label: str) -> None:
    ctx = ctx_for(label, "queue_held_details")
    ctx.trigger = TriggerOptions()
    for name in ("queue_held_tasks_running", "queue_held_tasks", "queue_pool_empty"):
        replay(responses, BASE, label, name)
    run = trial_run.TestRun("doctor_own_run", "running", None, "http://airflow.test/ui")
    finding = trial_run.waiting_run(ctx, run, 5.0)
    assert finding.status is Status.WARN and finding.code == "pool-slots-full"
    assert finding.summary.startswith("the test run doctor_own_run is running after 5 s, but its tasks wait: pool "
                                      "'doctor_queue_pool' has 0 open slot(s)")
    assert finding.fix.commands == ("airflow pools set doctor_queue_pool 1 'airflow-doctor test: no slots'",)


