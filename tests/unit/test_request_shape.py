"""The request: block: how the script sends the trigger. Claims verified on real servers in test_server_claims.py."""

from __future__ import annotations

import json

import pytest
import responses

from airflow_doctor.checks import payload_schema
from airflow_doctor.checks.base import DagInfo
from airflow_doctor.model import Status
from airflow_doctor.sources.profile import ScriptRequest
from tests.conftest import check_context

V2_PATH, V3_PATH = "/api/v1/dags/doctor_demo/dagRuns", "/api/v2/dags/doctor_demo/dagRuns"


def issues(api: str, version: str, **request) -> list[tuple[str, str]]:
    ctx = check_context("http://airflow.test", api=api, version=version)
    ctx.profile = type(ctx.profile)(**{**ctx.profile.__dict__, "request": ScriptRequest(**request)})
    ctx.facts.dag = DagInfo("doctor_demo", False, True, False, "f.py", 16, {})
    return [(i.field, i.server_says.split(" ")[0]) for i in payload_schema.request_issues(ctx)]


@pytest.mark.parametrize("api, version, request_, expected", [
    ("/api/v1", "2.10.5", {"path": V2_PATH}, []),
    ("/api/v1", "2.10.5", {"path": "http://airflow.test" + V2_PATH}, []),
    ("/api/v1", "2.10.5", {"path": V2_PATH + "/"}, [("path", "404")]),
    ("/api/v2", "3.3.2", {"path": V3_PATH + "/"}, [("path", "405")]),
    ("/api/v2", "3.3.2", {"path": V2_PATH}, [("path", "405")]),
    ("/api/v1", "2.10.5", {"path": V3_PATH}, [("path", "404")]),
    ("/api/v1", "2.10.5", {"path": "/dags/doctor_demo/trigger"}, [("path", "400")]),
    ("/api/v2", "3.3.2", {"path": "/dags/doctor_demo/trigger"}, [("path", "405")]),
    ("/api/v1", "2.10.5", {"path": "/api/experimental/dags/doctor_demo/dag_runs"}, [("path", "404")]),
    ("/api/v1", "2.10.5", {"path": "/api/v1/dags/DOCTOR_DEMO/dagRuns"}, [("dag_id", "404")]),
    ("/api/v1", "2.10.5", {"method": "GET"}, [("method", "200")]),
    ("/api/v2", "3.3.2", {"method": "PUT"}, [("method", "405")]),
    ("/api/v1", "2.10.5", {"content_type": "application/x-www-form-urlencoded"}, [("content_type", "415")]),
    ("/api/v2", "3.3.2", {"content_type": "none"}, [("content_type", "422")]),
    ("/api/v2", "3.1.3", {"content_type": "text/plain"}, [("content_type", "accepted")]),
])
def test_request_shape_table(api: str, version: str, request_: dict, expected: list) -> None:
    assert issues(api, version, **request_) == expected


def test_a_ui_route_fails_the_check_with_the_exact_endpoint_to_use() -> None:
    ctx = check_context("http://airflow.test", api="/api/v1", version="2.10.5")
    ctx.profile = type(ctx.profile)(**{**ctx.profile.__dict__, "request": ScriptRequest("/dags/doctor_demo/trigger")})
    finding = payload_schema.Check().run(ctx)
    assert finding.status is Status.FAIL and "web UI's trigger form" in finding.summary
    assert "CSRF token is missing" in finding.explanation
    assert finding.fix is not None and finding.fix.commands[0] == "POST http://airflow.test" + V2_PATH


def with_credentials(path: str):
    from airflow_doctor.checks.readers.credentials import Credentials, Scheme

    ctx = check_context("http://airflow.test", api="/api/v1", version="2.10.5")
    ctx.profile = type(ctx.profile)(**{**ctx.profile.__dict__, "request": ScriptRequest(path)})
    ctx.facts.dag = DagInfo("doctor_demo", False, True, False, "f.py", 16, {})
    ctx.facts.credentials = Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password)
    return ctx


@responses.activate
def test_a_doubled_slash_airflow_2_serves_is_asked_and_not_failed() -> None:
    """Measured on 2.10.5: POST //api/v1/dags/x/dagRuns reaches the trigger endpoint (a base URL ending in '/')."""
    probe_refused = {"detail": "{'airflow_doctor_probe': ['Unknown field.']}", "status": 400}
    responses.post("http://airflow.test//api/v1/dags/doctor_demo/dagRuns", json=probe_refused, status=400)
    responses.post("http://airflow.test/api/v1/dags/doctor_demo/dagRuns", json=probe_refused, status=400)
    ctx = with_credentials("//api/v1/dags/doctor_demo/dagRuns")
    ctx.profile = type(ctx.profile)(**{**ctx.profile.__dict__, "payload": {"conf": {}}})
    finding = payload_schema.Check().run(ctx)
    assert finding.status is Status.PASS, finding
    assert json.loads(responses.calls[0].request.body) == {"conf": {}, "airflow_doctor_probe": True}


@responses.activate
def test_a_trailing_slash_is_sent_once_with_a_body_that_cannot_create_a_run_and_its_answer_quoted() -> None:
    responses.post("http://airflow.test" + V2_PATH + "/", status=404, json={
        "detail": "The requested URL was not found on the server.", "status": 404})
    finding = payload_schema.Check().run(with_credentials(V2_PATH + "/"))
    assert finding.status is Status.FAIL and "ends with a slash" in finding.summary
    assert "(the server answered: 404 (The requested URL was not found on the server.))" in finding.explanation
    assert "airflow_doctor_probe" in responses.calls[0].request.body.decode() and finding.why_ui_works


def test_without_credentials_the_request_problem_is_worded_as_what_the_version_answers() -> None:
    ctx = check_context("http://airflow.test", api="/api/v1", version="2.10.5")
    ctx.profile = type(ctx.profile)(**{**ctx.profile.__dict__, "request": ScriptRequest(V2_PATH + "/")})
    finding = payload_schema.Check().run(ctx)
    assert "(expected: Airflow 2.10.5 answers 404 'The requested URL" in finding.explanation
    assert "the server answers" not in finding.explanation and "the server answered" not in finding.explanation


def test_without_a_dag_id_the_fix_never_names_a_placeholder_url() -> None:
    ctx = check_context("http://airflow.test", api="/api/v1", version="2.10.5", dag_id=None)
    ctx.profile = type(ctx.profile)(**{**ctx.profile.__dict__, "request": ScriptRequest("/dags/x/trigger")})
    finding = payload_schema.Check().run(ctx)
    assert finding.fix is not None and "<dag_id>" not in finding.fix.text + "".join(finding.fix.commands)
