"""permissions and paused: their cases are tables (tests/cases/permissions.yml, paused.yml, run by test_cases.py);
what a table cannot say well stays here."""

from __future__ import annotations

import json

import pytest

from airflow_doctor.checks import dag_exists, paused
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from tests.conftest import check_context, recorded

BASE = "http://airflow.test"
V2, V3 = "airflow-2.10.5", "airflow-3.3.2"


def ctx_with_dag(label: str, details: str = "details_demo", **kw):
    api, version = ("/api/v1", "2.10.5") if label == V2 else ("/api/v2", "3.3.2")
    ctx = check_context(BASE, api=api, version=version, **kw)
    ctx.facts.credentials = Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password)
    ctx.facts.dag = dag_exists.dag_info(json.loads(recorded(label, details)["body"]), ctx.facts.api)
    return ctx


@pytest.mark.parametrize("auth_type, expected", [
    ("basic", "-u admin:\"$AIRFLOW_PASSWORD\""),
    ("token", "-H \"Authorization: Bearer $AIRFLOW_TOKEN\""),
    ("jwt", "-H \"Authorization: Bearer $JWT\""),
])
def test_unpause_curl_runs_as_printed_with_only_the_secret_in_the_environment(auth_type: str, expected: str) -> None:
    ctx = ctx_with_dag(V3, "details_paused", auth_type=auth_type, token="tok" if auth_type == "token" else None)
    scheme = Scheme.BASIC if auth_type == "basic" else Scheme.BEARER
    ctx.facts.credentials = Credentials(scheme, "admin" if auth_type != "token" else "", ctx.profile.auth.password)
    finding = paused.Check().run(ctx)
    curl = finding.fix.commands[1]
    assert finding.code is paused.Code.PAUSED
    assert "<" not in curl and "***" not in curl and expected in curl
    assert curl.splitlines()[-1].startswith("curl -sS --fail-with-body -X PATCH http://airflow.test/api/v2/dags/doctor_paused ")
    assert ("/auth/token" in curl) is (auth_type == "jwt")
