"""No secret, in any derived form, in any output, against real Airflow: passing and failing paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.conftest import Server
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
