"""dag-exists, permissions and paused on every scenario server: the headline names the cause the server
shows, says why the UI works, and gives a fix that runs as printed (applied here wherever a shared server allows)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.conftest import Server

pytestmark = pytest.mark.integration


def diagnose(profile: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def result_of(data: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(r for r in data["results"] if r["check_id"] == check_id)


def headline(data: dict[str, Any]) -> dict[str, Any]:
    """The diagnosis and the fix of the check it names."""
    diagnosis = data["diagnosis"]
    assert diagnosis is not None, data
    return {**diagnosis, "fix": result_of(data, diagnosis["check_id"])["fix"]}


def trigger_answer(server: Server, dag_id: str) -> int:
    """What a real trigger gets (the judge of the doctor's claim); a run it created after all is deleted."""
    body = {"logical_date": None} if server.major >= 3 else {}
    response = server.api("POST", f"/dags/{dag_id}/dagRuns", json=body)
    if response.ok:
        server.delete_run(dag_id, response.json()["dag_run_id"])
    return response.status_code


def run_shell(server: Server, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A command from a fix, as printed, with the server's airflow on PATH and only secrets added to the env."""
    path = f"{server.sandbox.airflow().parent}:{os.environ['PATH']}"
    return subprocess.run(["bash", "-c", command], env={**server.sandbox.environment(), "PATH": path, **env},
                          capture_output=True, text=True, timeout=300)


_RAN: dict[tuple[str, str], subprocess.CompletedProcess[str]] = {}


def run_once(server: Server, command: str) -> subprocess.CompletedProcess[str]:
    """run_shell, once per server and command: a read-only command's output serves every test that reads it."""
    if (server.url, command) not in _RAN:
        _RAN[server.url, command] = run_shell(server, command)
    return _RAN[server.url, command]


@pytest.mark.parametrize("dag_id, error", [("doctor_missing", "No module named 'airflow_doctor_no_such_module'"),
                                           ("leaky_orders_etl", "ConnectionError")])
def test_dag_whose_file_never_imported_is_reported_as_that_import_error(scenario_server: Server, tmp_path: Path,
                                                                         dag_id: str, error: str) -> None:
    _, data = diagnose(scenario_server.profile(tmp_path, dag_id=dag_id))
    head = headline(data)
    assert head["check_id"] == "dag-exists"
    assert f"{dag_id}.py fails to import" in head["summary"] and error in head["summary"]
    assert "import error in the banner" in head["why_ui_works"]
    assert head["fix"]["commands"] == ["airflow dags list-import-errors"]
    assert not any(c.startswith("dag_id:") for c in head["fix"]["commands"])
    listed = run_once(scenario_server, head["fix"]["commands"][0])  # exits 1 when it lists any import error
    assert f"{dag_id}.py" in listed.stdout, listed.stderr[-2000:]


def test_dag_file_that_broke_after_parsing_names_the_error_and_the_trigger_answer_is_true(scenario_server: Server,
                                                                                          tmp_path: Path) -> None:
    _, data = diagnose(scenario_server.profile(tmp_path, dag_id="doctor_becomes_broken"))
    head = headline(data)
    assert head["check_id"] == "dag-exists" and "now fails to import" in head["summary"]
    assert "No module named 'airflow_doctor_no_such_module'" in head["summary"]
    real = trigger_answer(scenario_server, "doctor_becomes_broken")
    if scenario_server.major >= 3:
        assert f"Airflow {scenario_server.version} answers a trigger of it with 404" in head["summary"] and real == 404
    else:  # 400 'has import errors', or 404 once the scheduler has deactivated it: the doctor quotes what it got
        assert f"the trigger endpoint answered {real} (DAG with dag_id: 'doctor_becomes_broken'" in head["summary"]
    assert "cannot trigger it either" in head["why_ui_works"]
    assert "doctor_becomes_broken.py" in head["fix"]["text"]


def test_deleted_dag_file_is_stale_and_the_404_is_what_the_server_answers(scenario_server: Server, tmp_path: Path) -> None:
    _, data = diagnose(scenario_server.profile(tmp_path, dag_id="doctor_stale"))
    head = headline(data)
    assert head["check_id"] == "dag-exists" and "its file no longer defines it" in head["summary"]
    if scenario_server.major >= 3:
        assert f"Airflow {scenario_server.version} answers a trigger of it with 404" in head["summary"]
    else:
        assert "the trigger endpoint answered 404" in head["summary"] and "cannot create a run" in head["summary"]
    assert trigger_answer(scenario_server, "doctor_stale") == 404
    assert "refused the same way" in head["why_ui_works"]


@pytest.mark.parametrize("typed, real", [("DOCTOR_DEMO", "doctor_demo"), ("Doctor Display", "doctor_display_id")])
def test_the_name_the_ui_shows_gets_the_real_id_as_a_fix_that_works(scenario_server: Server, tmp_path: Path,
                                                                   typed: str, real: str) -> None:
    _, data = diagnose(scenario_server.profile(tmp_path, dag_id=typed))
    head = headline(data)
    assert head["check_id"] == "dag-exists" and repr(real) in head["summary"]
    assert head["fix"]["commands"] == [f"dag_id: {real}"] and "exact id" in head["why_ui_works"]
    _, fixed = diagnose(scenario_server.profile(tmp_path, dag_id=real, name="fixed"))
    assert result_of(fixed, "dag-exists")["status"] == "pass"


def test_a_mistyped_id_close_to_another_dag_is_a_question_not_a_fix(scenario_server: Server, tmp_path: Path) -> None:
    _, data = diagnose(scenario_server.profile(tmp_path, dag_id="doctor_demos"))
    head = headline(data)
    assert "did you mean 'doctor_demo'? that is a different DAG" in head["summary"]
    assert head["fix"]["commands"] == ["airflow dags list"] and head["why_ui_works"]
    listed = run_shell(scenario_server, "airflow dags list")
    assert listed.returncode == 0 and "doctor_demo" in listed.stdout, listed.stderr[-2000:]


def test_profile_without_dag_id_warns_naming_what_was_not_checked(scenario_server: Server, tmp_path: Path) -> None:
    profile = scenario_server.profile(tmp_path, payload=None)
    profile.write_text("".join(line for line in profile.read_text().splitlines(keepends=True)
                               if not line.startswith("dag_id:")))
    code, data = diagnose(profile)
    head = headline(data)
    assert code == 0 and head["check_id"] == "dag-exists" and result_of(data, "dag-exists")["status"] == "warn"
    for unchecked in ("dag-exists", "permissions", "paused", "payload's params"):
        assert unchecked in head["summary"]
    assert result_of(data, "permissions")["status"] == "skip" and result_of(data, "paused")["status"] == "skip"


def test_paused_dag_says_the_ui_unpauses_and_the_printed_unpause_curl_works(scenario_server: Server, tmp_path: Path) -> None:
    _, data = diagnose(scenario_server.profile(tmp_path, dag_id="doctor_paused", payload=None))
    head = headline(data)
    assert head["check_id"] == "paused" and f"Airflow {scenario_server.version} accepts a trigger" in head["summary"]
    assert "unpauses the DAG first" in head["why_ui_works"]
    unpause, curl = head["fix"]["commands"]
    assert unpause == "airflow dags unpause doctor_paused"
    # Run as printed against doctor_demo, which is not paused: the same request, and no shared DAG changes state.
    on_demo = curl.replace("/dags/doctor_paused", "/dags/doctor_demo")
    answered = run_shell(scenario_server, on_demo, AIRFLOW_PASSWORD=scenario_server.password("admin"))
    assert answered.returncode == 0, answered.stdout + answered.stderr
    assert json.loads(answered.stdout)["is_paused"] is False


def test_airflow_2_viewer_gets_a_grant_scoped_to_the_dag_that_works_when_run(scenario_server2: Server, tmp_path: Path) -> None:
    name, password = f"doctor-9a-{uuid.uuid4().hex[:8]}", "viewer-9a-pass"
    created = run_shell(scenario_server2, f"airflow users create -u {name} -p {password} -r Viewer -e {name}@example.test "
                                  "-f doctor -l viewer")
    assert created.returncode == 0, created.stderr[-2000:]
    role = "trigger_doctor_demo"
    try:
        profile = scenario_server2.profile(tmp_path, user="admin", password=password, payload=None)
        profile.write_text(profile.read_text().replace("username: admin", f"username: {name}"))
        _, data = diagnose(profile)
        head = headline(data)
        assert head["check_id"] == "permissions" and "may not trigger 'doctor_demo' (403)" in head["summary"]
        assert head["fix"]["commands"] == [
            f"airflow roles create {role}", f"airflow roles add-perms {role} -r DAG:doctor_demo -a can_read can_edit",
            f"airflow roles add-perms {role} -r 'DAG Run:doctor_demo' -a can_create",
            f"airflow users add-role -u {name} -r {role}"]
        assert "another user" in head["why_ui_works"]
        for command in head["fix"]["commands"]:  # applied as printed: the grant is scoped to doctor_demo only
            applied = run_shell(scenario_server2, command)
            assert applied.returncode == 0, applied.stderr[-2000:]
        _, fixed = diagnose(profile)
        assert result_of(fixed, "permissions")["status"] == "pass"
    finally:
        run_shell(scenario_server2, f"airflow users delete -u {name}")
        run_shell(scenario_server2, f"airflow roles delete {role}")


def test_airflow_3_viewer_gets_its_entry_and_the_whole_list_warning(airflow3: Server, tmp_path: Path) -> None:
    _, data = diagnose(airflow3.profile(tmp_path, user="viewer", payload=None))
    head = headline(data)
    assert head["check_id"] == "permissions" and "role viewer" in head["summary"]
    assert head["fix"]["commands"] == ["viewer:user"] and "keep every other entry" in head["fix"]["text"]
    assert "another user" in head["why_ui_works"]
