"""Real Airflow 2.10.5 and a non-ASCII password: curl sends UTF-8, a requests script sends latin-1. The doctor judges
the encoding the script uses: a curl command that works passes auth, the same credentials in a requests-style profile
get the encoding finding."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.conftest import Server, settled

pytestmark = pytest.mark.integration

USER = "user1"
CHECKS = ("reachability", "auth-backend", "credential-encoding")


def doctor(*args: str) -> dict[str, Any]:
    only = [arg for check in CHECKS for arg in ("--only", check)]
    result = CliRunner().invoke(app, ["check", *args, *only, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {r["check_id"]: r["status"] for r in report["results"] if r["check_id"] in CHECKS}


def read_dags_with_curl(server: Server) -> str:
    command = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--noproxy", "*", "--connect-timeout", "5",
               "-u", f"{USER}:{server.password(USER)}", f"{server.url}/api/v1/dags?limit=1"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout


def test_a_curl_command_with_a_non_ascii_password_passes_auth_as_curl_itself_does(
        airflow_servers: dict[str, Server]) -> None:
    server = settled(airflow_servers["2.10.5"])
    assert read_dags_with_curl(server) == "200"
    command = (f"curl -u {shlex.quote(f'{USER}:{server.password(USER)}')} -X POST "
               f"{server.url}/api/v1/dags/doctor_demo/dagRuns -H 'Content-Type: application/json' -d '{{\"conf\": {{}}}}'")
    report = doctor("--from-curl", command)
    assert statuses(report) == {c: "pass" for c in CHECKS}, report["diagnosis"]
    assert server.password(USER) not in json.dumps(report)


def test_the_same_credentials_in_a_requests_profile_still_get_the_encoding_finding(
        airflow_servers: dict[str, Server], tmp_path: Path) -> None:
    server = settled(airflow_servers["2.10.5"])
    report = doctor("--profile", str(server.profile(tmp_path, user=USER)))
    assert report["diagnosis"]["check_id"] == "credential-encoding"
    assert "requests sends as latin-1" in report["diagnosis"]["summary"]
    assert "UTF-8 bytes" in report["diagnosis"]["fix"]["text"]


def test_a_profile_that_says_the_script_sends_utf8_passes(airflow_servers: dict[str, Server], tmp_path: Path) -> None:
    server = settled(airflow_servers["2.10.5"])
    profile = server.profile(tmp_path, user=USER)
    text = profile.read_text()
    profile.write_text(text.replace("  password_file:", "  encoding: utf-8\n  password_file:"))
    assert statuses(doctor("--profile", str(profile))) == {c: "pass" for c in CHECKS}
