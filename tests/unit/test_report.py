from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_doctor.model import CheckResult, Exchange, Fix, Report, Status
from airflow_doctor.report import OutputRefused, choose_diagnosis, render_json, render_markdown, render_terminal, write_atomic
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
