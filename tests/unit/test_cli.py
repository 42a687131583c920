from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import responses
from typer.testing import CliRunner

from airflow_doctor import __version__
from airflow_doctor.cli import app
from airflow_doctor.model import ExitCode
from airflow_doctor.report import SCHEMA_VERSION
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
    assert result.exit_code == 0 and data["exit_code"] == 0 and data["facts"]["airflow"] == "3.3.2"
    assert [r["check_id"] for r in data["results"]] == ["reachability"]


def test_a_failed_check_exits_1_and_the_report_file_is_written(tmp_path: Path) -> None:
    path = write_profile(tmp_path, f"url: http://127.0.0.1:{closed_port()}\n", name="p.yml")
    out = tmp_path / "report.md"
    result = invoke("check", "--profile", str(path), "--format", "markdown", "-o", str(out))
    assert result.exit_code == 1
    assert "## Diagnosis: GET " in out.read_text() and "the connection was refused" in out.read_text()


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
                   "payload-schema", "cors", "paused", "test-trigger"]


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


# --- exit codes ---------------------------------------------------------------------------------------

def documented_codes(text: str, pattern: str) -> set[int]:
    return {int(code) for code in re.findall(pattern, text, re.M)}


def test_help_documents_every_exit_code_of_the_enum_and_no_other() -> None:
    for args in (["--help"], ["check", "--help"]):
        exit_codes_part = invoke(*args).output.split("Exit codes:")[1]
        assert documented_codes(exit_codes_part, r"^\s+(\d+)\s+\S") == {int(code) for code in ExitCode}


def test_the_readme_table_documents_every_exit_code_of_the_enum_and_no_other() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert documented_codes(readme, r"^\| (\d+) \|") == {int(code) for code in ExitCode}


# --- colour -------------------------------------------------------------------------------------------

ESC = "\x1b["
COLOUR_CASES = [
    ({"FORCE_COLOR": "1", "NO_COLOR": None}, True),
    ({"FORCE_COLOR": "1", "NO_COLOR": ""}, True),
    ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    ({"FORCE_COLOR": "0", "NO_COLOR": None}, False),
    ({"FORCE_COLOR": None, "NO_COLOR": None}, False),
]
COLOUR_IDS = ["force-color", "force-color-empty-no-color", "no-color-wins", "force-color-0", "a-pipe"]
COMMANDS = {"check": ["-p", "refused"], "check --all": ["--all"]}


def refused_profiles(tmp_path: Path) -> Path:
    return write_profile(tmp_path, f"profiles:\n  refused: {{url: 'http://127.0.0.1:{closed_port()}'}}\n")


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
@pytest.mark.parametrize(("env", "coloured"), COLOUR_CASES, ids=COLOUR_IDS)
def test_check_and_check_all_colour_stdout_by_the_same_rules(tmp_path: Path, command: str, env: dict,
                                                             coloured: bool) -> None:
    result = invoke("check", *COMMANDS[command], "--profiles-file", str(refused_profiles(tmp_path)), env=env)
    assert result.exit_code == 1 and "refused" in result.stdout
    assert (ESC in result.stdout) is coloured


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_force_color_never_writes_escape_codes_into_a_report_file(tmp_path: Path, command: str) -> None:
    out = tmp_path / "report.txt"
    result = invoke("check", *COMMANDS[command], "--profiles-file", str(refused_profiles(tmp_path)), "-o", str(out),
                    env={"FORCE_COLOR": "1", "NO_COLOR": None})
    assert result.exit_code == 1 and "refused" in out.read_text()
    assert ESC not in out.read_text()


# --- --format json: always a JSON document ------------------------------------------------------------

def bad_profile_file(tmp_path: Path) -> Path:
    return write_profile(tmp_path, "profiles:\n  a: {url: airflow.example.com}\n  b: [oops\n", name="bad.yml")


JSON_USAGE_ERRORS = {
    "missing profiles file": (lambda tmp: ["-p", "prod", "--profiles-file", str(tmp / "nope.yml")], "does not exist"),
    "profile without a scheme": (lambda tmp: ["-p", str(write_profile(tmp, "url: airflow.example.com\n", "p.yml"))],
                                 "has no scheme"),
    "unknown check": (lambda tmp: ["-p", str(write_profile(tmp, f"url: {BASE}\n", "p.yml")), "--only", "nope"],
                      "There is no check 'nope'"),
    "bad --wait": (lambda tmp: ["-p", "prod", "--wait", "-1"], "--wait"),
    "unreadable --payload": (lambda tmp: ["-p", str(write_profile(tmp, f"url: {BASE}\n", "p.yml")),
                                          "--payload", str(tmp / "none.json")], "cannot be read"),
    "--all with a bad profiles file": (lambda tmp: ["--all", "--profiles-file", str(bad_profile_file(tmp))],
                                       "is not valid YAML"),
    "--all with --trigger": (lambda tmp: ["--all", "--trigger"], "drop --profile and --trigger"),
}


