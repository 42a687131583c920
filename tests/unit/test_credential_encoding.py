from __future__ import annotations

import base64

import pytest
import responses

from airflow_doctor.checks import credential_encoding
from airflow_doctor.checks.readers.credentials import Credentials, Scheme, Trial
from airflow_doctor.model import Status
from tests.conftest import check_context, replay

BASE = "http://airflow.test"


def run(**kw):
    api = kw.pop("api", "/api/v1")
    ctx = check_context(BASE, api=api, version="2.10.5" if api == "/api/v1" else "3.3.2", **kw)
    return ctx, credential_encoding.Check()


def test_non_ascii_password_confirmed_by_the_utf8_trial_explains_auth_backend() -> None:
    ctx, check = run(username="user1", password="pässwörd")
    password = ctx.profile.auth.password
    ctx.facts.trials += [Trial(Credentials(Scheme.BASIC, "user1", password), 401),
                         Trial(Credentials(Scheme.BASIC, "user1", password, "utf-8"), 200)]
    finding = check.run(ctx)
    assert finding.status is Status.FAIL and "latin-1" in finding.summary and "confirmed by the server" in finding.summary
    assert finding.explains == ("auth-backend",)
    assert finding.fix is not None and 'password.encode("utf-8")' in finding.fix.commands[0]


def test_non_ascii_password_is_harmless_for_airflow_3_json_login() -> None:
    ctx, check = run(api="/api/v2", auth_type="jwt", username="user1", password="pässwörd")
    assert check.run(ctx).status is Status.PASS


@responses.activate(assert_all_requests_are_fired=True)
def test_without_auth_backend_trials_the_check_asks_the_server_itself() -> None:
    replay(responses, BASE, "airflow-2.10.5", "dags_basic_wrong", path="/api/v1/dags?limit=1")
    replay(responses, BASE, "airflow-2.10.5", "dags_basic_admin", path="/api/v1/dags?limit=1")
    ctx, check = run(password="secret-pw\n", sources={"auth.password": "file /run/secrets/pw (p.yml:4)"})
    finding = check.run(ctx)
    assert finding.status is Status.FAIL and "trailing newline" in finding.summary
    assert "comes from a file" in finding.explanation


@pytest.mark.parametrize("username, password, fragment", [
    ("svc:trigger", "pw-123456", "contains ':'"),
    ("admin", base64.b64encode(b"admin:hunter2").decode(), "base64-encoded 'user:password'"),
    ("admin", "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl", "is a JWT"),
    ("admin", "p%40ssword", "URL-encoded"),
    ("admin", "pass€word", "outside latin-1"),
])
def test_local_findings_about_basic_credentials(username: str, password: str, fragment: str) -> None:
    ctx, check = run(username=username, password=password)
    ctx.facts.trials.append(Trial(Credentials(Scheme.BASIC, username, ctx.profile.auth.password), 401))
    ctx.facts.api = None  # no server confirmation in this table
    finding = check.run(ctx)
    assert finding.status is Status.FAIL and any(fragment in d for d in finding.details), finding.details


@pytest.mark.parametrize("token, fragment", [
    ("Bearer eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJhZG1pbiJ9.c2ln", "starts with 'Bearer '"),
    (base64.b64encode(b"admin:hunter2").decode(), "base64 'user:password' pair"),
])
def test_local_findings_about_tokens(token: str, fragment: str) -> None:
    ctx, check = run(auth_type="token", password=None, token=token)
    ctx.facts.trials.append(Trial(Credentials(Scheme.BEARER, secret=ctx.profile.auth.token), 403))
    ctx.facts.api = None
    finding = check.run(ctx)
    assert finding.status is Status.FAIL and fragment in finding.summary


def test_plain_credentials_pass() -> None:
    ctx, check = run(username="admin", password="Plain-Ascii-123")
    assert check.run(ctx).status is Status.PASS


def test_a_password_file_with_a_trailing_newline_says_why_the_typed_password_works() -> None:
    ctx, check = run(username="admin", password="secret-pw\n", sources={"auth.password": "file /run/secrets/pw"})
    password = ctx.profile.auth.password
    ctx.facts.trials += [Trial(Credentials(Scheme.BASIC, "admin", password), 401),
                         Trial(Credentials(Scheme.BASIC, "admin", password.__class__("secret-pw"), stripped=True), 200)]
    finding = check.run(ctx)
    assert finding.status is Status.FAIL and "trailing newline" in finding.summary
    assert "typed into the UI's login form has no trailing newline" in finding.why_ui_works
    assert finding.fix is not None and any(".strip()" in c for c in finding.fix.commands)
