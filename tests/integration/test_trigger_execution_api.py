"""--trigger on an Airflow 3.3.2 of its own whose workers cannot reach the execution API ([core]
execution_api_server_url at a closed port): the API accepts the trigger and the UI's trigger works the same way, the
task fails without ever starting, and its log stays empty. The doctor names the cause from the task instance (no
start date) and the scheduler's 'state mismatch' event; the printed setting, applied to a restarted scheduler (the
LocalExecutor's workers), makes the next test run succeed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from airflow_doctor.sandbox import stop_pids
from tests.integration.conftest import Server
from tests.integration.test_scenarios import result_of
from tests.servers import closed_port

pytestmark = pytest.mark.integration

DAG_ID = "doctor_exec_api"
TASK = 'PythonOperator(task_id="say_hello", python_callable=lambda: print("hello"))'


def trigger(profile: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json", "--trigger", "--yes",
                                      "--wait", "240"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def record(server: Server, name: str, path: str, **params: Any) -> None:
    """With AIRFLOW_DOCTOR_RECORD=1: keep the server's answer (as admin) for the unit tests."""
    if os.environ.get("AIRFLOW_DOCTOR_RECORD"):
        from tests.integration.test_record import save

        save(server, name, server.api("GET", path, params=params))


def test_a_worker_that_cannot_reach_the_execution_api_is_named_and_the_printed_url_fixes_it(tmp_path: Path) -> None:
    from airflow_doctor.sandbox import DEFAULT_AIRFLOW, Sandbox, install
    from tests.integration.dags import dag_file

    if os.environ.get("AIRFLOW_DOCTOR_SKIP_INTEGRATION"):
        pytest.skip("AIRFLOW_DOCTOR_SKIP_INTEGRATION is set")
    install(DEFAULT_AIRFLOW)
    unreachable = f"http://127.0.0.1:{closed_port()}/execution/"
    box = Sandbox(DEFAULT_AIRFLOW, tmp_path / "airflow", dag_files={f"{DAG_ID}.py": dag_file(DAG_ID, body=TASK)},
                  extra_env={"AIRFLOW__CORE__EXECUTION_API_SERVER_URL": unreachable})
    box.root.mkdir()
    server = Server(box)
    try:
        box.prepare()
        box.start_until_ready(dag_id=DAG_ID)
        profile = server.profile(tmp_path, dag_id=DAG_ID, payload=None)

        data = trigger(profile)
        found = result_of(data, "test-trigger")
        assert found["status"] == "fail" and found["code"] == "test-run-task-never-reached-execution-api", found
        assert "task 'say_hello' failed without ever starting (no start date, no host)" in found["summary"]
        assert "execution_api_server_url" in found["summary"] and "state attribute is queued" in found["explanation"]
        assert found["why_ui_works"].startswith("Not the trigger") and data["diagnosis"]["check_id"] == "test-trigger"
        run_id = next(d for d in found["details"] if d.startswith("run id: ")).removeprefix("run id: ")
        record(server, "exec_api_unreached_task_instances", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")
        record(server, "exec_api_unreached_event_logs", "/eventLogs", dag_id=DAG_ID, run_id=run_id,
               task_id="say_hello", event="state mismatch", limit=5)

        export, _check = found["fix"]["commands"]
        assert export == f"export AIRFLOW__CORE__EXECUTION_API_SERVER_URL={box.url}/execution/", export
        stop_pids([box.processes.pop("scheduler")])
        env = {k: v for k, v in box.process_environment("scheduler").items()
               if k != "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"}
        with box.log_path("scheduler").open("a") as out:  # the printed setting, applied as printed, on restart
            scheduler = subprocess.Popen(["/bin/sh", "-c", f"{export} && exec airflow scheduler"], env=env,
                                         cwd=box._make_process_home("scheduler"), stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        box.processes["scheduler"] = scheduler.pid
        fixed = result_of(trigger(profile), "test-trigger")
        assert fixed["status"] == "pass" and "succeeded" in fixed["summary"], fixed
    finally:
        box.stop()
