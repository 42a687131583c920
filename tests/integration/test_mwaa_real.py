"""AWS MWAA, end to end: the doctor signs with botocore against a local MWAA stand-in (SigV4 verified by botocore's
own signer), which forwards to a real Airflow 2.10.5 / 3.3.2 (FAB, as MWAA runs it, and the simple auth manager)
as the user of the role the IAM policy maps the caller to. Every Airflow answer the doctor reads is the real
server's; what AWS itself answers is the stand-in's rendering of botocore's model (see README: verified vs not)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app

from tests.integration.conftest import FAB3, Server, settled
from tests.integration.dags import LONG_DAG_ID
from tests.integration.test_scenarios import first_failure, run_check, statuses
from tests.standins.mwaa_fixtures import ENVIRONMENT, SECRET_CANARY, SECRET_KEY, Mwaa, mwaa_factory, policy  # noqa: F401
from tests.standins.mwaa import Statement

pytestmark = pytest.mark.integration

KEYS = ("2.10.5", FAB3, "3.3.2")
UNKNOWN_LONG_DAG_ID = "orders_" + "x" * 50


@pytest.fixture(params=KEYS, ids=lambda key: f"airflow-{key}")
def any_airflow(request: pytest.FixtureRequest, airflow_servers: dict[str, Server]) -> Server:
    return settled(airflow_servers[request.param])


@pytest.fixture
def fab3(airflow_servers: dict[str, Server]) -> Server:
    return settled(airflow_servers[FAB3])


def diagnosis(data: dict[str, Any]) -> dict[str, Any]:
    assert data["diagnosis"] is not None, statuses(data)
    return data["diagnosis"]


def run_snippet(code: str, tmp_path: Path) -> str:
    """The printed snippet, as printed, with only the AWS variables in its environment; its printed run id."""
    script = tmp_path / "snippet.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")})
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


def assert_snippet_creates_a_run(data: dict[str, Any], server: Server, tmp_path: Path, dag_id: str = "doctor_demo") -> None:
    snippets = data["working_request"]["snippets"]
    assert snippets, data["working_request"]
    before = server.run_ids(dag_id)
    for snippet in snippets:
        run_id = run_snippet(snippet["code"], tmp_path)
        try:
            assert run_id in server.run_ids(dag_id), (run_id, before)
        finally:
            server.delete_run(dag_id, run_id)


@pytest.mark.parametrize("via", ["invoke-rest-api", "web-login"])
def test_every_check_runs_through_mwaa_and_the_printed_request_creates_a_run(any_airflow: Server, mwaa_factory, tmp_path,
                                                                            via: str) -> None:
    mwaa: Mwaa = mwaa_factory(any_airflow)
    runs_before = any_airflow.run_ids("doctor_demo")

    code, data = run_check(mwaa.profile(tmp_path, via=via, url=mwaa.web.url if via == "web-login" else None))

    assert code == 0, json.dumps(statuses(data))
    results = [(r["check_id"], r["status"], r["summary"]) for r in data["results"]]
    assert {s for c, s in statuses(data).items() if c not in ("reachability", "payload-schema", "test-trigger", "cors")} \
        == {"pass"}, results
    assert statuses(data)["reachability"] in ("pass", "warn"), results  # warn: a shared server's late heartbeat
    assert data["facts"]["platform"] == "AWS MWAA"
    assert any_airflow.run_ids("doctor_demo") == runs_before, "the doctor created a DAG run"
    if via == "invoke-rest-api":
        assert {call["role"] for call in mwaa.service.invocations} == {"User"}
        assert {call["Path"] for call in mwaa.service.invocations} >= {"/dags", "/dags/doctor_demo/details"}
    assert_snippet_creates_a_run(data, any_airflow, tmp_path)
    shown = json.dumps(data)
    assert SECRET_KEY not in shown
    assert not [value for value in mwaa.service.issued if value in shown or value[:40] in shown]
    if via == "web-login":
        assert mwaa.service.issued, "the doctor went through CreateWebLoginToken and the web server's login"


WEB_LOGIN_SCENARIOS = {
    "no-create-web-login-token-statement": ({"statements": policy("User", actions=("airflow:InvokeRestApi",))},
                                            "denied airflow:CreateWebLoginToken"),
    "web-token-expired": ({"web_token_ttl": 0.0}, "set no"),
}


@pytest.mark.parametrize("name", list(WEB_LOGIN_SCENARIOS))
@pytest.mark.parametrize("key", ["2.10.5", FAB3])
def test_web_login_cause_is_named(name: str, key: str, airflow_servers, mwaa_factory, tmp_path) -> None:
    options, words = WEB_LOGIN_SCENARIOS[name]
    mwaa: Mwaa = mwaa_factory(settled(airflow_servers[key]), **options)

    code, data = run_check(mwaa.profile(tmp_path, via="web-login", url=mwaa.web.url))

    assert code == 1 and first_failure(data) == "auth-backend", json.dumps(statuses(data))
    assert words in diagnosis(data)["summary"]
    assert diagnosis(data)["fix"] is not None


def test_trigger_through_invoke_rest_api_creates_and_deletes_its_run(fab3: Server, mwaa_factory, tmp_path) -> None:
    mwaa: Mwaa = mwaa_factory(fab3)

    try:
        code, data = run_check(mwaa.profile(tmp_path), "--trigger", "--yes", "--wait", "300", "--cleanup")
    finally:
        created = [c["Body"]["dag_run_id"] for c in mwaa.service.invocations
                   if c["Method"] == "POST" and "dag_run_id" in (c.get("Body") or {})]
        for run_id in created:
            fab3.delete_run("doctor_demo", run_id)
    trial = next(r for r in data["results"] if r["check_id"] == "test-trigger")
    assert code == 0 and trial["status"] == "pass", trial
    deleted = [c["Path"] for c in mwaa.service.invocations if c["Method"] == "DELETE"]
    assert len(created) == 1 and deleted == [f"/dags/doctor_demo/dagRuns/{created[0]}"], mwaa.service.invocations
    assert created[0] not in fab3.run_ids("doctor_demo")


SCENARIOS = {
    # name: (environment fields, policy roles, profile options, first failing check, words of the headline)
    "environment-updating": ({"status": "UPDATING"}, ("User",), {}, "reachability", ("UPDATING", "not AVAILABLE")),
    "older-than-2.4.3": ({"airflow_version": "2.2.2"}, ("User",), {}, "reachability", ("2.2.2", "InvokeRestApi")),
    "no-invoke-rest-api-statement": ({}, (), {}, "reachability", ("denied airflow:InvokeRestApi",)),
    "viewer-role": ({}, ("Viewer",), {}, "permissions", ("Viewer", "User")),
    "public-role": ({}, ("Public",), {}, "auth-backend", ("refused the mapped identity",)),
    "long-dag-id": ({}, ("User",), {"dag_id": UNKNOWN_LONG_DAG_ID}, "dag-exists", ("too long for InvokeRestApi", "64")),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_mwaa_cause_is_named_with_its_fix(name: str, airflow2: Server, mwaa_factory, tmp_path) -> None:
    fields, roles, options, failing, words = SCENARIOS[name]
    mwaa: Mwaa = mwaa_factory(airflow2, roles=roles, **fields)

    code, data = run_check(mwaa.profile(tmp_path, **options))

    assert code == 1 and first_failure(data) == failing, json.dumps(statuses(data))
    headline = diagnosis(data)
    for word in words:
        assert word.lower() in headline["summary"].lower(), headline["summary"]
    assert headline["fix"] is not None and headline["why_ui_works"].strip()


WILDCARD = [Statement("airflow:*", "*")]


@pytest.mark.parametrize("statements", [policy(), policy("Viewer"), WILDCARD], ids=["no-statement", "viewer", "wildcard"])
def test_the_named_iam_statement_fixes_it_when_added_to_the_policy(statements, fab3: Server, mwaa_factory,
                                                                   tmp_path) -> None:
    mwaa: Mwaa = mwaa_factory(fab3, statements=[*statements])
    _, data = run_check(mwaa.profile(tmp_path))
    fix = diagnosis(data)["fix"]
    added = json.loads(fix["commands"][0])
    assert added["Resource"] == f"arn:aws:airflow:us-east-1:111122223333:role/{ENVIRONMENT}/User"

    mwaa.service.principals[next(iter(mwaa.service.principals))].policy.append(
        Statement(added["Action"], added["Resource"], added["Effect"]))
    code, data = run_check(mwaa.profile(tmp_path))
    assert code == 0, json.dumps(statuses(data))


def test_private_web_server_is_explained_and_invoke_rest_api_still_works(airflow2: Server, mwaa_factory, tmp_path) -> None:
    from tests.servers import closed_port

    mwaa: Mwaa = mwaa_factory(airflow2, access_mode="PRIVATE_ONLY", web_host=f"http://127.0.0.1:{closed_port()}")

    code, data = run_check(mwaa.profile(tmp_path, via="web-login"))
    assert code == 1 and first_failure(data) == "reachability", json.dumps(statuses(data))
    assert "PRIVATE_ONLY" in diagnosis(data)["summary"]
    assert "VPN" in diagnosis(data)["why_ui_works"]

    code, data = run_check(mwaa.profile(tmp_path, via="invoke-rest-api"))
    assert code == 0, json.dumps(statuses(data))


def wait_for_dag(server: Server, dag_id: str, timeout: float = 600.0) -> None:
    """A deadline, not a wait: the DAG file is parsed within seconds, minutes on a loaded machine."""
    deadline = time.monotonic() + timeout
    while server.api("GET", f"/dags/{dag_id}").status_code != 200:
        assert time.monotonic() < deadline, f"{dag_id} was not parsed within {timeout:.0f} s"
        time.sleep(1)


def test_a_dag_id_over_the_path_limit_is_triggered_by_the_printed_web_login_request(airflow2: Server, mwaa_factory,
                                                                                    tmp_path) -> None:
    wait_for_dag(airflow2, LONG_DAG_ID)
    mwaa: Mwaa = mwaa_factory(airflow2)

    code, data = run_check(mwaa.profile(tmp_path, dag_id=LONG_DAG_ID))
    assert code == 1 and first_failure(data) == "dag-exists", json.dumps(statuses(data))
    assert "too long for InvokeRestApi" in diagnosis(data)["summary"]
    [snippet] = data["working_request"]["snippets"]
    assert "create_web_login_token" in snippet["code"] and "invoke_rest_api" not in snippet["code"]
    assert_snippet_creates_a_run(data, airflow2, tmp_path, LONG_DAG_ID)

    code, data = run_check(mwaa.profile(tmp_path, dag_id=LONG_DAG_ID, via="web-login", url=mwaa.web.url))
    assert statuses(data)["dag-exists"] == "pass" and statuses(data)["permissions"] == "pass", json.dumps(statuses(data))


def test_aws_secret_key_echoed_by_the_service_is_masked_in_every_format(airflow2: Server, mwaa_factory,
                                                                        tmp_path) -> None:
    """The stand-in puts the caller's secret access key in its AccessDeniedException message: the doctor registered
    it from boto3's credentials, so no output carries it."""
    mwaa: Mwaa = mwaa_factory(airflow2, roles=(), canary=SECRET_KEY)
    profile = mwaa.profile(tmp_path)
    for output in ("json", "markdown", "text"):
        result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", output, "-vv"])
        assert result.exit_code == 1, result.output
        assert SECRET_CANARY not in result.output
        assert "AccessDeniedException" in result.output
