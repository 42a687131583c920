"""No secret, in any derived form, in any output, against real Airflow: passing and failing paths, and secrets
only the server knows (an import error's traceback)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.conftest import Server
from tests.integration.dags import LEAK_CANARIES, LEAKY_DAG_ID
from tests.unit.test_canary import derived_forms

pytestmark = pytest.mark.integration

WRONG_CANARY = "cänary-wrong/+pw\n"
OUTPUTS = [("text", 0), ("text", 2), ("markdown", 0), ("json", 0)]


@pytest.mark.parametrize("path", ["passing", "failing"])
def test_no_canary_in_any_output_against_real_airflow(airflow: Server, tmp_path: Path, path: str) -> None:
    password = airflow.password("admin") if path == "passing" else WRONG_CANARY
    profile = airflow.profile(tmp_path, password=password)
    forms = [f for f in derived_forms(password, "admin") + derived_forms(password.strip(), "admin") if len(f) >= 4]
    for output_format, verbosity in OUTPUTS:
        args = ["check", "--profile", str(profile), "--format", output_format] + ["-v"] * verbosity
        result = CliRunner().invoke(app, args)
        assert result.exit_code == (0 if path == "passing" else 1), result.output
        report = tmp_path / f"report-{output_format}-{verbosity}"
        CliRunner().invoke(app, [*args, "-o", str(report)])
        for text, where in ((result.output, "stdout/stderr"), (report.read_text(), "file")):
            for form in forms:
                assert form not in text, f"{where} {output_format} -v{verbosity} leaks {form!r}"
            assert "eyJ" not in text, f"a JWT in {where} {output_format} -v{verbosity}"


IMPORT_ERROR_DEADLINE = 300.0
"""A deadline, not a wait: the file is parsed with the others before the servers are handed out."""


def _wait_for_the_import_error(airflow: Server) -> None:
    deadline = time.monotonic() + IMPORT_ERROR_DEADLINE
    while time.monotonic() < deadline:
        errors = airflow.api("GET", "/importErrors", params={"limit": 100}).json().get("import_errors", [])
        if any(LEAKY_DAG_ID in str(e.get("filename")) for e in errors):
            return
        time.sleep(1)
    pytest.fail(f"Airflow {airflow.version} recorded no import error for {LEAKY_DAG_ID}.py in {IMPORT_ERROR_DEADLINE:.0f} s")


def test_an_import_error_is_explained_without_the_credentials_in_its_traceback(airflow: Server, tmp_path: Path) -> None:
    _wait_for_the_import_error(airflow)
    profile = airflow.profile(tmp_path, dag_id=LEAKY_DAG_ID)
    for output_format in ("text", "markdown", "json"):
        args = ["check", "--profile", str(profile), "--format", output_format, "-vv"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1, result.output
        report = tmp_path / f"leaky-{output_format}"
        written = CliRunner().invoke(app, [*args, "-o", str(report)])
        assert written.exit_code == 1, written.output
        for text, where in ((result.output, "stdout/stderr"), (report.read_text() + written.output, "-o file")):
            for canary in LEAK_CANARIES:
                assert canary not in text, f"{where} {output_format} -vv leaks {canary!r}"
            assert "postgresql://etl:***@db/orders" in text, f"{where} {output_format}: the traceback is not shown"
    dag_exists = next(r for r in json.loads(result.stdout)["results"] if r["check_id"] == "dag-exists")
    assert dag_exists["status"] == "fail" and "fails to import" in dag_exists["summary"]
    assert 'api_key = "***"' in dag_exists["explanation"]
