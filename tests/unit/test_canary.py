"""Canary secrets must not appear, in any derived form, in any output the tool produces."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from typer.testing import CliRunner

from airflow_doctor.checks import reachability
from airflow_doctor.cli import app
from tests.conftest import write_profile
from tests.servers import LocalServer, Reply, closed_port

USER = "svc-canary"
PASSWORD = "cänary-S3cret/+pw"
TOKEN = "canary-token-0123456789abcdef"


def derived_forms(secret: str, user: str = USER) -> list[str]:
    forms = [secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1],
             json.dumps(secret, ensure_ascii=False)[1:-1]]
    for codec in ("utf-8", "latin-1"):
        forms.append(base64.b64encode(f"{user}:{secret}".encode(codec)).decode())
        forms.append(base64.b64encode(secret.encode(codec)).decode().rstrip("="))
    return forms


def assert_clean(text: str, where: str) -> None:
    for secret in (PASSWORD, TOKEN):
        for form in derived_forms(secret):
            assert form not in text, f"{where} leaks {form!r}"


def echo_everything(handler) -> Reply:
    """A hostile server: demands credentials, then echoes what it was sent (decoded) in headers and body."""
    headers = dict(handler.headers.items())
    auth = headers.get("Authorization", "")
    scheme, _, credential = auth.partition(" ")
    secret = base64.b64decode(credential).decode("latin-1") if scheme == "Basic" else credential
    user, _, password = secret.rpartition(":") if scheme == "Basic" else ("u", "", secret)
    echoed = json.dumps({"detail": f"you sent {auth}", "headers": headers, "password": password, "note": secret})
    return Reply(401, {"Content-Type": "application/json", "X-Echo-Auth": auth, "Set-Cookie": f"session={password}",
                       "Location": f"http://{user}:{password}@elsewhere/?token={password}"}, echoed.encode())


OUTPUTS = [("text", 0), ("text", 1), ("text", 2), ("markdown", 0), ("json", 0), ("junit", 0)]


@pytest.mark.parametrize("auth_block", [
    f"auth:\n  type: basic\n  username: {USER}\n  password: ${{CANARY_PW}}\n",
    "auth:\n  type: token\n  token: ${CANARY_TOKEN}\n",
], ids=["basic", "token"])
@pytest.mark.parametrize("scenario", ["hostile-echo", "refused"])
def test_no_canary_in_any_format_or_verbosity(tmp_path: Path, auth_block: str, scenario: str) -> None:
    env = {"CANARY_PW": PASSWORD, "CANARY_TOKEN": TOKEN}
    server = LocalServer(echo_everything)
    with server:
        url = server.url if scenario == "hostile-echo" else f"http://127.0.0.1:{closed_port()}"
        profile = write_profile(tmp_path, f"url: {url}\n{auth_block}timeout: {{connect: 1, read: 3}}\n", name="c.yml")
        for output_format, verbosity in OUTPUTS:
            args = ["check", "--profile", str(profile), "--format", output_format] + ["-v"] * verbosity
            result = CliRunner().invoke(app, args, env=env)
            assert result.exit_code == 1, result.output
            assert_clean(result.output, f"{scenario} {output_format} -v{verbosity}")
            report = tmp_path / f"r-{output_format}-{verbosity}.out"
            written = CliRunner().invoke(app, [*args, "-o", str(report)], env=env)
            assert written.exit_code == 1
            assert_clean(report.read_text(), f"file {report.name}")
    if scenario == "hostile-echo":
        sent = [h.get("Authorization", "") for _, _, h in server.requests]
        assert any(s for s in sent), "the credential was never sent, so the echo path was not exercised"


def test_no_canary_in_debug_traces_of_a_crashing_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self, ctx):
        raise RuntimeError(f"crashed while holding {ctx.profile.auth.password.reveal()}")

    monkeypatch.setattr(reachability.Check, "run", explode)
    profile = write_profile(tmp_path, f"url: http://127.0.0.1:9\nauth:\n  type: basic\n  username: {USER}\n"
                                      "  password: ${CANARY_PW}\n", name="c.yml")
    for output_format in ("text", "markdown", "json"):
        result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--debug", "-f", output_format],
                                    env={"CANARY_PW": PASSWORD})
        assert result.exit_code == 1 and "RuntimeError" in result.output
        assert_clean(result.output, f"--debug {output_format}")


def test_no_canary_in_profile_errors(tmp_path: Path) -> None:
    profile = write_profile(tmp_path, f"url: https://{USER}:{quote(PASSWORD, safe='')}@airflow.example.com\n", name="c.yml")
    result = CliRunner().invoke(app, ["check", "--profile", str(profile)])
    assert result.exit_code == 2 and "credentials embedded" in result.output
    assert_clean(result.output, "profile error")


def test_no_canary_in_fleet_outputs(tmp_path: Path) -> None:
    with LocalServer(echo_everything) as server:
        path = write_profile(tmp_path, "profiles:\n"
                                       f"  basic: {{url: '{server.url}', auth: {{type: basic, username: {USER}, "
                                       "password: '${CANARY_PW}'}, timeout: {connect: 1, read: 3}}\n"
                                       f"  token: {{url: '{server.url}', auth: {{type: token, token: '${{CANARY_TOKEN}}'}}}}\n"
                                       f"  broken: {{url: 'https://{USER}:{quote(PASSWORD, safe='')}@h'}}\n", name="f.yml")
        for output_format in ("text", "markdown", "json", "junit"):
            result = CliRunner().invoke(app, ["check", "--all", "--profiles-file", str(path), "-f", output_format],
                                        env={"CANARY_PW": PASSWORD, "CANARY_TOKEN": TOKEN})
            assert result.exit_code == 2, result.output
            assert_clean(result.output, f"fleet {output_format}")
    assert any(h.get("Authorization") for _, _, h in server.requests)
