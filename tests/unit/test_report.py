from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest

from airflow_doctor.model import CheckResult, Exchange, ExitCode, Fix, Report, Status
from airflow_doctor.report import (SCHEMA_VERSION, OutputRefused, choose_diagnosis, render_error_json, render_json,
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
    from airflow_doctor.report import choose_diagnosis, render_json, render_markdown, render_terminal

    finding = Finding(Status.FAIL, "'etl' is paused", fix=Fix("Unpause it:", ("airflow dags unpause etl",)),
                      why_ui_works="the UI's trigger form unpauses the DAG when it triggers")
    results = (CheckResult.from_finding("paused", "Runs will start", finding, (), 1.0),)
    report = Report("0.1", "now", "p", "http://h", (), (), results, diagnosis=choose_diagnosis(results))
    assert "Why the UI works: the UI's trigger form unpauses the DAG" in render_terminal(report)
    assert "**Why the UI works:** the UI's trigger form unpauses the DAG" in render_markdown(report)
    assert '"why_ui_works": "the UI\'s trigger form unpauses the DAG when it triggers"' in render_json(report)
