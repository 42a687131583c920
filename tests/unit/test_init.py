"""`airflow-doctor init` and the hidden password prompt, driven through a real pseudo-terminal.

The server is a local socket answering what Airflow 3.3.2 answered (tests/recorded) to the questions reachability
asks; tests/integration/test_no_yaml_real.py runs init against the real server, where the check then passes.
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml

from tests.conftest import recorded
from tests.servers import LocalServer, Reply
from tests.terminal import Terminal

CANARY = "canary-typed-Pw-7q"
ANSWERS = {"/api/v2/version": "v2_version", "/api/v2/monitor/health": "health"}


def airflow_3_without_credentials(handler: BaseHTTPRequestHandler) -> Reply:
    """Airflow 3.3.2's recorded answers to the unauthenticated reads; 404 for anything else."""
    name = ANSWERS.get(handler.path.split("?")[0])
    if name is None:
        return Reply(404, {"Content-Type": "application/json"}, b'{"detail": "Not Found"}')
    data = recorded("airflow-3.3.2", name)
    return Reply(data["status"], {"Content-Type": "application/json"}, data["body"].encode())


@pytest.fixture
def airflow3():
    with LocalServer(airflow_3_without_credentials) as server:
        yield server


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "VIRTUAL_ENV")}
    return {**keep, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "NO_COLOR": "1",
            "COLUMNS": "200", "TERM": "dumb", "NO_PROXY": "127.0.0.1", **extra}


def test_init_probes_asks_only_what_airflow_3_needs_writes_references_and_checks_the_profile(
        airflow3: LocalServer, tmp_path: Path) -> None:
    terminal = Terminal(["init", "mine"], environment(tmp_path, MY_AF_PW=CANARY))
    terminal.expect("Airflow URL (what you open in the browser):")
    terminal.send(airflow3.url)
    probed = terminal.expect("User name [admin]:")
    assert "Airflow 3.3.2, API /api/v2; signs in with username and password exchanged for a token" in probed
    terminal.send("ops")
    terminal.expect("Where is the password of ops kept? An environment variable name, or a file path [AIRFLOW_PASSWORD]:")
    terminal.send("MY_AF_PW")
    terminal.expect("DAG id to check (Enter to skip):")
    terminal.send("doctor_demo")
    code = terminal.finish()
    written = tmp_path / "cfg" / "airflow-doctor" / "profiles.yml"
    assert yaml.safe_load(written.read_text()) == {"version": 1, "default_profile": "mine", "profiles": {"mine": {
        "url": airflow3.url, "auth": {"type": "jwt", "username": "ops", "password": "${MY_AF_PW}"},
        "dag_id": "doctor_demo"}}}
    assert oct(written.stat().st_mode & 0o777) == "0o600"
    assert f"Wrote profile 'mine' in {written}" in terminal.output
    assert "airflow-doctor 0.1.0 · profile mine" in terminal.output and "[✓] reachability" in terminal.output
    assert ("POST", "/auth/token") in [(method, path) for method, path, _ in airflow3.requests]
    assert code == 1 and CANARY not in terminal.output


def test_init_on_a_server_that_is_not_airflow_writes_nothing(tmp_path: Path) -> None:
    with LocalServer(lambda handler: Reply(200, {"Content-Type": "text/html"}, b"<html><title>Welcome</title></html>")) as other:
        terminal = Terminal(["init"], environment(tmp_path))
        terminal.expect("Airflow URL (what you open in the browser):")
        terminal.send(other.url)
        code = terminal.finish()
    assert code == 1 and "did not answer like Airflow" in terminal.output and "Nothing was written" in terminal.output
    assert not (tmp_path / "cfg" / "airflow-doctor" / "profiles.yml").exists()


def test_init_asks_again_for_a_url_without_a_scheme(airflow3: LocalServer, tmp_path: Path) -> None:
    terminal = Terminal(["init", "--profiles-file", str(tmp_path / "p.yml")], environment(tmp_path))
    terminal.expect("Airflow URL (what you open in the browser):")
    terminal.send(airflow3.url.removeprefix("http://"))
    terminal.expect("has no scheme; write it as https://")
    terminal.expect("Airflow URL (what you open in the browser):")
    terminal.send(airflow3.url)
    terminal.expect("User name [admin]:")
    terminal.send("")
    terminal.expect("[AIRFLOW_PASSWORD]:")
    terminal.send("~/.secrets/af-password")
    terminal.expect("(Enter to skip):")
    terminal.send("")
    terminal.finish()
    saved = yaml.safe_load((tmp_path / "p.yml").read_text())["profiles"]["default"]
    assert saved["auth"] == {"type": "jwt", "username": "admin", "password_file": "~/.secrets/af-password"}


def test_a_missing_password_is_asked_for_with_hidden_input_and_never_echoed(airflow3: LocalServer,
                                                                            tmp_path: Path) -> None:
    terminal = Terminal(["check", "--url", airflow3.url, "--user", "admin", "--only", "reachability", "--format",
                         "json"], environment(tmp_path))
    terminal.expect("Password of admin (hidden, not stored): ")
    terminal.send(CANARY)
    code = terminal.finish()
    assert code == 0 and CANARY not in terminal.output
    report = json.loads(terminal.output[terminal.output.index("{"):])
    assert report["results"][0]["status"] == "pass"
