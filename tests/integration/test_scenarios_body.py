"""The script's body against what the server knows, on real servers: the user's body is sent as the script sends
it (to see the server's answer the finding explains), the doctor names the cause, why the UI works and a
corrected body that keeps the user's values, and both printed snippets are executed: the server creates the run.
Every run a test creates is deleted."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.snippets import run_printed_snippets
from tests.integration.test_server_claims import wait_for_scheduler_loops
from tests.integration.conftest import Server, settled
from tests.integration.dags import REQUIRED_PARAM_DAG_ID

pytestmark = pytest.mark.integration

BODY_SERVERS = ("2.10.5", "2.11.2", "3.2.2", "3.3.2")
DEMO = "doctor_demo"
"""Unpaused, schedule None, start_date 2024-01-01, a batch_size param (default 10)."""
SCHEDULER_LOOPS = 2
"""How many more scheduler heartbeats a test waits for before it says a run's task did not start: each follows at
least one scheduling loop that could have started it (a fixed sleep proves nothing on a loaded machine, where the
scheduler may not have run at all)."""


@pytest.fixture(params=BODY_SERVERS, ids=lambda key: f"airflow-{key}")
def server(request: pytest.FixtureRequest, airflow_servers: dict[str, Server]) -> Server:
    return settled(airflow_servers[request.param])


def check(profile: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json"])
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def result_of(data: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(r for r in data["results"] if r["check_id"] == check_id)


def send_as_the_script(server: Server, dag_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    """The user's own body, sent as their script sends it (admin credentials)."""
    return server.api("POST", f"/dags/{dag_id}/dagRuns", json=body)


def watched(server: Server, dag_id: str, run_id: str) -> tuple[str, list[str | None]]:
    """The run's state and its tasks' states after the scheduler looped SCHEDULER_LOOPS more times."""
    wait_for_scheduler_loops(server, SCHEDULER_LOOPS)
    run = server.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json()
    tasks = server.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
    return run["state"], [t["state"] for t in tasks]


def dated(server: Server, date: str | None, **rest: Any) -> dict[str, Any]:
    return {**({"logical_date": date} if date or server.major >= 3 else {}), **rest}


def test_a_logical_date_ahead_of_the_server_clock_is_a_run_that_waits_and_the_snippet_dates_it_now(
        server: Server, tmp_path: Path) -> None:
    future = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run_id = f"doctor_body_future_{os.getpid()}"
    sent = send_as_the_script(server, DEMO, dated(server, future, dag_run_id=run_id, conf={"batch_size": 5}))
    try:
        assert sent.status_code == 200, sent.text
        assert watched(server, DEMO, run_id) == ("queued" if server.major == 2 else "running", [None])
    finally:
        server.delete_run(DEMO, run_id)
    data = check(server.profile(tmp_path, dag_id=DEMO, payload=dated(server, future, conf={"batch_size": 5})))
    schema = result_of(data, "payload-schema")
    assert schema["status"] == "fail" and schema["code"] == "logical-date-ahead", schema
    assert "ahead of the server's clock" in schema["summary"] and "the run then waits" in schema["summary"]
    assert "dates the run now" in schema["why_ui_works"]
    body = json.loads(schema["fix"]["commands"][0])
    assert body["conf"] == {"batch_size": 5} and body.get("logical_date") is None
    assert f"logical_date \"{future}\" left out" in schema["fix"]["text"]
    assert future not in json.dumps(data["working_request"]["snippets"])
    runs = run_printed_snippets(server, data, DEMO)
    assert all(r["conf"] == {"batch_size": 5} for r in runs)


def test_a_logical_date_before_the_dags_start_date_is_named_and_the_snippet_dates_it_now(
        server: Server, tmp_path: Path) -> None:
    run_id = f"doctor_body_before_{os.getpid()}"
    sent = send_as_the_script(server, DEMO, dated(server, "2023-06-01T00:00:00Z", dag_run_id=run_id))
    try:
        assert sent.status_code == 200, sent.text
        assert watched(server, DEMO, run_id) == ("success", [])
    finally:
        server.delete_run(DEMO, run_id)
    data = check(server.profile(tmp_path, dag_id=DEMO, payload=dated(server, "2023-06-01T00:00:00Z",
                                                                     conf={"batch_size": 5})))
    schema = result_of(data, "payload-schema")
    assert schema["status"] == "fail" and schema["code"] == "logical-date-outside-dag", schema
    assert "before the DAG's start_date 2024-01-01" in schema["summary"]
    assert "dates the run now" in schema["why_ui_works"]
    assert "marked success at once without a single task instance" in schema["explanation"]
    assert "2023-06-01" not in json.dumps(data["working_request"]["snippets"])
    runs = run_printed_snippets(server, data, DEMO)
    assert all(r["conf"] == {"batch_size": 5} for r in runs)


def test_params_sent_at_the_top_level_move_into_conf_with_the_users_values_and_the_snippet_creates_the_run(
        server: Server, tmp_path: Path) -> None:
    payload = dated(server, None, region="eu-west", batch_size="7")
    sent = send_as_the_script(server, REQUIRED_PARAM_DAG_ID, payload)
    assert sent.status_code in (400, 422), sent.text
    data = check(server.profile(tmp_path, dag_id=REQUIRED_PARAM_DAG_ID, payload=payload))
    schema = result_of(data, "payload-schema")
    assert schema["status"] == "fail" and schema["code"] == "payload-invalid"
    assert ": is a param of the DAG" in schema["summary"] and "the server answered: " in schema["explanation"]
    assert schema["why_ui_works"]
    body = json.loads(schema["fix"]["commands"][0])
    assert body["conf"] == {"region": "eu-west", "batch_size": 7}, body
    assert "moved into conf" in schema["fix"]["text"] and 'conf.batch_size "7" converted to 7' in schema["fix"]["text"]
    assert "FILL IN" not in json.dumps(data["working_request"]["snippets"])
    runs = run_printed_snippets(server, data, REQUIRED_PARAM_DAG_ID)
    assert all(r["conf"] == {"region": "eu-west", "batch_size": 7} for r in runs)


def test_an_existing_run_id_is_the_409_and_the_snippet_keeps_the_users_conf_without_the_id(
        server: Server, tmp_path: Path) -> None:
    taken = f"doctor_body_taken_{os.getpid()}"
    made = send_as_the_script(server, DEMO, dated(server, None, dag_run_id=taken))
    assert made.status_code == 200, made.text
    try:
        payload = dated(server, None, dag_run_id=taken, conf={"batch_size": 3})
        again = send_as_the_script(server, DEMO, payload)
        assert again.status_code == 409, again.text
        data = check(server.profile(tmp_path, dag_id=DEMO, payload=payload))
        schema = result_of(data, "payload-schema")
        assert schema["code"] == "run-already-exists" and f"a run '{taken}' already exists" in schema["summary"]
        assert "never repeats a run id" in schema["why_ui_works"]
        assert json.loads(schema["fix"]["commands"][0])["conf"] == {"batch_size": 3}
        assert taken not in json.dumps(data["working_request"]["snippets"])
        runs = run_printed_snippets(server, data, DEMO)
        assert all(r["conf"] == {"batch_size": 3} for r in runs)
    finally:
        server.delete_run(DEMO, taken)
