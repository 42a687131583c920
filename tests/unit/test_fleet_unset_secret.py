"""`check --all` with a profile whose ${VAR} is unset: like `check`, that profile runs reachability and names the
variable to export, instead of being a profile error; the other profiles are checked in full."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import responses
from typer.testing import CliRunner

from airflow_doctor.cli import app
from airflow_doctor.model import ExitCode
from airflow_doctor.report import report_schema
from tests.conftest import replay, write_profile
from tests.servers import closed_port

BASE = "http://airflow.test:8080"
V3 = "airflow-3.3.2"


def fleet(path: Path, output_format: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["check", "--all", "--profiles-file", str(path), "--format", output_format],
                              env={"PROD_PW": None})


def profiles(tmp_path: Path) -> Path:
    return write_profile(tmp_path, "profiles:\n"
                                   f"  prod: {{url: '{BASE}', auth: {{type: jwt, username: admin, password: '${{PROD_PW}}'}}}}\n"
                                   f"  down: {{url: 'http://127.0.0.1:{closed_port()}', auth: {{type: basic, username: a, "
                                   "password: '${PROD_PW}'}}\n")


@responses.activate
def test_an_unset_variable_in_one_profile_runs_its_reachability_and_names_the_variable(tmp_path: Path) -> None:
    replay(responses, BASE, V3, "v2_version")
    replay(responses, BASE, V3, "health")
    result = fleet(profiles(tmp_path), "json")
    data = json.loads(result.stdout)
    prod, down = data["profiles"]
    assert [r["check_id"] for r in prod["report"]["results"]] == ["reachability"]
    assert prod["report"]["results"][0]["status"] == "pass" and prod["exit_code"] == ExitCode.USAGE
    assert "auth.password (${PROD_PW}) is not set; run: export PROD_PW" in prod["error"]
    assert down["report"]["results"][0]["status"] == "fail" and down["exit_code"] == ExitCode.CHECK_FAILED
    assert result.exit_code == ExitCode.USAGE
    jsonschema.validate(data, report_schema())


@responses.activate
def test_the_fleet_table_says_which_variable_to_export_where_a_diagnosis_would_be(tmp_path: Path) -> None:
    replay(responses, BASE, V3, "v2_version")
    replay(responses, BASE, V3, "health")
    result = fleet(profiles(tmp_path), "markdown")
    prod_row = next(line for line in result.stdout.splitlines() if line.startswith("| prod |"))
    assert "export PROD_PW" in prod_row and "profile error" not in prod_row
