"""Past the first cause, on the real scenario servers: where the first cause's fix is known and safe (the sub-path
that answered, the redirect's target, the token /auth/token issues for Basic credentials), the later checks run on
it and the report names the next problem the script hits "after fixing the above", with its own code, while the
headline stays the first cause. Each scenario applies the first fix and sees the second problem remain, and the
printed request (built on what was learned) is executed: the server creates the run, which is then deleted.

The second problem is the paused DAG doctor_paused: a trigger is accepted and its run waits, so the executed
snippets' runs never start and no shared DAG changes state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.snippets import run_printed_snippets
from tests.integration.conftest import Server
from tests.integration.test_scenarios_auth import mounted, proxy
from tests.servers import LocalServer, Reply

pytestmark = pytest.mark.integration

DAG = "doctor_paused"


def check(profile: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    """The JSON report, and the terminal one of the same profile (what a user reads)."""
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json", *extra])
    assert result.exit_code in (0, 1), result.output
    terminal = CliRunner().invoke(app, ["check", "--profile", str(profile), *extra])
    return result.exit_code, json.loads(result.stdout), terminal.stdout


def result_of(data: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(r for r in data["results"] if r["check_id"] == check_id)


def assert_second_problem_after_the_first(data: dict[str, Any], terminal: str, first: str, first_code: str) -> None:
    """The headline is the first cause; the paused DAG is named after fixing it, with its own code."""
    head, paused = data["diagnosis"], result_of(data, "paused")
    assert head["check_id"] == first and head["code"] == first_code, head
    assert head["why_ui_works"] and head["fix"]["commands"]
    assert result_of(data, first)["assumed"], "the first cause's fix is what the later checks assumed"
    assert paused["status"] == "fail" and paused["code"] == "dag-paused", paused
    assert paused["after_fix_of"] == first and "unpause" in json.dumps(paused["fix"])
    assert all(r["status"] != "skip" for r in data["results"] if r["check_id"] in ("dag-exists", "permissions")), \
        "the checks that needed the first cause fixed ran on its assumed fix"
    assert "After fixing the above, the script would still hit:" in terminal
    assert "paused: " in terminal.split("After fixing the above", 1)[1]


# --- (a) a url without the sub-path, and a paused DAG ---------------------------------------------------

def test_a_url_without_the_sub_path_names_the_paused_dag_after_fixing_the_url_and_the_printed_request_works(
        scenario_server: Server, tmp_path: Path) -> None:
    with proxy(mounted(scenario_server.url)) as front:
        code, data, terminal = check(scenario_server.profile(tmp_path, url=front.url, dag_id=DAG, payload=None))
        assert code == 1
        assert_second_problem_after_the_first(data, terminal, "reachability", "airflow-under-subpath")
        assert f"the url is {front.url}/airflow" in result_of(data, "reachability")["assumed"]
        assert result_of(data, "reachability")["fix"]["commands"] == [f"url: {front.url}/airflow"]

        request = data["working_request"]
        assert request["snippets"] and f"{front.url}/airflow/api/" in request["snippets"][0]["code"]
        assert not any(n.startswith("Fix first: Airflow is served") for n in request["notes"]), request["notes"]
        run_printed_snippets(scenario_server, data, DAG)

        code, fixed, _ = check(scenario_server.profile(tmp_path, url=front.url + "/airflow", dag_id=DAG, payload=None))
        assert result_of(fixed, "reachability")["status"] == "pass", "the printed url works"
        assert fixed["diagnosis"]["check_id"] == "paused" and fixed["diagnosis"]["code"] == "dag-paused"
        assert result_of(fixed, "paused")["after_fix_of"] is None, "the second problem is now the first"


# --- (b) Basic auth sent to Airflow 3, and a paused DAG -------------------------------------------------

def test_basic_auth_sent_to_airflow_3_names_the_paused_dag_after_the_token_exchange_and_the_printed_request_works(
        scenario_server3: Server, tmp_path: Path) -> None:
    profile = scenario_server3.profile(tmp_path, auth_type="basic", dag_id=DAG, payload=None)
    code, data, terminal = check(profile)
    assert code == 1
    assert_second_problem_after_the_first(data, terminal, "auth-backend", "request-auth-scheme")
    assert "token from /auth/token" in result_of(data, "auth-backend")["assumed"]
    assert "Airflow 3 does not accept Basic auth" in data["diagnosis"]["summary"]
    run_printed_snippets(scenario_server3, data, DAG)

    code, fixed, _ = check(scenario_server3.profile(tmp_path, auth_type="jwt", dag_id=DAG, payload=None))
    assert result_of(fixed, "auth-backend")["status"] == "pass", "auth type jwt, as the fix says, works"
    assert fixed["diagnosis"]["check_id"] == "paused" and result_of(fixed, "paused")["after_fix_of"] is None


# --- (c) a redirect: the request that works goes to its target --------------------------------------------

def test_a_redirected_url_names_the_paused_dag_after_following_it_and_the_printed_request_to_the_target_works(
        scenario_server: Server, tmp_path: Path) -> None:
    with LocalServer(lambda h: Reply(308, {"Location": f"{scenario_server.url}{h.path}"})) as redirector:
        code, data, terminal = check(scenario_server.profile(tmp_path, url=redirector.url, dag_id=DAG, payload=None))
    assert code == 1
    assert_second_problem_after_the_first(data, terminal, "reachability", "api-redirected")
    assert "where the redirect points" in result_of(data, "reachability")["assumed"]
    request = data["working_request"]
    snippets = json.dumps(request["snippets"])
    assert f"{scenario_server.url}/api/" in snippets and redirector.url not in snippets
    run_printed_snippets(scenario_server, data, DAG)


# --- (d) the API at the url, /auth/token only under the sub-path: the request uses the endpoint that issued ----

def test_a_token_endpoint_found_under_the_sub_path_is_where_the_printed_request_logs_in_and_it_works(
        scenario_server3: Server, tmp_path: Path) -> None:
    with proxy(mounted(scenario_server3.url, api_at_root=True)) as front:
        code, data, terminal = check(scenario_server3.profile(tmp_path, url=front.url, dag_id=DAG, payload=None))
        assert code == 1
        assert_second_problem_after_the_first(data, terminal, "auth-backend", "token-endpoint-under-sub-path")
        snippets = json.dumps(data["working_request"]["snippets"])
        assert f"{front.url}/airflow/auth/token" in snippets, "the token comes from the endpoint that issued one"
        run_printed_snippets(scenario_server3, data, DAG)
