"""--trigger on real Airflow 2.10.5 and 3.x: a real run, followed to its end; and the working request, executed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.conftest import Server
from tests.integration.test_scenarios import result_of

pytestmark = pytest.mark.integration


def trigger(profile: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json", "--trigger", "--yes",
                                      "--wait", "180", *extra])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)



def run_id_of(result: dict[str, Any]) -> str:
    return next(d for d in result["details"] if d.startswith("run id: ")).removeprefix("run id: ")


def test_a_passing_dag_is_triggered_and_followed_to_success(airflow: Server, tmp_path: Path) -> None:
    code, data = trigger(airflow.profile(tmp_path))
    result = result_of(data, "test-trigger")
    assert code == 0 and result["status"] == "pass" and "succeeded" in result["summary"], result
    run_id = run_id_of(result)
    assert run_id.startswith("airflow_doctor__")
    run = airflow.api("GET", f"/dags/doctor_demo/dagRuns/{run_id}").json()
    assert run["state"] == "success" and run["note"] == "Test run created by airflow-doctor"
    assert run["conf"] == {"batch_size": 5}


def test_a_failing_task_is_named_with_the_end_of_its_log(airflow: Server, tmp_path: Path) -> None:
    code, data = trigger(airflow.profile(tmp_path, dag_id="doctor_fails"))
    result = result_of(data, "test-trigger")
    assert code == 1 and result["status"] == "fail", result
    assert "task 'explode' failed (try 1): RuntimeError: the doctor's test task fails on purpose" in result["summary"]
    assert "fails on purpose" in result["explanation"] and "RuntimeError: the doctor's" in result["fix"]["text"]
    assert data["diagnosis"]["check_id"] == "test-trigger"
    assert data["diagnosis"]["why_ui_works"].startswith("Not the trigger: the UI's trigger creates the same kind of run")


def test_a_paused_dag_is_reported_queued_and_never_unpaused(airflow: Server, tmp_path: Path) -> None:
    code, data = trigger(airflow.profile(tmp_path, dag_id="doctor_paused", payload=None), "--wait", "8")
    result = result_of(data, "test-trigger")
    assert result["status"] == "fail" and "still queued" in result["summary"] and "the DAG is paused" in result["summary"]
    assert result["code"] == "dag-paused"
    assert any("airflow dags unpause doctor_paused" in c for c in result["fix"]["commands"])
    assert airflow.api("GET", "/dags/doctor_paused").json()["is_paused"] is True
    assert data["diagnosis"]["check_id"] == "paused"


def test_cleanup_deletes_the_test_run_and_only_it(airflow: Server, tmp_path: Path) -> None:
    before = airflow.run_ids("doctor_demo")
    code, data = trigger(airflow.profile(tmp_path), "--cleanup")
    result = result_of(data, "test-trigger")
    assert any(d.startswith("cleanup: deleted the test run") for d in result["details"]), result
    assert airflow.run_ids("doctor_demo") == before


def test_without_a_terminal_and_without_yes_nothing_is_sent(airflow: Server, tmp_path: Path) -> None:
    before = airflow.run_ids("doctor_demo")
    result = CliRunner().invoke(app, ["check", "--profile", str(airflow.profile(tmp_path)), "--trigger"])
    assert result.exit_code == 2 and "add --yes" in result.output
    assert airflow.run_ids("doctor_demo") == before


def snippets(data: dict[str, Any]) -> dict[str, str]:
    return {s["label"]: s["code"] for s in data["working_request"]["snippets"]}


@pytest.mark.parametrize("user", ["admin", "user1"])
def test_the_printed_curl_and_python_requests_trigger_a_run(airflow: Server, tmp_path: Path, user: str) -> None:
    result = CliRunner().invoke(app, ["check", "--profile", str(airflow.profile(tmp_path, user=user)), "--format", "json"])
    data = json.loads(result.stdout)
    code = snippets(data)
    assert airflow.password(user) not in json.dumps(data)
    env = {**os.environ, "AIRFLOW_PASSWORD": airflow.password(user), "LC_ALL": "C.UTF-8"}
    before = set(airflow.run_ids("doctor_demo"))
    shell = subprocess.run(["bash", "-c", code["curl"]], env=env, capture_output=True, text=True, timeout=60)
    assert shell.returncode == 0, shell.stdout + shell.stderr
    created = json.loads(shell.stdout)["dag_run_id"]
    python = subprocess.run([sys.executable, "-c", code["Python (requests)"]], env=env, capture_output=True, text=True,
                            timeout=60)
    assert python.returncode == 0, python.stdout + python.stderr
    after = set(airflow.run_ids("doctor_demo"))
    assert {created, python.stdout.strip()} <= after - before
