"""How the script encodes Basic credentials (auth.encoding): curl sends UTF-8, a requests script with str
credentials sends latin-1; auth-backend and credential-encoding judge the script's own encoding."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import pytest
import responses
from responses import matchers
from typer.testing import CliRunner

from airflow_doctor.checks import auth_backend, credential_encoding
from airflow_doctor.cli import app
from airflow_doctor.sources.curl import parse, to_profile
from airflow_doctor.model import Status
from airflow_doctor.sources.profiles_file import resolve
from tests.conftest import check_context, replay

BASE = "http://airflow.test"
PASSWORD = "pässwörd"


def utf8_basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8")).decode()


def context(encoding: str):  # type: ignore[no-untyped-def]
    ctx = check_context(BASE, api="/api/v1", version="2.10.5", username="user1", password=PASSWORD)
    ctx.profile = dataclasses.replace(ctx.profile, auth=dataclasses.replace(ctx.profile.auth, encoding=encoding))
    return ctx


def test_a_curl_import_says_the_script_sends_utf8() -> None:
    imported = to_profile(parse(f"curl -u 'user1:{PASSWORD}' {BASE}/api/v1/dags/etl/dagRuns -d '{{}}'", env={}))
    assert imported.profile.auth.encoding == "utf-8"


@responses.activate(assert_all_requests_are_fired=True)
def test_auth_backend_sends_the_credentials_as_the_curl_command_does_and_passes() -> None:
    replay(responses, BASE, "airflow-2.10.5", "dags_basic_utf8_user1",
           match=[matchers.header_matcher({"Authorization": utf8_basic("user1", PASSWORD)})])
    ctx = context("utf-8")
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.PASS and len(responses.calls) == 1
    assert credential_encoding.Check().run(ctx).status is Status.PASS


def test_a_requests_script_with_the_same_password_still_gets_the_latin1_finding() -> None:
    finding = credential_encoding.Check().run(context("latin-1"))
    assert "which requests sends as latin-1" in finding.summary
    assert finding.fix is not None and 'password.encode("utf-8")' in finding.fix.commands[0]


@pytest.mark.parametrize(("written", "encoding"), [("utf-8", "utf-8"), ("UTF8", "utf-8"), ("latin-1", "latin-1")])
def test_the_profile_says_how_the_script_encodes_basic_credentials(tmp_path: Path, written: str, encoding: str) -> None:
    path = tmp_path / "p.yml"
    path.write_text(f"url: {BASE}\nauth: {{type: basic, username: user1, password: '${{PW}}', encoding: {written}}}\n")
    profile, _ = resolve(str(path), None, env={"PW": PASSWORD})
    assert profile.auth.encoding == encoding


def test_an_unknown_encoding_is_one_sentence_naming_both_choices(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_text(f"url: {BASE}\nauth: {{type: basic, username: u, password: x-long-pw-1, encoding: ascii}}\n")
    result = CliRunner().invoke(app, ["profiles", "show", str(path)], env={"HOME": str(tmp_path)})
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "auth encoding 'ascii' is not known; use latin-1" in result.output and "utf-8" in result.output
