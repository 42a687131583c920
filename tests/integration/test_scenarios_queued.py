"""Runs that would sit queued, on real Airflow 2.10.5 and 3.3.2: a pool with no open slot, max_active_runs and
max_active_tasks reached; on an Airflow 3.3.2 of its own, no scheduler and a scheduler that stopped. Each
headline names the cause, says why the UI appears to work (its trigger is accepted the same way), and the printed
fix, applied here, makes the check pass. Every run created is failed and deleted; the pool is deleted."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from typer.testing import CliRunner

from airflow_doctor.cli import app
from airflow_doctor.sandbox import stop_pids
from tests.integration.conftest import Server
from tests.integration.dags import QUEUE_HELD_DAG_ID, QUEUE_POOL
from tests.integration.test_server_claims import wait_for_scheduler_loops
from tests.integration.test_scenarios import result_of

pytestmark = pytest.mark.integration

DEADLINE = 300.0
"""A deadline, not a wait: a parse or a scheduler loop takes seconds on an idle machine, minutes on a loaded one."""


def diagnose(profile: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json", *extra])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)



def until(condition, what: str, deadline_s: float = DEADLINE) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {deadline_s:.0f} s"
        time.sleep(0.5)


def run_on_host(server: Server, command: str, env: dict[str, str] | None = None) -> str:
    """A printed fix command, run as printed on the Airflow host (this server's venv and environment)."""
    box = server.sandbox
    box._make_process_home("doctor-fix")
    done = subprocess.run(["/bin/sh", "-c", command], env={**box.process_environment("doctor-fix"), **(env or {})},
                          cwd=box.process_home("doctor-fix"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


@contextmanager
def empty_pool(server: Server) -> Iterator[None]:
    body = {"name": QUEUE_POOL, "slots": 0, "description": "airflow-doctor test: no slots"}
    created = server.api("POST", "/pools", json=body)
    assert created.status_code in (200, 201), created.text
    try:
        yield
    finally:
        server.api("DELETE", f"/pools/{QUEUE_POOL}")


def fail_and_delete_runs(server: Server, dag_id: str) -> None:
    """Failed first, and deleted only after the scheduler has looped past them: Airflow 2's scheduler exits
    (StaleDataError) when a run it is working on is deleted under it (seen here on 2.10.5)."""
    run_ids = server.run_ids(dag_id)
    for run_id in run_ids:
        server.api("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", json={"state": "failed"})
    if run_ids:
        wait_for_scheduler_loops(server)
    for run_id in run_ids:
        server.api("DELETE", f"/dags/{dag_id}/dagRuns/{run_id}")


def start_holder(server: Server) -> str:
    run_id = f"doctor_holder_{uuid.uuid4().hex[:8]}"
    body = {"dag_run_id": run_id, **({"logical_date": None} if server.major >= 3 else {})}
    answer = server.api("POST", f"/dags/{QUEUE_HELD_DAG_ID}/dagRuns", json=body)
    assert answer.status_code in (200, 201), answer.text
    until(lambda: server.api("GET", f"/dags/{QUEUE_HELD_DAG_ID}/dagRuns/{run_id}").json()["state"] == "running",
          f"the holder run {run_id} starting")
    return run_id


def record(server: Server, name: str, path: str) -> None:
    """With AIRFLOW_DOCTOR_RECORD=1: keep the server's answer (as admin) for the unit tests."""
    if os.environ.get("AIRFLOW_DOCTOR_RECORD"):
        from tests.integration.test_record import save

        save(server, name, server.api("GET", path))


def test_full_pool_and_reached_max_active_runs_are_named_and_the_printed_fixes_let_runs_start(
        airflow: Server, tmp_path: Path) -> None:
    until(lambda: airflow.api("GET", f"/dags/{QUEUE_HELD_DAG_ID}").status_code == 200, f"{QUEUE_HELD_DAG_ID} parsed")
    profile = airflow.profile(tmp_path, dag_id=QUEUE_HELD_DAG_ID, payload=None)
    for name, path in (("queue_demo_tasks", "/dags/doctor_demo/tasks"), ("queue_default_pool", "/pools/default_pool"),
                       ("queue_demo_runs", "/dags/doctor_demo/dagRuns?state=running&state=queued&limit=100"),
                       ("queue_demo_tasks_running", "/dags/doctor_demo/dagRuns/~/taskInstances?state=running&state=queued&limit=1")):
        record(airflow, name, path)
    try:
        with empty_pool(airflow):
            record(airflow, "queue_held_details", f"/dags/{QUEUE_HELD_DAG_ID}/details")
            record(airflow, "queue_held_tasks", f"/dags/{QUEUE_HELD_DAG_ID}/tasks")
            record(airflow, "queue_pool_empty", f"/pools/{QUEUE_POOL}")
            pooled = result_of(diagnose(profile), "paused")
            assert pooled["status"] == "fail" and pooled["code"] == "pool-slots-full", pooled  # 0 slots: never runs
            assert "would start but its task would never run" in pooled["summary"]
            assert f"pool '{QUEUE_POOL}' has 0 open slot(s) of 0" in pooled["summary"]
            assert "task 'needs_a_slot' needs 1" in pooled["summary"]
            assert "Dag Run Triggered" in pooled["why_ui_works"] and "it should start any moment now" in pooled["why_ui_works"]

            holder = start_holder(airflow)
            record(airflow, "queue_held_runs", f"/dags/{QUEUE_HELD_DAG_ID}/dagRuns?state=running&state=queued&limit=100")
            record(airflow, "queue_held_tasks_running",
                   f"/dags/{QUEUE_HELD_DAG_ID}/dagRuns/~/taskInstances?state=running&state=queued&limit=1")
            data = diagnose(profile)
            held = result_of(data, "paused")  # the named holder proves the wait: it fails, and leads over the pool
            assert held["status"] == "fail" and held["code"] == "max-active-runs-reached", held
            assert held["summary"].startswith(f"a triggered run of '{QUEUE_HELD_DAG_ID}' would wait in 'queued': "
                                              "max_active_runs reached"), held
            assert holder in held["summary"] and "max_active_runs is 1" in held["summary"]
            assert data["diagnosis"]["check_id"] == "paused" and data["diagnosis"]["code"] == "max-active-runs-reached"

            followed = result_of(diagnose(profile, "--trigger", "--yes", "--wait", "5"), "test-trigger")
            assert followed["status"] == "fail" and "is still queued" in followed["summary"], followed
            assert "max_active_runs reached" in followed["summary"] and holder in followed["summary"]
            assert followed["code"] == "max-active-runs-reached" and "Dag Run Triggered" in followed["why_ui_works"]

            fail_and_delete_runs(airflow, QUEUE_HELD_DAG_ID)
            freed = result_of(diagnose(profile), "paused")
            assert "max_active_runs" not in freed["summary"] and "open slot(s)" in freed["summary"], freed

            waiting = result_of(diagnose(profile, "--trigger", "--yes", "--wait", "5"), "test-trigger")
            # running with its task held (a warning), or still queued when the scheduler had not started it (the pool
            # then proves it never runs: a failure); either way the pool is named
            assert waiting["status"] in ("warn", "fail") and waiting["code"] == "pool-slots-full", waiting
            assert f"pool '{QUEUE_POOL}' has 0 open slot(s)" in waiting["summary"], waiting
            fail_and_delete_runs(airflow, QUEUE_HELD_DAG_ID)

            (command,) = freed["fix"]["commands"]
            assert command.startswith(f"airflow pools set {QUEUE_POOL} 1 "), command
            run_on_host(airflow, command)
            assert airflow.api("GET", f"/pools/{QUEUE_POOL}").json()["slots"] == 1
            passes = lambda: result_of(diagnose(profile), "paused")["status"] == "pass"  # noqa: E731
            until(passes, "the check passing once the pool has a slot (a scheduler restarting is reported meanwhile)")
    finally:
        fail_and_delete_runs(airflow, QUEUE_HELD_DAG_ID)
    assert airflow.run_ids(QUEUE_HELD_DAG_ID) == []


UNSCHEDULED_DAG_ID = "doctor_unscheduled"


STOPPED_AFTER_S = 10
"""[scheduler] scheduler_health_check_threshold of the no-scheduler sandbox: a stopped scheduler is reported soon."""


def record_with_date(server: Server, name: str, response: requests.Response) -> None:
    """As record(), keeping the Date header: the heartbeat's age is read against the server's clock."""
    if os.environ.get("AIRFLOW_DOCTOR_RECORD"):
        from tests.integration.test_record import RECORDED
        from tests.recorded.record import KEPT_HEADERS

        data = {"method": "GET", "path": response.request.path_url, "request_body": None,
                "status": response.status_code,
                "headers": {k: v for k, v in response.headers.items() if k.lower() in (*KEPT_HEADERS, "date")},
                "body": response.content.decode("utf-8", errors="replace")}
        (RECORDED / f"airflow-{server.version}" / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")


def test_no_scheduler_means_the_run_never_starts_and_starting_the_printed_scheduler_fixes_it(tmp_path: Path) -> None:
    """Its own Airflow 3.3.2 with no scheduler (the DAG serialized by `airflow dags reserialize`), stopped by PID; once
    the printed scheduler runs and the check passes, the scheduler is stopped again and named as just stopped."""
    from airflow_doctor.sandbox import DEFAULT_AIRFLOW, Sandbox, install
    from tests.integration.dags import dag_file

    if os.environ.get("AIRFLOW_DOCTOR_SKIP_INTEGRATION"):
        pytest.skip("AIRFLOW_DOCTOR_SKIP_INTEGRATION is set")
    install(DEFAULT_AIRFLOW)
    box = Sandbox(DEFAULT_AIRFLOW, tmp_path / "airflow", run_scheduler=False,
                  dag_files={f"{UNSCHEDULED_DAG_ID}.py": dag_file(UNSCHEDULED_DAG_ID)},
                  extra_env={"AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": str(STOPPED_AFTER_S)})
    box.root.mkdir()
    server = Server(box)
    try:
        box.prepare()
        box._run(["dags", "reserialize"], "reserialize")
        box.start_until_ready(dag_id=UNSCHEDULED_DAG_ID)
        profile = server.profile(tmp_path, dag_id=UNSCHEDULED_DAG_ID, payload=None)

        data = diagnose(profile)
        found = result_of(data, "paused")
        assert found["status"] == "fail", found
        assert found["summary"].startswith(f"a triggered run of {UNSCHEDULED_DAG_ID!r} would never start: no live "
                                           "scheduler"), found
        assert "no scheduler has ever sent a heartbeat" in found["summary"]
        assert "Dag Run Triggered" in found["why_ui_works"] and data["diagnosis"]["check_id"] == "paused"
        assert server.run_ids(UNSCHEDULED_DAG_ID) == []

        followed = result_of(diagnose(profile, "--trigger", "--yes", "--wait", "3", "--cleanup"), "test-trigger")
        assert followed["status"] == "fail" and "is still queued" in followed["summary"], followed
        assert "no live scheduler" in followed["summary"] and followed["code"] == "no-live-scheduler"
        assert server.run_ids(UNSCHEDULED_DAG_ID) == []

        (command,) = found["fix"]["commands"]
        assert command == "airflow scheduler"
        with box.log_path("scheduler").open("w") as out:  # started as printed, on the "Airflow host", and kept by PID
            scheduler = subprocess.Popen(["/bin/sh", "-c", f"exec {command}"], env=box.process_environment("scheduler"),
                                         cwd=box._make_process_home("scheduler"), stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        box.processes["scheduler"] = scheduler.pid
        passes = lambda: result_of(diagnose(profile), "paused")["status"] == "pass"  # noqa: E731
        until(passes, "the check passing once the printed scheduler runs")

        stop_pids([box.processes.pop("scheduler")])
        health = f"{box.url}/api/v2/monitor/health"
        until(lambda: requests.get(health, timeout=10).json()["scheduler"]["status"] == "unhealthy",
              "the stopped scheduler reported unhealthy")
        record_with_date(server, "health_scheduler_stopped", requests.get(health, timeout=10))
        stopped = result_of(diagnose(profile), "paused")
        assert stopped["status"] in ("warn", "fail"), stopped
        assert re.search(r"(the scheduler reports unhealthy|no live scheduler).*its last heartbeat was \d+ s before "
                         r"the server's clock", stopped["summary"]), stopped
    finally:
        box.stop()


def test_max_active_tasks_reached_is_named_and_clears_once_the_running_task_finishes(airflow: Server,
                                                                                    tmp_path: Path) -> None:
    """The holder's task sleeps far longer than the test; it finishes when the test marks it successful."""
    from tests.integration.dags import QUEUE_TASKS_DAG_ID

    until(lambda: airflow.api("GET", f"/dags/{QUEUE_TASKS_DAG_ID}").status_code == 200, f"{QUEUE_TASKS_DAG_ID} parsed")
    profile = airflow.profile(tmp_path, dag_id=QUEUE_TASKS_DAG_ID, payload=None)
    try:
        run_id = f"doctor_task_holder_{uuid.uuid4().hex[:8]}"
        body = {"dag_run_id": run_id, **({"logical_date": None} if airflow.major >= 3 else {})}
        assert airflow.api("POST", f"/dags/{QUEUE_TASKS_DAG_ID}/dagRuns", json=body).status_code in (200, 201)
        instances = f"/dags/{QUEUE_TASKS_DAG_ID}/dagRuns/{run_id}/taskInstances"
        until(lambda: [t["state"] for t in airflow.api("GET", instances).json()["task_instances"]] == ["running"],
              "the holder's task running")
        record(airflow, "queue_tasks_details", f"/dags/{QUEUE_TASKS_DAG_ID}/details")
        record(airflow, "queue_tasks_active",
               f"/dags/{QUEUE_TASKS_DAG_ID}/dagRuns/~/taskInstances?state=running&state=queued&limit=1")
        found = result_of(diagnose(profile), "paused")
        assert found["status"] == "warn", found
        assert re.search(r"max_active_tasks reached: \d+ task\(s\) of this DAG running or queued, max_active_tasks is 1",
                         found["summary"]), found
        assert "Wait for the running tasks" in found["fix"]["text"] and "Dag Run Triggered" in found["why_ui_works"]
        mark_success = {"new_state": "success", **({"dry_run": False} if airflow.major < 3 else {})}  # 2.x: dry by default
        finished = airflow.api("PATCH", f"{instances}/holds_the_task_slot", json=mark_success)
        assert finished.status_code == 200, finished.text  # the task ends as "Mark success" in the UI ends it
        until(lambda: result_of(diagnose(profile), "paused")["status"] == "pass", "the check passing")
    finally:
        fail_and_delete_runs(airflow, QUEUE_TASKS_DAG_ID)


def test_a_refused_pool_read_is_said_next_to_the_verdict_never_a_pass_and_a_grant_to_read_pools_clears_it(
        airflow: Server, tmp_path: Path) -> None:
    """Airflow 2 (FAB): an identity that may trigger doctor_demo but not read pools. The trigger is not affected, so
    paused warns (not fails) and quotes the 403; once its role may read pools, it passes."""
    from tests.integration.test_scenarios_permissions import security_api

    if airflow.major >= 3:
        pytest.skip("FAB roles: Airflow 2's own; Airflow 3's simple auth manager has no per-resource roles")
    tag = uuid.uuid4().hex[:8]
    user, password, role = f"doctor_no_pools_{tag}", f"no-pools-{tag}", f"doctor_no_pools_role_{tag}"
    grants = [("can_read", "DAG:doctor_demo"), ("can_edit", "DAG:doctor_demo"), ("can_read", "DAG Runs"),
              ("can_create", "DAG Runs"), ("can_read", "Task Instances")]
    actions = [{"action": {"name": a}, "resource": {"name": r}} for a, r in grants]
    assert security_api(airflow, "POST", "/roles", json={"name": role, "actions": actions}).status_code in (200, 201)
    try:
        added = security_api(airflow, "POST", "/users", json={
            "username": user, "password": password, "email": f"{user}@example.invalid", "first_name": "no",
            "last_name": "pools", "roles": [{"name": role}]})
        assert added.status_code in (200, 201), added.text
        profile = airflow.profile(tmp_path, user=user, password=password, payload=None)
        found = result_of(diagnose(profile), "paused")
        assert found["status"] == "warn" and found["code"] == "runs-will-start-unverified", found
        assert "the pool 'default_pool': 403" in found["summary"], found
        pool_read = security_api(airflow, "PATCH", f"/roles/{role}", json={"name": role, "actions": actions + [
            {"action": {"name": "can_read"}, "resource": {"name": "Pools"}}]})
        assert pool_read.status_code == 200, pool_read.text
        passed = result_of(diagnose(profile), "paused")
        assert passed["status"] == "pass" and passed["code"] == "runs-will-start", passed
    finally:
        security_api(airflow, "DELETE", f"/users/{user}")
        security_api(airflow, "DELETE", f"/roles/{role}")
