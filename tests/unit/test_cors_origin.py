"""The page's origin (checks/cors.py): how it is given (profile `origin:`, `--url ... --origin`), refused in one sentence
when it is not what a browser sends, shown with its source, and what the check does without one."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_doctor.checks.cors import Allowed, Code, Page
from airflow_doctor.cli import app
from airflow_doctor.model import Status
from tests.conftest import check_context, write_profile

NOT_ORIGINS = ["https://portal.example.com/", "https://portal.example.com/app", "portal.example.com",
               "HTTPS://portal.example.com", "https://Portal.example.com", "ftp://portal.example.com",
               "https://user@portal.example.com", "https://portal.example.com:99999", "https://", "*",
               "https://portal.example.com?x=1"]


def one_sentence(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("airflow-doctor: error: "), result.output
    return lines[0]


@pytest.mark.parametrize("origin", NOT_ORIGINS)
def test_a_profile_origin_that_is_not_an_origin_is_one_sentence_exit_2(tmp_path: Path, origin: str) -> None:
    path = write_profile(tmp_path, f"url: http://127.0.0.1:9\norigin: '{origin}'\n")
    line = one_sentence(CliRunner().invoke(app, ["check", "--profile", str(path)]))
    assert "'origin'" in line and "scheme://host[:port]" in line and "line 2" in line


@pytest.mark.parametrize("origin", NOT_ORIGINS[:4])
def test_an_origin_flag_that_is_not_an_origin_is_one_sentence_exit_2(origin: str) -> None:
    line = one_sentence(CliRunner().invoke(app, ["check", "--url", "http://127.0.0.1:9", "--origin", origin]))
    assert "--origin" in line and "scheme://host[:port]" in line


def test_an_origin_flag_without_url_says_to_add_it() -> None:
    line = one_sentence(CliRunner().invoke(app, ["check", "--origin", "https://portal.example.com"]))
    assert "--url" in line


@pytest.mark.parametrize("origin", ["https://portal.example.com", "http://localhost:3000", "http://[::1]:8080"])
def test_an_origin_is_shown_with_where_it_came_from(tmp_path: Path, origin: str) -> None:
    path = write_profile(tmp_path, f"url: http://127.0.0.1:9\norigin: '{origin}'\n")
    result = CliRunner().invoke(app, ["profiles", "show", str(path)])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.strip().startswith("origin"))
    assert origin in row and "profile.yml:2" in row


def test_without_an_origin_the_check_skips_saying_how_to_give_one() -> None:
    from airflow_doctor.checks.cors import Check

    ctx = check_context("http://airflow.test", api="/api/v1", version="2.10.5")
    finding = Check().run(ctx)
    assert (finding.status, finding.code) == (Status.SKIP, Code.SKIPPED_NO_ORIGIN.value)
    assert "origin:" in finding.summary and "--origin" in finding.summary


@pytest.mark.parametrize(("major", "origins", "separator"), [(2, "AIRFLOW__API__ACCESS_CONTROL_ALLOW_ORIGINS=", "space-separated"),
                                                            (3, "AIRFLOW__API__ACCESS_CONTROL_ALLOW_ORIGINS=", "comma-separated")])
def test_the_fix_uses_each_versions_list_syntax_and_never_a_wildcard(major: int, origins: str, separator: str) -> None:
    fix = Page("https://portal.example.com", ("authorization", "content-type"), major).fix()
    assert fix.commands[0] == origins + "https://portal.example.com"
    assert separator in fix.text and "Never '*' with credentials" in fix.text
    assert ("AIRFLOW__API__ACCESS_CONTROL_ALLOW_METHODS=GET,POST" in fix.commands) == (major >= 3)


@pytest.mark.parametrize(("allowed", "credentialed", "missing"), [
    (("authorization", "content-type"), False, ()),
    (("*",), False, ("authorization",)),
    (("*",), True, ("authorization", "content-type")),
    (("content-type",), False, ("authorization",)),
    ((), False, ("authorization", "content-type")),
])
def test_a_wildcard_header_never_covers_authorization(allowed: tuple[str, ...], credentialed: bool,
                                                      missing: tuple[str, ...]) -> None:
    answer = Allowed(200, "*", (), allowed, False, "")
    assert answer.missing_headers(("authorization", "content-type"), credentialed) == missing
