"""Why a followed test run failed: the error a failed task's log ends with, and a task that failed without ever
starting. The never-started answers were recorded on a real Airflow 3.3.2 whose [core] execution_api_server_url
points at a closed port (tests/integration/test_trigger_execution_api.py reproduces it and applies the fix)."""

from __future__ import annotations

import json

import responses

from airflow_doctor.checks import dag_exists, trial_run
from airflow_doctor.checks.base import TriggerOptions
from airflow_doctor.checks.readers import run_outcome
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.model import Status
from tests.conftest import check_context, recorded, replay

BASE = "http://airflow.test"
V3 = "airflow-3.3.2"


def test_the_error_a_text_log_ends_with_is_its_tracebacks_last_line() -> None:
    lines = ["[2025-01-01] {taskinstance.py:3310} ERROR - Task failed with exception", "Traceback (most recent call last):",
             '  File "/dags/x.py", line 3, in explode', "    raise RuntimeError(\"fails on purpose\")",
             "RuntimeError: fails on purpose", "[2025-01-01] {taskinstance.py:1225} INFO - Marking task as FAILED."]
    assert run_outcome.error_of(lines) == "RuntimeError: fails on purpose"
    assert run_outcome.error_of(["airflow.exceptions.AirflowException: Bash command failed"]) == (
        "airflow.exceptions.AirflowException: Bash command failed")
    assert run_outcome.error_of(["INFO - all good", "Error: not an exception line"]) is None


def test_the_error_of_airflow_3_structured_events_is_their_error_detail() -> None:
    events = {"content": [{"timestamp": "t", "event": "Task failed with exception", "level": "error",
                           "error_detail": [{"exc_type": "KeyError", "exc_value": "'region'"}]}]}
    assert run_outcome.error_of(trial_run._log_lines(events, json.dumps(events))) == "KeyError: 'region'"


def never_started_context():  # type: ignore[no-untyped-def]
    ctx = check_context(BASE, api="/api/v2", version="3.3.2", dag_id="doctor_exec_api")
    ctx.facts.credentials = Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password)
    details = json.loads(recorded(V3, "details_demo")["body"]) | {"dag_id": "doctor_exec_api"}
    ctx.facts.dag = dag_exists.dag_info(details, ctx.facts.api)
    ctx.trigger = TriggerOptions()
    return ctx


@responses.activate(assert_all_requests_are_fired=True)
def test_a_task_that_failed_without_starting_on_airflow_3_points_at_the_execution_api_url() -> None:
    ctx = never_started_context()
    tis = recorded(V3, "exec_api_unreached_task_instances")
    run_id = json.loads(tis["body"])["task_instances"][0]["dag_run_id"]
    replay(responses, BASE, V3, "exec_api_unreached_task_instances")
    replay(responses, BASE, V3, "exec_api_unreached_event_logs")  # the scheduler's 'state mismatch', asked by name
    run = trial_run.TestRun(run_id, "failed", None, f"{BASE}/dags/doctor_exec_api/runs/{run_id}")
    finding = trial_run.failed_run(ctx, run, [])
    assert finding.status is Status.FAIL and finding.code == "test-run-task-never-reached-execution-api"
    assert "task 'say_hello' failed without ever starting (no start date, no host)" in finding.summary
    assert "execution_api_server_url" in finding.summary
    assert ("The scheduler recorded: \"Executor LocalExecutor(parallelism=4) reported that the task instance"
            in finding.explanation and "state attribute is queued" in finding.explanation)
    assert "Learn more" not in finding.explanation
    assert finding.fix is not None and finding.fix.commands == (
        f"export AIRFLOW__CORE__EXECUTION_API_SERVER_URL={BASE}/execution/", f"curl -sS {BASE}/execution/health")
    assert finding.why_ui_works.startswith("Not the trigger")


@responses.activate(assert_all_requests_are_fired=True)
def test_a_task_that_failed_without_starting_on_airflow_2_sends_you_to_the_workers_log() -> None:
    """Its event log unread (no answer): the explanation stands on the task instance alone."""
    ctx = check_context(BASE, api="/api/v1", version="2.10.5", dag_id="doctor_demo")
    ctx.facts.credentials = Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password)
    ctx.facts.dag = dag_exists.dag_info(json.loads(recorded("airflow-2.10.5", "details_demo")["body"]), ctx.facts.api)
    responses.add("GET", f"{BASE}/api/v1/eventLogs", body=ConnectionRefusedError(111, "Connection refused"))
    found = run_outcome.explain_never_started(ctx, "r1", "hello")
    assert found.code is run_outcome.Code.NEVER_STARTED and "worker's log" in found.explanation
    assert "execution" not in found.explanation


@responses.activate(assert_all_requests_are_fired=True)
def test_the_schedulers_words_are_quoted_with_their_secrets_masked() -> None:
    """A canary in the event log's text (an executor's 'Extra info' can carry a connection URI)."""
    ctx = never_started_context()
    events = recorded(V3, "exec_api_unreached_event_logs")
    body = json.loads(events["body"])
    body["event_logs"][0]["extra"] = body["event_logs"][0]["extra"].replace(
        "finished with state failed", "finished with state failed (postgresql://etl:leak-canary-7c1e@db/orders)")
    responses.add("GET", BASE + events["path"], json=body)
    said = run_outcome.mismatch_event(ctx, json.loads(recorded(V3, "exec_api_unreached_task_instances")["body"])
                                      ["task_instances"][0]["dag_run_id"], "say_hello")
    assert said is not None and "postgresql://etl:***@db/orders" in said and "leak-canary-7c1e" not in said
