"""The request that works, works: in each failing scenario whose cause is in the script's request, both printed
snippets are executed against the same real server, with only the password in the environment, and each must
create a run (deleted after). Where the cause is elsewhere, the report must not claim the snippet works."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.snippets import run_printed_snippets
from tests.integration.conftest import Server

pytestmark = pytest.mark.integration

DAG = "doctor_paused"
"""Paused: the runs the snippets create never start."""


def check(profile: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json"])
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def result_of(data: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(r for r in data["results"] if r["check_id"] == check_id)


def profile_with(server: Server, tmp_path: Path, payload: Any, *extra: str) -> Path:
    path = server.profile(tmp_path, dag_id=DAG, payload=payload)
    path.write_text(path.read_text() + "".join(line + "\n" for line in extra))
    return path


def test_a_misnamed_conf_field_is_named_and_the_printed_request_creates_a_run(airflow: Server, tmp_path: Path) -> None:
    payload = {"config": {"source": "nightly"}, **({"logical_date": None} if airflow.major >= 3 else {})}
    data = check(profile_with(airflow, tmp_path, payload))
    schema = result_of(data, "payload-schema")
    assert schema["status"] == "fail" and "config: is not a field of the trigger body; the field is 'conf'" \
        in schema["summary"]
    assert "the server answered: " in schema["explanation"] and schema["why_ui_works"]
    assert json.loads(schema["fix"]["commands"][0])["conf"] == {"source": "nightly"}
    assert data["working_request"]["notes"][0].startswith("This request corrects what the script sends")
    run_printed_snippets(airflow, data, DAG)


def test_an_existing_run_id_is_the_409_failure_and_the_printed_request_does_not_repeat_it(
        airflow: Server, tmp_path: Path) -> None:
    taken = f"doctor_taken_{os.getpid()}"
    airflow.api("POST", f"/dags/{DAG}/dagRuns", json={"dag_run_id": taken, **(
        {"logical_date": None} if airflow.major >= 3 else {})})
    try:
        payload = {"dag_run_id": taken, "conf": {}, **({"logical_date": None} if airflow.major >= 3 else {})}
        data = check(profile_with(airflow, tmp_path, payload))
        schema = result_of(data, "payload-schema")
        assert schema["status"] == "fail" and f"dag_run_id: a run '{taken}' already exists" in schema["summary"]
        assert "409 'already exists'" in schema["explanation"] and "never repeats a run id" in schema["why_ui_works"]
        assert taken not in json.dumps(data["working_request"]["snippets"])
        run_printed_snippets(airflow, data, DAG)
    finally:
        airflow.api("DELETE", f"/dags/{DAG}/dagRuns/{taken}")


def test_a_trailing_slash_is_answered_by_the_server_and_the_printed_request_creates_a_run(
        airflow: Server, tmp_path: Path) -> None:
    api = "/api/v2" if airflow.major >= 3 else "/api/v1"
    data = check(profile_with(airflow, tmp_path, None, "request:", f"  path: {api}/dags/{DAG}/dagRuns/"))
    schema = result_of(data, "payload-schema")
    assert schema["status"] == "fail" and "ends with a slash" in schema["summary"]
    status = "405" if airflow.major >= 3 else "404"
    assert f"(the server answered: {status} (" in schema["explanation"], schema["explanation"]
    run_printed_snippets(airflow, data, DAG)


def test_a_cause_outside_the_request_is_not_claimed_to_be_fixed_by_the_snippet(airflow: Server,
                                                                               tmp_path: Path) -> None:
    data = check(airflow.profile(tmp_path, user="viewer", dag_id=DAG))
    assert data["diagnosis"]["check_id"] != "payload-schema"
    notes = data["working_request"]["notes"]
    assert notes[0].startswith("Fix first:") and "fails too" in notes[0]
    assert not any("corrects what the script sends" in n for n in notes)
