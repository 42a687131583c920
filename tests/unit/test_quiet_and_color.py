"""check -q/--quiet (the headline and the exit code only) and --no-color (besides NO_COLOR), issue 19."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import responses
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.conftest import replay, write_profile
from tests.servers import closed_port

BASE = "http://airflow.test"
ESC = "\x1b["


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env or {})


def refused(tmp_path: Path) -> Path:
    return write_profile(tmp_path, f"profiles:\n  refused: {{url: 'http://127.0.0.1:{closed_port()}', "
                                   "timeout: {connect: 1, read: 1}}\n  other: {url: 'http://127.0.0.1:9', "
                                   "timeout: {connect: 1, read: 1}}\n", name="p.yml")


def test_quiet_prints_the_headline_alone_and_exits_as_usual(tmp_path: Path) -> None:
    result = invoke("check", "-p", "refused", "--profiles-file", str(refused(tmp_path)), "-q")
    assert result.exit_code == 1
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith("Diagnosis (reachability): ") and "refused" in result.stdout


@responses.activate
def test_quiet_with_nothing_wrong_prints_the_tally(tmp_path: Path) -> None:
    replay(responses, BASE, "airflow-3.3.2", "v2_version")
    replay(responses, BASE, "airflow-3.3.2", "health")
    path = write_profile(tmp_path, f"url: {BASE}\n", name="ok.yml")
    result = invoke("check", "--profile", str(path), "--only", "reachability", "--quiet")
    assert result.exit_code == 0
    assert result.stdout == "No issues found (1 passed, 0 warned, 0 failed, 0 skipped).\n"


def test_quiet_check_all_prints_one_headline_per_profile(tmp_path: Path) -> None:
    result = invoke("check", "--all", "--profiles-file", str(refused(tmp_path)), "-q")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["refused", "other"]
    assert all("Diagnosis (reachability)" in line for line in lines)


def test_quiet_with_a_report_file_keeps_the_file_whole(tmp_path: Path) -> None:
    out = tmp_path / "r.xml"
    result = invoke("check", "-p", "refused", "--profiles-file", str(refused(tmp_path)), "-q", "-f", "junit",
                    "-o", str(out))
    assert result.exit_code == 1 and result.stdout.startswith("Diagnosis (reachability)")
    assert out.read_text().startswith("<?xml") and "<testsuite " in out.read_text()


@pytest.mark.parametrize(("args", "says"), [
    (["-q", "-v"], "-q prints only the headline and -v adds detail"),
    (["-q", "-f", "junit"], "write the report to a file with -o (e.g. -o report.xml)"),
    (["-q", "-f", "markdown"], "-o report.md"),
])
def test_quiet_with_flags_that_contradict_it_is_one_sentence_and_exit_2(tmp_path: Path, args: list, says: str) -> None:
    result = invoke("check", "-p", "refused", "--profiles-file", str(refused(tmp_path)), *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert says in result.stderr and result.stderr.count("\n") == 1


def test_quiet_with_json_on_stdout_answers_json_consumers_in_json(tmp_path: Path) -> None:
    result = invoke("check", "-p", "refused", "--profiles-file", str(refused(tmp_path)), "-q", "-f", "json")
    assert result.exit_code == 2 and json.loads(result.stdout)["exit_code"] == 2


@pytest.mark.parametrize("command", [["-p", "refused"], ["--all"]], ids=["check", "check --all"])
def test_no_color_wins_over_force_color_and_is_gone_after_the_command(tmp_path: Path, command: list) -> None:
    profiles = str(refused(tmp_path))
    coloured = invoke("check", *command, "--profiles-file", profiles, env={"FORCE_COLOR": "1", "NO_COLOR": None})
    assert ESC in coloured.stdout
    plain = invoke("check", *command, "--profiles-file", profiles, "--no-color",
                   env={"FORCE_COLOR": "1", "NO_COLOR": None})
    assert plain.exit_code == 1 and "refused" in plain.stdout and ESC not in plain.stdout
    assert "NO_COLOR" not in os.environ


def test_no_color_keeps_a_no_color_the_user_had(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "yes")
    invoke("check", "-p", "refused", "--profiles-file", str(refused(tmp_path)), "--no-color")
    assert os.environ["NO_COLOR"] == "yes"
