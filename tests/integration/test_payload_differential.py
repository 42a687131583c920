"""Payload verdicts equal the server's: every body of the table is judged by the doctor (payload-schema, with the
server probe and run lookups it uses) and then really sent to real Airflow 2.10.5 and 3.3.2; accept or reject, and
the field refused, must agree. Bodies go to a paused DAG (its runs never start) or, for params, to doctor_demo;
every run a body created is deleted."""

from __future__ import annotations

import ast
import re
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from airflow_doctor.checks import payload_schema
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.checks.base import ApiFlavour, CheckContext, Facts
from airflow_doctor.checks.dag_exists import dag_info
from airflow_doctor.checks.readers.trigger_dates import DateKind
from airflow_doctor.probe import Probe
from airflow_doctor.sources.profile import Auth, AuthType, Profile
from airflow_doctor.sandbox import ADMIN_USER
from airflow_doctor.secrets import Secret
from tests.integration.conftest import Server

pytestmark = pytest.mark.integration

PAUSED, WITH_PARAMS = "doctor_paused", "doctor_demo"
SALT = secrets.randbelow(10_000_000)
"""Dates and ids unique to this session: the shared servers keep other sessions' runs."""
EXISTING = f"doctor_diff_existing_{SALT}"
UNIQUE_DATE = (f"2031-{1 + SALT % 12:02d}-{1 + SALT % 28:02d}T{SALT % 24:02d}:{SALT % 60:02d}:00Z")


@dataclass(frozen=True)
class Row:
    name: str
    body: Any
    dag: str = PAUSED
    raw: bool = False
    """Sent exactly as written; otherwise Airflow 3 bodies get the required "logical_date": null."""


ROWS = [
    Row("minimal", {"conf": {}}),
    Row("run_id instead of dag_run_id", {"run_id": "x1", "conf": {}}),
    Row("empty dag_run_id is replaced", {"dag_run_id": ""}),
    Row("dag_run_id over 250 characters", {"dag_run_id": "r" * 251}),
    Row("epoch number as logical_date", {"logical_date": 1_800_000_000 + SALT}, raw=True),
    Row("date without a zone", {"logical_date": "2024-01-01"}, raw=True),
    Row("conf as a JSON string", {"conf": "{\"a\": 1}"}),
    Row("conf as a list", {"conf": [1, 2]}),
    Row("the body is a list", [{"conf": {}}], raw=True),
    Row("execution_date", {"execution_date": UNIQUE_DATE}),
    Row("read-only dag_id", {"dag_id": PAUSED}),
    Row("run id with a space", {"dag_run_id": f"nightly load {SALT}"}),
    Row("note not a string", {"note": 5}),
    Row("half a data interval", {"data_interval_start": "2024-01-01T00:00:00Z"}),
    Row("logical_date null", {"logical_date": None}, raw=True),
    Row("empty body", {}, raw=True),
    Row("param below its minimum", {"conf": {"batch_size": 0}}, dag=WITH_PARAMS),
    Row("param valid", {"conf": {"batch_size": 3}}, dag=WITH_PARAMS),
    Row("existing run id", {"dag_run_id": EXISTING}),
    Row("fresh logical date", {"logical_date": UNIQUE_DATE.replace("2031", "2032")}, raw=True),
]
V2_ONLY_REFUSED = {"logical_date null"}


def sent_body(row: Row, server: Server) -> Any:
    if row.raw or server.major < 3 or not isinstance(row.body, dict) or "logical_date" in row.body:
        return row.body
    return {"logical_date": None, **row.body}


def doctor_context(server: Server, dag: str, payload: Any) -> CheckContext:
    secret = Secret(server.password(ADMIN_USER))
    if server.major >= 3:
        credentials = Credentials(Scheme.BEARER, secret=Secret(server.admin_headers()["Authorization"].split()[1]))
    else:
        credentials = Credentials(Scheme.BASIC, ADMIN_USER, secret)
    api = ApiFlavour.V2 if server.major >= 3 else ApiFlavour.V1
    facts = Facts(base_url=server.url, airflow_version=server.version, api=api, credentials=credentials)
    facts.dag = dag_info(server.api("GET", f"/dags/{dag}/details").json(), None)
    profile = Profile("differential", server.url, Auth(AuthType.NONE), dag, payload)
    return CheckContext(profile, facts, Probe(server.url))


def doctor_verdict(server: Server, row: Row, body: Any) -> set[str]:
    """The fields the doctor refuses (empty: it accepts the body)."""
    ctx = doctor_context(server, row.dag, body)
    if not isinstance(body, dict):
        return {"body"} if payload_schema.Check().run(ctx).status.value == "fail" else set()
    issues, _, judged, _ = payload_schema.assess(ctx, body)
    assert judged, "the server was not asked to judge the body"
    return {i.field for i in issues if i.kind not in set(DateKind)}
    # a date the server takes and the run then waits for (ahead of its clock, outside the DAG's dates) is a
    # verdict on the run, not on acceptance: tests/integration/test_scenarios_body.py proves those


def server_verdict(server: Server, row: Row, body: Any) -> set[str]:
    """What the real server refuses, by field; a run it creates is deleted at once."""
    response = server.api("POST", f"/dags/{row.dag}/dagRuns", json=body)
    if response.status_code in (200, 201):
        server.delete_run(row.dag, response.json()["dag_run_id"])
        return set()
    return {refused_field(response, body)}


def refused_field(response: requests.Response, body: Any) -> str:
    text = response.text
    if "data_interval" in text:
        return "data_interval_start"
    if response.status_code == 409:
        return "logical_date" if "logical" in text.lower() and "run_id" not in text.replace("dag_run_id", "") \
            and "DAGRun ID" not in text else "dag_run_id"
    if response.status_code == 500 or "run_id provided" in text:
        return "dag_run_id"
    if match := re.search(r"Invalid input for param (\w+)", text):
        return f"conf.{match.group(1)}"
    detail = response.json().get("detail") if "json" in response.headers.get("Content-Type", "") else None
    if isinstance(detail, list):
        return ".".join(str(p) for p in detail[0]["loc"] if p != "body") or "body"
    if isinstance(detail, str):
        if match := re.search(r" - '([^']+)'$", detail):
            return match.group(1)
        if detail.startswith("{"):
            return next(iter(ast.literal_eval(detail)))
        if "None" in detail and isinstance(body, dict):
            return next(k for k, v in body.items() if v is None)
        if "is not of type 'object'" in detail:
            return "body"
    raise AssertionError(f"unparsed refusal {response.status_code}: {text[:300]}")


@pytest.fixture
def existing_run(airflow: Server):
    body = {"dag_run_id": EXISTING, **({"logical_date": None} if airflow.major >= 3 else {})}
    assert airflow.api("POST", f"/dags/{PAUSED}/dagRuns", json=body).status_code in (200, 201)
    yield
    airflow.api("DELETE", f"/dags/{PAUSED}/dagRuns/{EXISTING}")


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_the_doctors_verdict_equals_the_servers(airflow: Server, row: Row, existing_run: None) -> None:
    body = sent_body(row, airflow)
    doctor = doctor_verdict(airflow, row, body)
    server = server_verdict(airflow, row, body)
    assert bool(doctor) == bool(server), (body, doctor, server)
    assert server <= doctor, (body, doctor, server)
