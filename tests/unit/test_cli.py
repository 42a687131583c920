from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.conftest import replay, write_profile
from tests.servers import closed_port

BASE = "http://airflow.test"


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env or {})


def test_version_and_help_list_the_exit_codes() -> None:
    assert invoke("--version").output.startswith("airflow-doctor ")
    help_text = invoke("--help").output
    assert "Exit codes:" in help_text and "130  interrupted" in help_text


def test_missing_profiles_file_is_exit_2_with_one_sentence(tmp_path: Path) -> None:
    result = invoke("check", "--profiles-file", str(tmp_path / "nope.yml"), "--profile", "prod")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "does not exist" in result.output
    assert "Traceback" not in result.output


def test_no_profile_anywhere_says_how_to_give_one(tmp_path: Path) -> None:
    result = invoke("check", env={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert result.exit_code == 2 and "pass --profile FILE" in result.output


def test_unknown_check_in_only_is_exit_2(tmp_path: Path) -> None:
    path = write_profile(tmp_path, f"url: {BASE}\n", name="p.yml")
    result = invoke("check", "--profile", str(path), "--only", "nope")
    assert result.exit_code == 2 and "There is no check 'nope'" in result.output


def test_output_into_a_missing_directory_is_refused_before_any_request(tmp_path: Path) -> None:
    path = write_profile(tmp_path, f"url: http://127.0.0.1:{closed_port()}\n", name="p.yml")
    result = invoke("check", "--profile", str(path), "-o", str(tmp_path / "missing" / "r.md"))
    assert result.exit_code == 2 and "does not exist" in result.output
    assert not (tmp_path / "missing").exists()


@responses.activate(assert_all_requests_are_fired=True)
def test_json_output_is_pure_json_on_stdout(tmp_path: Path) -> None:
    replay(responses, BASE, "airflow-3.3.2", "v2_version")
    replay(responses, BASE, "airflow-3.3.2", "health")
    path = write_profile(tmp_path, f"url: {BASE}\n", name="p.yml")
    result = CliRunner().invoke(app, ["check", "--profile", str(path), "--format", "json", "--only", "reachability"])
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["exit_code"] == 0 and data["facts"]["Airflow"] == "3.3.2"
    assert [r["check_id"] for r in data["results"]] == ["reachability"]


def test_a_failed_check_exits_1_and_the_report_file_is_written(tmp_path: Path) -> None:
    path = write_profile(tmp_path, f"url: http://127.0.0.1:{closed_port()}\n", name="p.yml")
    out = tmp_path / "report.md"
    result = invoke("check", "--profile", str(path), "--format", "markdown", "-o", str(out))
    assert result.exit_code == 1
    assert "## Diagnosis: tcp-refused" in out.read_text()


def test_profiles_list_and_show_mask_secrets(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "profiles:\n  a:\n    url: http://a\n    auth: {type: token, token: canary-tok-999}\n"
                                   "  b: {url: http://b}\ndefault_profile: b\n")
    listed = invoke("profiles", "list", "--profiles-file", str(path))
    assert listed.exit_code == 0 and "  b  (default)" in listed.output
    shown = invoke("profiles", "show", "a", "--profiles-file", str(path))
    assert shown.exit_code == 0 and "canary-tok-999" not in shown.output and "auth.token" in shown.output


def test_checks_lists_ids_in_order() -> None:
    result = invoke("checks")
    ids = [line.split()[0] for line in result.output.splitlines() if line and not line.startswith(" ")]
    assert result.exit_code == 0
    assert ids == ["reachability", "auth-backend", "credential-encoding", "dag-exists", "permissions",
                   "payload-schema", "paused", "test-trigger"]


def test_interrupt_exits_130_and_leaves_no_partial_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import airflow_doctor.doctor

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(airflow_doctor.doctor, "diagnose_profile", interrupted)
    path = write_profile(tmp_path, f"url: {BASE}\n", name="p.yml")
    result = invoke("check", "--profile", str(path), "-o", str(tmp_path / "r.md"))
    assert result.exit_code == 130 and "interrupted" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yml"]


def test_an_internal_error_outside_the_checks_exits_3_without_a_traceback(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import airflow_doctor.doctor

    def broken(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(airflow_doctor.doctor, "diagnose_profile", broken)
    path = write_profile(tmp_path, f"url: {BASE}\n", name="p.yml")
    result = invoke("check", "--profile", str(path))
    assert result.exit_code == 3 and "internal error (RuntimeError)" in result.output and "--debug" in result.output
    assert "Traceback" not in result.output
    assert "Traceback" in invoke("check", "--profile", str(path), "--debug").output
