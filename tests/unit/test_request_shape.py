"""The request: block: how the script sends the trigger. Claims verified on real servers in test_server_claims.py."""

from __future__ import annotations

import pytest

from airflow_doctor.checks import payload_schema
from airflow_doctor.checks.base import DagInfo
from airflow_doctor.model import Status
from airflow_doctor.profiles import ScriptRequest
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
    ("/api/v1", "2.10.5", {"path": "/api/v1/dags/DOCTOR_DEMO/dagRuns"}, [("path", "404")]),
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
