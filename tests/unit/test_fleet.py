from __future__ import annotations

import json
import threading
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from airflow_doctor.cli import app
from airflow_doctor.fleet import FleetEntry, run_fleet
from airflow_doctor.model import CheckResult, ExitCode, Report, Status
from airflow_doctor.errors import ProfileError
from airflow_doctor.report import report_schema
from tests.conftest import write_profile
from tests.servers import BlackHole, LocalServer, Reply, closed_port


def report(status: Status) -> Report:
    return Report("0", "now", "p", "http://h", (), (), (CheckResult("reachability", "R", status, "s"),))


def test_jobs_run_concurrently_and_the_worst_exit_code_wins() -> None:
    all_three_running = threading.Barrier(3, timeout=60)

    def together(status: Status):
        def job() -> Report:
            all_three_running.wait()  # raises BrokenBarrierError unless the three jobs run at the same time
            return report(status)
        return job

    def broken() -> Report:
        raise ProfileError("bad profile")

    fleet = run_fleet({"a": together(Status.PASS), "b": together(Status.FAIL), "c": together(Status.PASS)},
                      (ProfileError,), "0")
    assert [e.name for e in fleet.entries] == ["a", "b", "c"] and fleet.exit_code is ExitCode.CHECK_FAILED
    with_error = run_fleet({"a": lambda: report(Status.FAIL), "x": broken}, (ProfileError,), "0")
    assert with_error.exit_code is ExitCode.USAGE and with_error.entries[1] == FleetEntry("x", None, "bad profile")


def test_all_profiles_in_json_and_markdown(tmp_path: Path) -> None:
    with LocalServer(lambda h: Reply(502, {"Content-Type": "text/plain"}, b"bad gateway")) as server, BlackHole() as hole:
        path = write_profile(tmp_path, "profiles:\n"
                                       f"  gateway: {{url: '{server.url}'}}\n"
                                       f"  refused: {{url: 'http://127.0.0.1:{closed_port()}'}}\n"
                                       f"  hole: {{url: 'http://127.0.0.1:{hole.port}', timeout: {{connect: 1}}}}\n"
                                       "  typo: {url: 'airflow.example.com'}\n")
        result = CliRunner().invoke(app, ["check", "--all", "--profiles-file", str(path), "--format", "json"])
        markdown = CliRunner().invoke(app, ["check", "--all", "--profiles-file", str(path), "--format", "markdown"])
    data = json.loads(result.stdout)
    assert result.exit_code == 2 and data["kind"] == "fleet" and data["exit_code"] == 2
    assert [(p["profile"], p["exit_code"]) for p in data["profiles"]] == [("gateway", 1), ("refused", 1), ("hole", 1),
                                                                            ("typo", 2)]
    assert "has no scheme" in data["profiles"][3]["error"]
    jsonschema.validate(data, report_schema())
    assert data["profiles"][1]["report"]["requests_made"] >= 1
    assert "| gateway | ✗ |" in markdown.stdout and "## airflow-doctor report: refused" in markdown.stdout


def test_all_refuses_profile_and_trigger() -> None:
    result = CliRunner().invoke(app, ["check", "--all", "--trigger"])
    assert result.exit_code == 2 and "drop --profile and --trigger" in result.output
