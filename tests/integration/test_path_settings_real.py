"""The profile's network settings against real Airflow: a gateway in front that refuses requests without its own API
key header (as Kong's key-auth answers), and a dead HTTP_PROXY in the environment. With headers: (or --header) every
check passes through the gateway, and both printed snippets, executed, create a run there (deleted after); with
proxy: none (or --proxy none) the dead proxy is bypassed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.snippets import run_printed_snippets
from tests.integration.conftest import Server
from tests.integration.test_scenarios_auth import check, forward
from tests.servers import LocalServer, Reply, closed_port

pytestmark = pytest.mark.integration

GATEWAY_KEY = "gw-integration-key-5e21a9"
DAG = "doctor_paused"
"""Paused: the runs the snippets create never start."""


@pytest.fixture(autouse=True)
def no_environment_path(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def gateway(server: Server) -> LocalServer:
    def route(handler) -> Reply:  # type: ignore[no-untyped-def]
        if handler.headers.get("X-Api-Key") != GATEWAY_KEY:
            return Reply(401, {"Content-Type": "application/json; charset=utf-8", "Server": "kong/3.6.1"},
                         b'{"message":"No API key found in request"}')
        return forward(handler, server.url, handler.path)
    return LocalServer(route)


def with_lines(path: Path, *lines: str) -> Path:
    path.write_text(path.read_text() + "".join(f"{line}\n" for line in lines))
    return path


def test_a_gateway_key_in_headers_passes_every_check_and_the_printed_request_creates_a_run(
        airflow: Server, tmp_path: Path) -> None:
    with gateway(airflow) as front:
        code, _ = check(airflow.profile(tmp_path, url=front.url, dag_id=DAG))
        assert code == 1, "without the gateway's key nothing reaches Airflow"
        profile = with_lines(airflow.profile(tmp_path, url=front.url, dag_id=DAG), "headers:", "  X-Api-Key: ${GW_KEY}")
        result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json"],
                                    env={"GW_KEY": GATEWAY_KEY})
        data = json.loads(result.stdout)
        failed = [r["check_id"] for r in data["results"] if r["status"] == "fail"]
        assert failed == ["paused"], result.output  # the DAG is paused on purpose (its runs never start)
        assert data["facts"]["airflow"] == airflow.version and data["environment"]["extra_headers"] == "X-Api-Key"
        assert GATEWAY_KEY not in result.output
        assert '-H "X-Api-Key: $GW_KEY"' in data["working_request"]["snippets"][0]["code"]
        run_printed_snippets(airflow, data, DAG, GW_KEY=GATEWAY_KEY)


def test_the_header_flag_reaches_airflow_through_the_gateway(airflow: Server, tmp_path: Path) -> None:
    with gateway(airflow) as front:
        result = CliRunner().invoke(app, ["check", "--url", front.url, "-H", "X-Api-Key: ${GW_KEY}", "--only",
                                          "reachability", "--format", "json"], env={"GW_KEY": GATEWAY_KEY})
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["facts"]["airflow"] == airflow.version


def test_proxy_none_bypasses_a_dead_proxy_in_the_environment(airflow: Server, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    code, data = check(airflow.profile(tmp_path, dag_id=DAG), "--only", "reachability")
    assert code == 1 and data["checked"]["proxy"], "the environment's proxy is in force by default"
    code, data = check(with_lines(airflow.profile(tmp_path, dag_id="doctor_demo"), "proxy: none"))
    assert code == 0 and data["facts"]["airflow"] == airflow.version
    assert data["checked"]["proxy"] is None and data["environment"]["proxy"] == "none (the profile's proxy: none)"
    result = CliRunner().invoke(app, ["check", "--url", airflow.url, "--proxy", "none", "--only", "reachability"])
    assert result.exit_code == 0, result.output
