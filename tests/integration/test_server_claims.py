"""What the checks tell users about Airflow's answers, verified by asking real Airflow.

payload-schema says what the server would answer to a flagged payload; here the payload is really
sent (as admin, to a scratch DAG) and the status must be the one claimed, and the corrected payload
must be accepted. permissions says a Viewer cannot trigger; here a Viewer really tries.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from airflow_doctor.checks.readers.trigger_body import correct, param_issues, schema_issues
from tests.integration.conftest import PASSWORDS, Server

pytestmark = pytest.mark.integration

SCRATCH_DAG = "doctor_display_id"
RUN_STARTS_WITHIN = 300.0
"""A deadline for a queued run to start (seconds on an idle machine, minutes on a loaded one)."""
PARAMS_DAG = "doctor_demo"

PAYLOADS = [
    {"conf": {"batch_size": 3}, "run_id": "custom_run_id_123"},
    {"conf": {}, "run_id": None},
    {"logical_date": None, "conf": "{\"a\": 1}"},
    {"logical_date": "2024-01-01T00:00:00", "conf": {}},
    {"logical_date": "2024-01-02", "conf": {}},
    {"execution_date": "2024-02-01T00:00:00Z", "conf": {}},
    {"dag_id": "x", "conf": {}},
    {"conf": [1, 2]},
    {"data_interval_start": "2024-01-01T00:00:00Z", "conf": {}},
    {"logical_date": None, "conf": {}},
    {"dag_run_id": None, "conf": {}},
    {"dag_run_id": "nightly load/2024", "conf": {}},
    {"conf": None},
]


def _status_claimed(server_says: str) -> int:
    return int(server_says.split(" ")[0])


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: json.dumps(p)[:50])
def test_flagged_payloads_are_refused_as_claimed_and_corrections_are_accepted(airflow: Server, payload: dict) -> None:
    v2 = airflow.major >= 3
    issues = schema_issues(payload, v2, airflow.version)
    response = airflow.api("POST", f"/dags/{SCRATCH_DAG}/dagRuns", json=payload)
    if not issues:
        assert response.status_code in (200, 201), response.text
        return
    claimed = {_status_claimed(i.server_says) for i in issues}
    assert response.status_code in claimed, (issues, response.status_code, response.text)
    fixed = correct(payload, v2, airflow.version)
    assert schema_issues(fixed, v2, airflow.version) == []
    accepted = airflow.api("POST", f"/dags/{SCRATCH_DAG}/dagRuns", json=fixed)
    assert accepted.status_code in (200, 201), (fixed, accepted.text)


def test_a_fixed_logical_date_or_run_id_fails_the_second_time(airflow: Server) -> None:
    stamp = "2025-03-0{}T00:00:00Z"
    first = {"logical_date": stamp.format(1), "conf": {}}
    assert airflow.api("POST", f"/dags/{SCRATCH_DAG}/dagRuns", json=first).status_code in (200, 201)
    assert airflow.api("POST", f"/dags/{SCRATCH_DAG}/dagRuns", json=first).status_code == 409
    run = {"dag_run_id": f"doctor_fixed_{airflow.major}", "logical_date": stamp.format(2), "conf": {}}
    assert airflow.api("POST", f"/dags/{SCRATCH_DAG}/dagRuns", json=run).status_code in (200, 201)
    again = {**run, "logical_date": stamp.format(3)}
    assert airflow.api("POST", f"/dags/{SCRATCH_DAG}/dagRuns", json=again).status_code == 409


def test_conf_that_breaks_params_is_refused_with_the_claimed_status(airflow: Server) -> None:
    details = airflow.api("GET", f"/dags/{PARAMS_DAG}/details").json()
    from airflow_doctor.checks.dag_exists import dag_info

    params = dag_info(details, None).params
    bad = {"batch_size": "ten"}
    (issue,) = param_issues(bad, params)
    body = {"logical_date": None, "conf": bad} if airflow.major >= 3 else {"conf": bad}
    response = airflow.api("POST", f"/dags/{PARAMS_DAG}/dagRuns", json=body)
    assert response.status_code == _status_claimed(issue.server_says) == 400
    assert "Invalid input for param batch_size" in response.text


def test_a_viewer_really_cannot_trigger(airflow: Server) -> None:
    prefix = "/api/v2" if airflow.major >= 3 else "/api/v1"
    body = {"logical_date": None} if airflow.major >= 3 else {}
    if airflow.major >= 3:
        token = requests.post(f"{airflow.url}/auth/token", json={"username": "viewer", "password": PASSWORDS["viewer"]},
                              timeout=10).json()["access_token"]
        response = requests.post(f"{airflow.url}{prefix}/dags/{SCRATCH_DAG}/dagRuns", json=body,
                                 headers={"Authorization": f"Bearer {token}"}, timeout=10)
    else:
        response = requests.post(f"{airflow.url}{prefix}/dags/{SCRATCH_DAG}/dagRuns", json=body,
                                 auth=("viewer", PASSWORDS["viewer"]), timeout=10)
    assert response.status_code == 403


def test_a_paused_dag_accepts_the_trigger_and_the_run_stays_queued(airflow: Server) -> None:
    body = {"logical_date": None} if airflow.major >= 3 else {}
    response = airflow.api("POST", "/dags/doctor_paused/dagRuns", json=body)
    assert response.status_code in (200, 201) and response.json()["state"] == "queued"
    wait_for_scheduler_loops(airflow)
    run_id = response.json()["dag_run_id"]
    assert airflow.api("GET", f"/dags/doctor_paused/dagRuns/{run_id}").json()["state"] == "queued"


def test_latin1_basic_is_refused_and_utf8_basic_accepted_by_airflow_2(airflow2: Server) -> None:
    url = f"{airflow2.url}/api/v1/dags?limit=1"
    assert requests.get(url, auth=("user1", PASSWORDS["user1"]), timeout=10).status_code == 401
    assert requests.get(url, auth=(b"user1", PASSWORDS["user1"].encode()), timeout=10).status_code == 200


def test_session_only_backend_refuses_basic_but_not_the_browser_session(airflow2: Server, tmp_path: Path) -> None:
    import re

    base = airflow2.session_only_url
    password = airflow2.password("admin")
    assert requests.get(f"{base}/api/v1/dags?limit=1", auth=("admin", password), timeout=10).status_code == 401
    browser = requests.Session()
    page = browser.get(f"{base}/login/", timeout=10)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    login = browser.post(f"{base}/login/", data={"csrf_token": token, "username": "admin", "password": password},
                         allow_redirects=False, timeout=10)
    assert login.status_code == 302 and "/login" not in login.headers["Location"]
    assert browser.get(f"{base}/api/v1/dags?limit=1", timeout=10).status_code == 200


def test_max_active_runs_reached_by_a_named_run_fails_and_a_new_run_really_waits(airflow3: Server, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from airflow_doctor.cli import app

    holder = airflow3.api("POST", "/dags/doctor_limited/dagRuns", json={"logical_date": None}).json()["dag_run_id"]
    try:
        deadline = time.monotonic() + RUN_STARTS_WITHIN
        while airflow3.api("GET", f"/dags/doctor_limited/dagRuns/{holder}").json()["state"] != "running":
            assert time.monotonic() < deadline, "the holder run never started"
            time.sleep(1)
        result = CliRunner().invoke(app, ["check", "--profile", str(airflow3.profile(tmp_path, dag_id="doctor_limited",
                                                                                      payload=None)), "-f", "json"])
        paused = next(r for r in json.loads(result.stdout)["results"] if r["check_id"] == "paused")
        assert paused["status"] == "fail" and paused["code"] == "max-active-runs-reached", paused
        assert "max_active_runs is 1" in paused["summary"] and holder in paused["summary"], paused
        waiting = airflow3.api("POST", "/dags/doctor_limited/dagRuns", json={"logical_date": None}).json()["dag_run_id"]
        wait_for_scheduler_loops(airflow3)
        assert airflow3.api("GET", f"/dags/doctor_limited/dagRuns/{waiting}").json()["state"] == "queued"
    finally:
        for run_id in airflow3.run_ids("doctor_limited"):
            airflow3.api("PATCH", f"/dags/doctor_limited/dagRuns/{run_id}", json={"state": "failed"})


def wait_for_scheduler_loops(server: Server, loops: int = 3, deadline_s: float = 300.0) -> None:
    """Until the scheduler has heartbeated `loops` more times, each a pass of its loop that could have started a
    queued run: a fixed sleep proves nothing on a loaded machine, where the scheduler may not have run at all."""
    seen: set[str | None] = set()
    deadline = time.monotonic() + deadline_s
    while len(seen) <= loops:
        assert time.monotonic() < deadline, f"the scheduler heartbeated {len(seen)} times in {deadline_s:.0f} s"
        seen.add(server.scheduler_heartbeat())
        time.sleep(0.5)


REQUEST_SHAPES = [
    {"path": "{api}/dags/doctor_paused/dagRuns/"},
    {"path": "{other}/dags/doctor_paused/dagRuns"},
    {"path": "/dags/doctor_paused/trigger"},
    {"path": "/api/experimental/dags/doctor_paused/dag_runs"},
    {"path": "{api}/dags/DOCTOR_PAUSED/dagRuns"},
    {"method": "GET"},
    {"method": "PUT"},
    {"content_type": "application/x-www-form-urlencoded"},
]


@pytest.mark.parametrize("shape", REQUEST_SHAPES, ids=lambda s: json.dumps(s))
def test_request_shapes_are_answered_as_claimed(airflow: Server, shape: dict) -> None:
    from airflow_doctor.checks import payload_schema
    from airflow_doctor.checks.base import ApiFlavour, CheckContext, DagInfo, Facts
    from airflow_doctor.probe import Probe
    from airflow_doctor.sources.profile import Auth, AuthType, Profile, ScriptRequest

    api, other = ("/api/v2", "/api/v1") if airflow.major >= 3 else ("/api/v1", "/api/v2")
    request = ScriptRequest(shape.get("path", "").format(api=api, other=other) or None, shape.get("method", "POST"),
                            shape.get("content_type"))
    facts = Facts(base_url=airflow.url, airflow_version=airflow.version, api=ApiFlavour(api))
    facts.dag = DagInfo("doctor_paused", True, True, False, None, 16, {})
    ctx = CheckContext(Profile("t", airflow.url, Auth(AuthType.NONE), "doctor_paused", request=request), facts,
                       Probe(airflow.url))
    (issue,) = payload_schema.request_issues(ctx)
    path = request.path or f"{api}/dags/doctor_paused/dagRuns"
    body = {"logical_date": None} if airflow.major >= 3 else {}
    headers = airflow.admin_headers()
    if request.content_type:
        response = requests.request(request.method, airflow.url + path, data="{}", timeout=10, allow_redirects=False,
                                    headers={**headers, "Content-Type": request.content_type})
    else:
        response = requests.request(request.method, airflow.url + path, json=body, headers=headers, timeout=10,
                                    allow_redirects=False)
    claimed = issue.server_says.split(" ")[0]
    assert str(response.status_code) == claimed, (issue, response.status_code, response.text[:200])