@pytest.mark.parametrize("flag", [["--format", "json"], ["-f", "json"], ["--format=json"]], ids=["long", "short", "equals"])
@pytest.mark.parametrize("case", JSON_USAGE_ERRORS, ids=list(JSON_USAGE_ERRORS))
def test_a_usage_error_with_format_json_still_prints_a_json_document(tmp_path: Path, case: str, flag: list) -> None:
    arguments, words = JSON_USAGE_ERRORS[case]
    result = invoke("check", *flag, *arguments(tmp_path))
    data = json.loads(result.stdout)
    assert result.exit_code == 2 and data["exit_code"] == 2 and data["schema_version"] == SCHEMA_VERSION
    assert words in data["error"] and "\n" not in data["error"]
    assert words in result.stderr


@pytest.mark.parametrize("debug", [[], ["--debug"]], ids=["plain", "debug"])
def test_an_internal_error_with_format_json_prints_a_json_document_with_exit_code_3(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, debug: list) -> None:
    import airflow_doctor.doctor

    def broken(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(airflow_doctor.doctor, "diagnose_profile", broken)
    path = write_profile(tmp_path, f"url: {BASE}\n", name="p.yml")
    result = invoke("check", "--profile", str(path), "--format", "json", *debug)
    data = json.loads(result.stdout)
    assert result.exit_code == 3 and data["exit_code"] == 3 and "internal error (RuntimeError)" in data["error"]


def test_without_format_json_an_error_leaves_stdout_empty(tmp_path: Path) -> None:
    result = invoke("check", "--profile", "prod", "--profiles-file", str(tmp_path / "nope.yml"))
    assert result.exit_code == 2 and result.stdout == "" and "does not exist" in result.stderr


# --- error sentences pass the redaction policy ------------------------------------------------------

SERVER_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdmMtYm90In0.c2lnbmF0dXJlLXBhcnQ"


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_an_internal_error_trace_masks_a_token_the_tool_never_registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                         output_format: str) -> None:
    import airflow_doctor.doctor

    def leaky(*args, **kwargs):
        raise RuntimeError(f"proxy answered: Authorization: Bearer {SERVER_JWT}; api_key=k-7781-secret")

    monkeypatch.setattr(airflow_doctor.doctor, "diagnose_profile", leaky)
    path = write_profile(tmp_path, f"url: {BASE}\n", name="p.yml")
    result = invoke("check", "--profile", str(path), "--debug", "--format", output_format)
    assert result.exit_code == 3 and "RuntimeError" in result.stderr
    assert SERVER_JWT not in result.output and "k-7781-secret" not in result.output


def test_a_usage_error_never_repeats_a_registered_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import airflow_doctor.doctor
    from airflow_doctor.errors import UsageError
    from airflow_doctor.secrets import REGISTRY

    REGISTRY.add("registered-pw-4410")

    def complains(*args, **kwargs):
        raise UsageError("the server rejected registered-pw-4410; fix the profile.")

    monkeypatch.setattr(airflow_doctor.doctor, "diagnose_profile", complains)
    path = write_profile(tmp_path, f"url: {BASE}\n", name="p.yml")
    result = invoke("check", "--profile", str(path), "--format", "json")
    assert result.exit_code == 2 and "registered-pw-4410" not in result.output
    assert "the server rejected" in json.loads(result.stdout)["error"]


# --- --version stays fast --------------------------------------------------------------------------

def test_version_is_answered_before_typer_rich_requests_or_yaml_are_imported() -> None:
    import subprocess
    import sys

    probe = ("import sys; sys.argv = ['airflow-doctor', '--version']\n"
             "from airflow_doctor.__main__ import main; main()\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'rich', 'requests', 'yaml', 'click'}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    first, modules = result.stdout.splitlines()
    assert first.startswith(f"airflow-doctor {__version__} from ") and modules == "[]", result.stderr
