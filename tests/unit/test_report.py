from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import stat
from pathlib import Path

import pytest

from airflow_doctor.model import CheckResult, Exchange, ExitCode, Fix, Report, Status
from airflow_doctor.model import choose_diagnosis
from airflow_doctor.report import (SCHEMA_VERSION, OutputRefused, render_error_json, render_json,
                                   render_markdown, render_terminal, use_color, write_atomic)
from airflow_doctor.secrets import REGISTRY

EXCHANGE = Exchange("GET", "http://h/api/v1/dags", 401, 12.0, (("Authorization", "Basic admin:*** (password: 5 bytes)"),),
                    None, (("Content-Type", "application/problem+json"),), '{"detail": null, "title": "Unauthorized"}')


def _report(*results: CheckResult) -> Report:
    return Report("0.1.0", "2026-11-22 00:00:00 UTC", "prod", "http://h", (("Airflow", "2.10.5"),),
                  (("python", "3.11"),), results, choose_diagnosis(results))


FAILED = CheckResult("auth-backend", "Auth", Status.FAIL, "401 from GET /api/v1/dags", "why | it fails",
                     Fix("add basic_auth", ("AIRFLOW__API__AUTH_BACKENDS=...",)), (), (EXCHANGE,), 12.0)
EXPLAINER = CheckResult("credential-encoding", "Enc", Status.FAIL, "password has a trailing newline", "",
                        Fix("strip it"), explains=("auth-backend",))


def test_diagnosis_prefers_a_later_check_that_explains_the_first_failure() -> None:
    assert choose_diagnosis([FAILED, EXPLAINER]).check_id == "credential-encoding"
    assert choose_diagnosis([FAILED]).check_id == "auth-backend"
    assert choose_diagnosis([CheckResult("x", "X", Status.PASS, "ok")]) is None


def test_json_is_versioned_and_lists_every_check() -> None:
    data = json.loads(render_json(_report(CheckResult("reachability", "R", Status.PASS, "ok"), FAILED)))
    assert data["schema_version"] == 1 and data["exit_code"] == 1
    assert [(r["check_id"], r["status"]) for r in data["results"]] == [("reachability", "pass"), ("auth-backend", "fail")]
    assert data["diagnosis"]["check_id"] == "auth-backend" and data["summary"]["fail"] == 1
    assert data["results"][1]["evidence"][0]["status"] == 401


def test_markdown_has_header_table_rows_and_evidence_in_details() -> None:
    text = render_markdown(_report(FAILED))
    assert "| Airflow | 2.10.5 |" in text and "## Diagnosis: 401 from GET /api/v1/dags" in text
    assert "why | it fails" in text.split("### ")[1]
    assert "<details><summary>HTTP evidence (1 exchange)</summary>" in text
    assert "> GET http://h/api/v1/dags" in text


def test_terminal_shows_evidence_only_at_vv() -> None:
    assert "> GET http://h/api/v1/dags" not in render_terminal(_report(FAILED), verbosity=1)
    assert "> GET http://h/api/v1/dags" in render_terminal(_report(FAILED), verbosity=2)
    assert "Diagnosis (auth-backend)" in render_terminal(_report(FAILED), verbosity=0)


def test_write_atomic_refuses_a_text_holding_a_secret(tmp_path: Path) -> None:
    REGISTRY.add("canary-in-report")
    target = tmp_path / "r.md"
    with pytest.raises(OutputRefused):
        write_atomic(target, "oops canary-in-report", REGISTRY)
    assert not target.exists() and list(tmp_path.iterdir()) == []
    write_atomic(target, "clean")
    assert target.read_text() == "clean"


@pytest.mark.parametrize(("to_file", "terminal", "environ", "expected"), [
    (False, True, {}, True),
    (False, False, {}, False),
    (False, True, {"NO_COLOR": "1"}, False),
    (False, True, {"NO_COLOR": ""}, True),
    (False, False, {"FORCE_COLOR": "1"}, True),
    (False, False, {"FORCE_COLOR": "yes", "NO_COLOR": ""}, True),
    (False, False, {"FORCE_COLOR": ""}, False),
    (False, True, {"FORCE_COLOR": "0"}, True),
    (False, False, {"FORCE_COLOR": "0"}, False),
    (False, False, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    (True, True, {}, False),
    (True, True, {"FORCE_COLOR": "1"}, False),
], ids=["terminal", "pipe", "no-color", "empty-no-color-is-unset", "force-color-on-a-pipe",
        "force-color-with-empty-no-color", "empty-force-color-is-unset", "force-color-0-on-a-terminal",
        "force-color-0-on-a-pipe", "no-color-beats-force-color", "file", "file-even-with-force-color"])
def test_one_function_decides_colour_by_no_color_org_and_force_color(to_file: bool, terminal: bool,
                                                                     environ: dict, expected: bool) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return terminal

    assert use_color(to_file, Stream(), environ) is expected


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_report_file_gets_the_mode_open_would_give_it(tmp_path: Path, umask: int, mode: int) -> None:
    previous = os.umask(umask)
    try:
        write_atomic(tmp_path / "r.md", "report")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "r.md").stat().st_mode) == mode


