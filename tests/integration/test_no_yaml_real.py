"""Real Airflow 2.10.5 and 3.3.2 without a profile file: --from-curl gives the diagnosis the equivalent profile gives,
--url detects the auth type, and init (through a pseudo-terminal) writes a profile check then passes with."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.conftest import Server, settled
from tests.terminal import Terminal

pytestmark = pytest.mark.integration


def doctor(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(app, ["check", *args, "--format", "json"], env=env)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout), result.stderr


def token(server: Server) -> str:
    return server.admin_headers()["Authorization"].removeprefix("Bearer ")


def trigger_path(server: Server, tail: str = "") -> str:
    return f"/api/v{server.major - 1}/dags/doctor_demo/dagRuns{tail}"


@dataclass
class Equivalent:
    """A failing curl command and the profile that describes the same request."""

    name: str
    major: int
    credentials: Callable[[Server], str]
    """The curl options that authenticate."""
    auth: Callable[[Server], dict[str, Any]]
    """The same credentials as Server.profile keywords."""
    payload: dict[str, Any]
    tail: str = ""
    headline: str = ""
    says: str = ""


def basic(server: Server) -> str:
    return f"-u admin:{shlex.quote(server.password('admin'))}"


def bearer(prefix: str = "") -> Callable[[Server], str]:
    return lambda server: f"-H {shlex.quote(f'Authorization: Bearer {prefix}{token(server)}')}"


CASES = [
    Equivalent("payload-run-id", 2, basic, lambda s: {}, {"conf": {"batch_size": 3}, "run_id": "custom_run_id_123"},
               headline="payload-schema", says="run_id"),
    Equivalent("payload-run-id", 3, bearer(), lambda s: {"auth_type": "token", "token": token(s)},
               {"logical_date": None, "conf": {"batch_size": 3}, "run_id": "custom_run_id_123"},
               headline="payload-schema", says="run_id"),
    Equivalent("url-trailing-slash", 2, basic, lambda s: {}, {"conf": {}}, tail="/", headline="payload-schema",
               says="ends with a slash"),
    Equivalent("url-trailing-slash", 3, bearer(), lambda s: {"auth_type": "token", "token": token(s)},
               {"logical_date": None, "conf": {}}, tail="/", headline="payload-schema", says="ends with a slash"),
    Equivalent("encoding-bearer-prefix-twice", 3, bearer("Bearer "),
               lambda s: {"auth_type": "token", "token": "Bearer " + token(s)}, {"logical_date": None, "conf": {}},
               headline="credential-encoding", says="starts with 'bearer '"),
    Equivalent("auth-scheme-basic-to-airflow-3", 3, basic, lambda s: {"auth_type": "basic"},
               {"logical_date": None, "conf": {}}, headline="auth-backend", says="does not accept basic"),
    Equivalent("auth-scheme-bearer-to-airflow-2", 2, lambda s: "-H 'Authorization: Bearer some-token'",
               lambda s: {"auth_type": "token", "token": "some-token"}, {"conf": {}}, headline="auth-backend",
               says="bearer token was refused"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"airflow{c.major}-{c.name}")
def test_from_curl_gives_the_diagnosis_of_the_equivalent_profile(case: Equivalent, airflow_servers: dict[str, Server],
                                                                 tmp_path: Path) -> None:
    server = settled(airflow_servers["2.10.5" if case.major == 2 else "3.3.2"])
    path = trigger_path(server, case.tail)
    command = (f"curl -sS --connect-timeout 2 {case.credentials(server)} -X POST {server.url}{path} "
               f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(case.payload))}")
    profile = server.profile(tmp_path, payload=case.payload, **case.auth(server))
    profile.write_text(profile.read_text() + f"request: {{path: '{path}', method: POST, content_type: application/json}}\n")

    curl_code, from_curl, stderr = doctor("--from-curl", command)
    profile_code, from_profile, _ = doctor("--profile", str(profile))

    assert from_curl["diagnosis"]["check_id"] == case.headline, from_curl["diagnosis"]
    assert case.says in from_curl["diagnosis"]["summary"].lower()
    assert (curl_code, [(r["check_id"], r["status"], r["summary"]) for r in from_curl["results"]]) == \
           (profile_code, [(r["check_id"], r["status"], r["summary"]) for r in from_profile["results"]])
    assert from_curl["diagnosis"]["fix"] == from_profile["diagnosis"]["fix"]
    secret = server.password("admin") if "-u admin" in command else token(server)
    assert secret not in json.dumps(from_curl) + stderr
    if "some-token" not in command:
        assert "the curl command held a secret" in stderr


@pytest.mark.parametrize("major, detected", [(2, "basic"), (3, "jwt")])
def test_url_user_and_password_variable_are_a_full_diagnosis_with_the_auth_type_detected(
        major: int, detected: str, airflow_servers: dict[str, Server]) -> None:
    server = settled(airflow_servers["2.10.5" if major == 2 else "3.3.2"])
    code, data, _ = doctor("--url", server.url, "--user", "admin", "--password-env", "MY_AIRFLOW_PW", "--dag",
                           "doctor_demo", env={"MY_AIRFLOW_PW": server.password("admin")})
    assert code == 0, data["diagnosis"]
    statuses = {r["check_id"]: r["status"] for r in data["results"]}
    assert all(statuses[c] == "pass" for c in ("reachability", "auth-backend", "credential-encoding", "dag-exists",
                                               "permissions", "paused")), statuses
    assert detected in json.dumps(data["checked"]).lower()


def test_init_writes_a_profile_that_check_then_passes_with(airflow_servers: dict[str, Server], tmp_path: Path) -> None:
    server = settled(airflow_servers["3.3.2"])
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "200",
           "NO_PROXY": "127.0.0.1", "AF_ADMIN_PW": server.password("admin")}
    profiles = tmp_path / "profiles.yml"
    terminal = Terminal(["init", "local3", "--profiles-file", str(profiles)], env)
    terminal.expect("Airflow URL (what you open in the browser):")
    terminal.send(server.url)
    terminal.expect("User name [admin]:")
    terminal.send("admin")
    terminal.expect("[AIRFLOW_PASSWORD]:")
    terminal.send("AF_ADMIN_PW")
    terminal.expect("(Enter to skip):")
    terminal.send("doctor_demo")
    assert terminal.finish() == 0, terminal.output
    assert "Airflow 3.3.2, API /api/v2" in terminal.output and "No issues found" in terminal.output
    saved = yaml.safe_load(profiles.read_text())["profiles"]["local3"]
    assert saved["auth"] == {"type": "jwt", "username": "admin", "password": "${AF_ADMIN_PW}"}
    assert server.password("admin") not in profiles.read_text() + terminal.output
    code, data, _ = doctor("--profile", "local3", "--profiles-file", str(profiles),
                           env={"AF_ADMIN_PW": server.password("admin")})
    assert code == 0 and data["diagnosis"] is None
