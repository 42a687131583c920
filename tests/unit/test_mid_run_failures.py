"""A server that stops answering in the middle of a run: the check it happened in reports the request, the rest go on."""

from __future__ import annotations

import dataclasses

from airflow_doctor.doctor import diagnose_profile
from airflow_doctor.model import ExitCode, Status
from tests.conftest import check_context, recorded
from tests.servers import LocalServer, Reply

V2 = "airflow-2.10.5"
ANSWERED = ("v2_version", "v1_version", "health", "dags_basic_admin")


def airflow2_that_hangs_on(path: str):
    """Real Airflow 2.10.5 answers (recorded), except that `path` is accepted and never answered."""
    answers = {recorded(V2, name)["path"]: recorded(V2, name) for name in ANSWERED}

    def route(handler):
        if handler.path == path:
            return None
        data = answers.get(handler.path)
        if data is None:
            return Reply(404)
        return Reply(data["status"], data["headers"], data["body"].encode("utf-8"))
    return route


def test_a_read_timeout_on_the_dag_details_after_auth_passed_is_a_finding_about_that_request() -> None:
    with LocalServer(airflow2_that_hangs_on("/api/v1/dags/doctor_demo/details")) as server:
        profile = check_context(server.url, api="/api/v1", version="2.10.5", payload={"conf": {"batch_size": 5}}).profile
        report = diagnose_profile(dataclasses.replace(profile, connect_timeout=30, read_timeout=2))
    results = {r.check_id: r for r in report.results}
    assert results["auth-backend"].status is Status.PASS
    dag = results["dag-exists"]
    assert dag.status is Status.FAIL and dag.internal_error is None
    assert dag.summary.startswith(f"GET {server.url}/api/v1/dags/doctor_demo/details failed: no (complete) answer after")
    assert "timeout.read" in dag.fix.text
    assert dag.evidence[-1].error.startswith("read-timeout: ")
    assert results["permissions"].summary == "skipped (needs dag-exists)"
    assert results["payload-schema"].summary.endswith("; the DAG's params were not checked: dag-exists failed")
    assert report.diagnosis is not None and report.diagnosis.check_id == "dag-exists"
    assert report.exit_code is ExitCode.CHECK_FAILED


def test_credential_encoding_does_not_blame_the_password_when_the_server_never_answered() -> None:
    from airflow_doctor.checks import auth_backend, credential_encoding
    from tests.unit.test_auth_backend import reset

    with LocalServer(reset) as server:
        ctx = check_context(server.url, api="/api/v1", version="2.10.5", password="secret-pw\n")
        auth_backend.Check().run(ctx)
        finding = credential_encoding.Check().run(ctx)
    assert finding.status is Status.WARN and finding.explains == ()
    assert finding.details == ("not confirmed: the password has a trailing newline",)