def test_rewriting_a_report_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "r.md"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


def test_the_report_is_on_disk_before_it_replaces_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync file" if stat.S_ISREG(os.fstat(fd).st_mode) else "fsync directory")
        real_fsync(fd)

    def replace(src, dst) -> None:  # type: ignore[no-untyped-def]
        events.append(f"replace with {Path(src).read_text()!r}")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_atomic(tmp_path / "r.md", "all of it")
    assert events == ["fsync file", "replace with 'all of it'", "fsync directory"]


def test_an_error_document_carries_the_sentence_and_the_exit_code() -> None:
    data = json.loads(render_error_json("The profiles file x does not exist; create it.", ExitCode.USAGE))
    assert data == {"schema_version": SCHEMA_VERSION, "error": "The profiles file x does not exist; create it.",
                    "exit_code": 2}


def test_the_headline_says_why_the_ui_works_in_every_format() -> None:
    from airflow_doctor.model import CheckResult, Finding, Fix, Report, Status
    from airflow_doctor.model import choose_diagnosis
    from airflow_doctor.redact import redact_result
    from airflow_doctor.report import render_json, render_markdown, render_terminal

    finding = Finding(Status.FAIL, "'etl' is paused", fix=Fix("Unpause it:", ("airflow dags unpause etl",)),
                      why_ui_works="the UI's trigger form unpauses the DAG when it triggers")
    results = (redact_result(CheckResult.from_finding("paused", "Runs will start", finding, (), 1.0)),)
    report = Report("0.1", "now", "p", "http://h", (), (), results, diagnosis=choose_diagnosis(results))
    assert "Why the UI works: the UI's trigger form unpauses the DAG" in render_terminal(report)
    assert "**Why the UI works:** the UI's trigger form unpauses the DAG" in render_markdown(report)
    assert '"why_ui_works": "the UI\'s trigger form unpauses the DAG when it triggers"' in render_json(report)


# --- the report, for the person who receives it -------------------------------------------------------

import jsonschema  # noqa: E402

from airflow_doctor.doctor import diagnose_profile, what_was_checked  # noqa: E402
from airflow_doctor.model import Checked  # noqa: E402
from airflow_doctor.sources.profile import Auth, AuthType, Profile, ScriptRequest  # noqa: E402
from airflow_doctor.report import report_schema  # noqa: E402
from airflow_doctor.secrets import Secret  # noqa: E402
from tests.servers import closed_port  # noqa: E402

WARNED = CheckResult("reachability", "R", Status.WARN, "Airflow 3.1.3; no healthy scheduler",
                     "The scheduler has no recent heartbeat.", Fix("Start the scheduler.", ("airflow scheduler",)))


def _support_profile(url: str = "https://airflow.example.com") -> Profile:
    REGISTRY.add("pw-of-the-support-case")
    return Profile("prod", url, Auth(AuthType.BASIC, "svc_trigger", Secret("pw-of-the-support-case")),
                   dag_id="nightly_load", payload={"conf": {"api_key": "key-in-the-payload-123", "rows": 5}},
                   request=ScriptRequest("/api/v1/dags/nightly_load/dagRuns", "POST", "application/json"),
                   connect_timeout=3, read_timeout=45)


def _all_formats(report: Report) -> dict[str, str]:
    return {"terminal": render_terminal(report, verbosity=2), "markdown": render_markdown(report),
            "json": render_json(report)}


@pytest.mark.parametrize("form", ["terminal", "markdown", "json"])
def test_a_support_engineer_sees_what_was_checked_in_every_format(form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/corp/ca.pem")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxyuser:proxy-pass-987@proxy.corp:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    report = dataclasses.replace(_report(FAILED), checked=what_was_checked(_support_profile()))
    text = _all_formats(report)[form]
    text += json.loads(text)["checked"]["payload"] if form == "json" else ""
    for shown in ("basic", "svc_trigger", "nightly_load", '"rows": 5', "POST /api/v1/dags/nightly_load/dagRuns",
                  "application/json", "REQUESTS_CA_BUNDLE", "/etc/corp/ca.pem", "proxy.corp:3128"):
        assert shown in text, shown
    for secret in ("key-in-the-payload-123", "pw-of-the-support-case", "proxyuser", "proxy-pass-987"):
        assert secret not in text
    assert ("connect 3 s, read 45 s" in text) if form != "json" else '"read_timeout_s": 45' in text


def test_what_was_checked_names_the_tls_verdict_and_where_the_ca_bundle_comes_from() -> None:
    profile = _support_profile()
    assert what_was_checked(profile, {}).ca_source.startswith("the CA bundle that comes with requests")
    assert what_was_checked(profile, {"CURL_CA_BUNDLE": "/ca.pem"}).ca_source == "CA bundle /ca.pem, from $CURL_CA_BUNDLE"
    assert what_was_checked(dataclasses.replace(profile, verify="/p/ca.pem"), {}).ca_source.endswith("tls.verify")
    assert what_was_checked(dataclasses.replace(profile, verify=False), {}).tls.startswith("not verified")
    assert what_was_checked(dataclasses.replace(profile, url="http://h:8080"), {}).tls == "not used (http)"


def test_long_terminal_lines_wrap_with_a_hanging_indent_under_the_summary() -> None:
    long = CheckResult("dag-exists", "D", Status.FAIL, " ".join(["the DAG file fails to import"] * 6))
    report = _report(CheckResult("reachability", "R", Status.PASS, "ok " * 30), long)
    lines = render_terminal(report, width=60).splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("[✓] reachability"))
    indent = len("[✓] reachability  ")
    assert lines[row + 1].startswith(" " * indent + "ok") and not lines[row + 1].startswith(" " * (indent + 1))
    assert all(len(line) <= 60 for line in lines if "http" not in line)


