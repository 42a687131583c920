"""The report the doctor assembles: built under the checks' crash guard, and redacted outside the check results."""

from __future__ import annotations

import pytest
import responses

from airflow_doctor.checks.readers import working_request
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.checks.base import ApiFlavour, Facts
from airflow_doctor.doctor import diagnose_profile, redacted_request
from airflow_doctor.model import Status
from airflow_doctor.runner import Selection
from tests.conftest import check_context, recorded
from tests.servers import closed_port

PASSWORD = "pw-Canary-77"


def unreachable_profile():
    return check_context(f"http://127.0.0.1:{closed_port()}", api="/api/v1", version="2.10.5", password=PASSWORD).profile


def test_a_crash_while_building_the_working_request_is_reported_with_the_rest_of_the_report_intact(monkeypatch) -> None:
    def crash(*args):
        raise KeyError("working request")

    monkeypatch.setattr(working_request, "build", crash)
    report = diagnose_profile(unreachable_profile())
    crashed = report.results[-1]
    assert (crashed.check_id, crashed.status) == ("working-request", Status.FAIL)
    assert crashed.summary.startswith("internal error in airflow-doctor (KeyError)")
    assert report.results[0].check_id == "reachability" and report.working_request is None
    assert report.diagnosis is not None and report.diagnosis.check_id == "reachability"


def test_a_crash_while_choosing_the_diagnosis_is_reported_and_the_working_request_kept(monkeypatch) -> None:
    def crash(results):
        raise IndexError("diagnosis")

    monkeypatch.setattr("airflow_doctor.doctor.choose_diagnosis", crash)
    report = diagnose_profile(unreachable_profile())
    assert report.results[-1].check_id == "diagnosis" and "IndexError" in report.results[-1].summary
    assert report.diagnosis is None and report.working_request is not None


@responses.activate(assert_all_requests_are_fired=True)
def test_a_secret_the_server_puts_in_a_header_is_redacted_in_the_report_header() -> None:
    version = recorded("airflow-3.3.2", "v2_version")
    responses.add("GET", "http://airflow.test/api/v2/version", body=version["body"], status=200,
                  headers={"Server": f"uvicorn (admin:{PASSWORD})"}, content_type="application/json")
    responses.add("GET", "http://airflow.test/api/v2/monitor/health", body=recorded("airflow-3.3.2", "health")["body"],
                  content_type="application/json")
    profile = check_context("http://airflow.test", api="/api/v2", version="3.3.2", password=PASSWORD).profile
    report = diagnose_profile(profile, Selection(only=("reachability",)))
    assert dict(report.facts)["server"].startswith("uvicorn (")
    assert PASSWORD not in repr(report.facts) + repr(report.environment) + repr(report.working_request)


def built_request(api: ApiFlavour, auth_type: str, payload=None):
    ctx = check_context("http://airflow.test", api=api.value, version="3.3.2" if api is ApiFlavour.V2 else "2.10.5",
                        auth_type=auth_type, password=PASSWORD if auth_type != "token" else None,
                        token=PASSWORD if auth_type == "token" else None, payload=payload)
    facts = Facts(base_url="http://airflow.test", airflow_version=ctx.facts.airflow_version, api=api,
                  credentials=Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password))
    return working_request.build(ctx.profile, facts, [])


@pytest.mark.parametrize(("api", "auth_type", "reference"), [
    (ApiFlavour.V1, "basic", '"$AIRFLOW_PASSWORD"'),
    (ApiFlavour.V2, "jwt", 'os.environ["AIRFLOW_PASSWORD"]'),
    (ApiFlavour.V2, "token", "$AIRFLOW_TOKEN"),
])
def test_the_working_request_snippets_survive_redaction_untouched(api, auth_type, reference) -> None:
    request = built_request(api, auth_type)
    assert redacted_request(request) == request
    assert any(reference in snippet.code for snippet in request.snippets)


def test_payload_values_under_secret_keys_are_masked_in_the_working_request() -> None:
    request = built_request(ApiFlavour.V2, "jwt", {"logical_date": None, "conf": {"api_key": "k-123", "rows": 5}})
    assert all("k-123" not in s.code and "rows" in s.code for s in request.snippets)
    assert any("shown as ***" in note for note in request.notes)
