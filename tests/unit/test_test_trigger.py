from __future__ import annotations

import json

import responses

from airflow_doctor.checks import test_trigger
from airflow_doctor.checks._credentials import Credentials, Scheme
from airflow_doctor.checks.base import DagInfo, TriggerOptions
from airflow_doctor.model import Status
from tests.conftest import check_context


def ctx_for(api: str = "/api/v2", payload=None, confirm=lambda plan: True):
    ctx = check_context("http://airflow.test", api=api, version="3.3.2" if api == "/api/v2" else "2.10.5",
                        payload=payload)
    ctx.facts.credentials = Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password)
    ctx.facts.dag = DagInfo("doctor_demo", False, True, False, "f.py", 16, {})
    ctx.trigger = TriggerOptions(wait=0, confirm=confirm)
    return ctx


@responses.activate(assert_all_requests_are_fired=True)
def test_declining_at_the_prompt_sends_nothing() -> None:
    plans = []
    finding = test_trigger.Check().run(ctx_for(payload={"conf": {"api_key": "k-123"}},
                                               confirm=lambda plan: plans.append(plan) or False))
    assert finding.status is Status.SKIP and "nothing was sent" in finding.summary
    assert "k-123" not in plans[0] and '"api_key": "***"' in plans[0]
    assert "POST http://airflow.test/api/v2/dags/doctor_demo/dagRuns" in plans[0]


def test_without_trigger_the_check_never_runs() -> None:
    ctx = ctx_for()
    ctx.trigger = None
    assert test_trigger.Check().run(ctx).summary.startswith("skipped: not requested")


def test_the_body_keeps_conf_and_marks_the_run_as_the_doctors() -> None:
    body = test_trigger.trigger_body({"conf": {"x": 1}, "logical_date": "2024-01-01T00:00:00Z", "run_id": "a"}, True, "3.3.2")
    assert body["logical_date"] is None and body["conf"] == {"x": 1} and body["note"].startswith("Test run created")
    assert body["dag_run_id"].startswith("airflow_doctor__") and "run_id" not in body
    assert "logical_date" not in test_trigger.trigger_body({}, False, "2.10.5")


def test_log_lines_from_airflow_3_events_and_airflow_2_text() -> None:
    events = {"content": [{"event": "::group::Log message source details"},
                          {"timestamp": "t", "event": "Task failed with exception", "level": "error",
                           "error_detail": [{"exc_type": "RuntimeError", "exc_value": "boom"}]}]}
    assert test_trigger._log_lines(events, json.dumps(events))[-1] == "RuntimeError: boom"
    airflow2 = {"content": "[('host', 'line one\\nline two')]"}
    assert test_trigger._log_lines(airflow2, "") == ["line one", "line two"]
    assert test_trigger._log_lines(None, "plain\ntext") == ["plain", "text"]


@responses.activate(assert_all_requests_are_fired=True)
def test_a_refused_trigger_fails_with_the_servers_words() -> None:
    from tests.conftest import replay

    replay(responses, "http://airflow.test", "airflow-3.3.2", "trigger_duplicate", path="/api/v2/dags/doctor_demo/dagRuns")
    finding = test_trigger.Check().run(ctx_for())
    assert finding.status is Status.FAIL and finding.summary.startswith("the trigger was refused: 409")