def test_a_skipped_check_names_what_it_needs_instead_of_repeating_the_upstream_sentence() -> None:
    report = diagnose_profile(dataclasses.replace(_support_profile(f"http://127.0.0.1:{closed_port()}"), connect_timeout=20))
    results = {r.check_id: r for r in report.results}
    assert results["auth-backend"].summary == "skipped (needs reachability)"
    text = render_terminal(report, verbosity=1)
    assert text.count("nothing is listening there") == 1 and "[-] auth-backend" in text


def test_a_warning_prints_its_sentence_explanation_and_fix_once_at_every_verbosity() -> None:
    report = _report(WARNED, CheckResult("auth-backend", "A", Status.PASS, "Basic auth accepted"))
    for verbosity in (0, 1, 2):
        text = render_terminal(report, verbosity=verbosity)
        assert text.count("no healthy scheduler") == 1, text
        assert text.count("The scheduler has no recent heartbeat.") == 1
        assert text.count("Start the scheduler.") == 1
        assert "Warning (reachability)" in text and "[!] reachability" in text


def test_found_problems_is_said_only_when_a_check_failed() -> None:
    assert "Found problems" not in render_terminal(_report(WARNED))
    assert "Nothing failed; 1 warning to read" in render_terminal(_report(WARNED))
    assert "Found problems in 1 check" in render_terminal(_report(FAILED))
    assert "## Warning: Airflow 3.1.3" in render_markdown(_report(WARNED))


def test_the_machine_code_of_a_cause_is_in_json_and_never_in_prose() -> None:
    refused = CheckResult("dag-exists", "D", Status.FAIL, "GET http://h/x failed: the connection was refused",
                          code="tcp-refused")
    report = _report(refused)
    assert json.loads(render_json(report))["results"][0]["code"] == "tcp-refused"
    assert "tcp-refused" not in render_terminal(report, verbosity=1) + render_markdown(report)


def test_json_keys_are_snake_case_and_counts_and_timeouts_are_numbers() -> None:
    report = dataclasses.replace(_report(FAILED), facts=(("Airflow", "2.10.5"), ("API", "/api/v1")),
                                 environment=(("CA bundle", "/x"),), requests_made=7,
                                 checked=what_was_checked(_support_profile(), {}))
    data = json.loads(render_json(report))
    assert data["facts"] == {"airflow": "2.10.5", "api": "/api/v1"} and data["environment"] == {"ca_bundle": "/x"}
    assert data["requests_made"] == 7 and data["checked"]["connect_timeout_s"] == 3
    assert isinstance(data["results"][0]["duration_ms"], float)


def _keys(value) -> list[str]:  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        return [*value, *(k for v in value.values() for k in _keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def test_a_real_report_is_valid_against_the_shipped_schema_and_all_its_keys_are_snake_case() -> None:
    report = diagnose_profile(_support_profile(f"http://127.0.0.1:{closed_port()}"))
    data = json.loads(render_json(report))
    jsonschema.validate(data, report_schema())
    assert all(re.fullmatch(r"[a-z0-9_]+", k) for k in _keys(data)), sorted(set(_keys(data)))


@pytest.mark.parametrize("report", [_report(FAILED), _report(WARNED), _report(EXPLAINER, FAILED),
                                    _report(CheckResult("x", "X", Status.PASS, "ok"))])
def test_every_report_shape_is_valid_against_the_schema(report: Report) -> None:
    jsonschema.validate(json.loads(render_json(report)), report_schema())


def test_the_error_document_is_valid_against_the_schema() -> None:
    jsonschema.validate(json.loads(render_error_json("No profile named 'x'.", ExitCode.USAGE)), report_schema())


def test_the_schema_refuses_a_camel_case_key_or_a_number_as_text() -> None:
    data = json.loads(render_json(_report(FAILED)))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "requests_made": "7"}, report_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "facts": {"Airflow": "2.10.5"}}, report_schema())
