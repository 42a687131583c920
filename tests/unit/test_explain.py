"""`airflow-doctor explain`: answers recorded from real Airflow and real requests tracebacks, explained offline by the
classification code the checks use."""

from __future__ import annotations

import json
import socket
import threading
import traceback

import pytest
import requests
from typer.testing import CliRunner

from airflow_doctor.cli import app
from airflow_doctor.explain import Code, explain
from airflow_doctor.model import ExitCode, Status
from airflow_doctor.report import render_json, render_terminal
from tests.conftest import recorded
from tests.servers import LocalServer, closed_port


def _pasted_answer(label: str, name: str, base: str = "http://127.0.0.1:8080") -> str:
    answer = recorded(label, name)
    headers = "".join(f"{k}: {v}\n" for k, v in answer["headers"].items())
    return f"{answer['method']} {base}{answer['path']}\nHTTP/1.1 {answer['status']} X\n{headers}\n{answer['body']}"


def _real_traceback(url: str, timeout: tuple[float, float] = (5, 2)) -> str:
    session = requests.Session()
    session.trust_env = False
    try:
        session.get(url, timeout=timeout)
    except requests.RequestException:
        return traceback.format_exc()
    raise AssertionError(f"{url} answered")


def test_a_pasted_refused_connection_traceback_is_explained_like_check_does() -> None:
    report = explain(_real_traceback(f"http://127.0.0.1:{closed_port()}/api/v1/dags"))
    result = report.results[0]
    assert result.check_id == "reachability" and result.status is Status.FAIL and result.code == "tcp-refused"
    assert "the connection was refused" in result.summary and "airflow api-server" in result.explanation
    assert report.working_request is not None and "--only reachability" in report.working_request.snippets[0].code


def test_a_pasted_read_timeout_traceback_names_the_timeout_it_waited() -> None:
    released = threading.Event()
    with LocalServer(lambda handler: released.wait(120) and None) as server:
        try:
            text = _real_traceback(f"{server.url}/api/v2/dags", timeout=(20, 1))
        finally:
            released.set()
    result = explain(text).results[0]
    assert result.code == "read-timeout" and "within 1 s" in result.summary
    assert "read: 60" in result.fix.commands[0]


def test_a_pasted_dns_traceback_is_a_host_name_that_does_not_resolve() -> None:
    result = explain(_real_traceback("http://airflow-doctor-explain.invalid/api/v1/dags")).results[0]
    assert result.code == "dns" and "could not be resolved" in result.summary


def test_a_pasted_tls_traceback_against_a_plain_http_port_says_so() -> None:
    with LocalServer(lambda h: None) as server:
        text = _real_traceback(server.url.replace("http://", "https://") + "/api/v1/dags")
    result = explain(text).results[0]
    assert result.code == "tls" and result.status is Status.FAIL


def test_a_pasted_airflow_login_page_is_a_login_in_front_of_the_api() -> None:
    result = explain(_pasted_answer("airflow-2.10.5", "login_page")).results[0]
    assert result.check_id == "reachability" and "login page" in result.summary


def test_a_pasted_403_to_a_trigger_is_the_permissions_explanation() -> None:
    text = ("POST http://127.0.0.1:8080/api/v1/dags/etl/dagRuns\nHTTP/1.1 403 FORBIDDEN\n"
            "Content-Type: application/problem+json\n\n"
            '{"detail": "Forbidden", "status": 403, "title": "Forbidden", "type": "x"}')
    result = explain(text).results[0]
    assert result.check_id == "permissions" and "may not trigger 'etl' (403)" in result.summary
    assert "User" in result.fix.text and result.fix.docs


def test_a_pasted_redirect_to_sso_explains_the_proxy() -> None:
    result = explain("HTTP/1.1 302 Found\nLocation: https://accounts.google.com/o/oauth2/auth?x=1\n\n").results[0]
    assert result.check_id == "reachability" and "to a login page" in result.summary


def _pasted_with_authorization(label: str, name: str, authorization: str) -> str:
    request, _, answer = _pasted_answer(label, name).partition("\n")
    return f"{request}\nAuthorization: {authorization}\n{answer}"


@pytest.mark.parametrize(("label", "name", "check_id", "cause", "fix"), [
    ("airflow-3.3.2", "dags_expired", "auth-backend", "the token sent is expired", "Get a fresh token"),
    ("airflow-3.3.2", "dags_garbage", "auth-backend", "signed by another deployment", "Get a fresh token"),
    ("airflow-2.10.5", "dags_basic_wrong", "auth-backend", "Basic auth refused (401)", "Basic auth is enabled"),
    ("airflow-2.10.5", "details_missing", "dag-exists", "no DAG has the id 'no_such_dag'", "Check the dag_id"),
    ("airflow-2.10.5", "trigger_missing", "dag-exists", "no DAG has the id 'no_such_dag'", "Check the dag_id"),
    ("airflow-3.3.2", "trigger_missing", "dag-exists", "no DAG has the id 'no_such_dag'", "Check the dag_id"),
    ("airflow-2.10.5", "trigger_conf_not_object", "payload-schema", "conf: 'not-an-object' is not of type 'object'",
     "Correct conf"),
    ("airflow-3.3.2", "trigger_conf_not_object", "payload-schema", "2 problems in the payload; first: logical_date: "
     "Field required", "Correct logical_date, conf"),
    ("airflow-2.10.5", "trigger_duplicate", "payload-schema", "a run 'doctor_12c_recorded_duplicate' already exists",
     "Correct dag_run_id"),
    ("airflow-3.3.2", "trigger_duplicate", "payload-schema", "a run with this run id or logical date already exists",
     "Correct dag_run_id or logical_date"),
])
def test_a_pasted_api_refusal_gets_the_checks_own_cause_and_fix(label, name, check_id, cause, fix) -> None:
    report = explain(_pasted_answer(label, name))
    result = report.results[0]
    assert result.check_id == check_id and result.status is Status.FAIL and cause in result.summary
    assert result.fix is not None and fix in result.fix.text and result.why_ui_works
    assert f"--only {check_id}" in report.working_request.snippets[0].code


def test_a_pasted_expired_token_is_the_same_finding_auth_backend_builds() -> None:
    from airflow_doctor.checks.readers.auth_airflow3 import token_expired

    result = explain(_pasted_answer("airflow-3.3.2", "dags_expired")).results[0]
    same = token_expired(None, "the token sent", obtained=False)
    assert (result.summary, result.explanation, result.fix.commands) == (same.summary, same.explanation,
                                                                          same.fix.commands)


def test_a_pasted_duplicate_run_says_the_ui_never_repeats_a_run_id() -> None:
    result = explain(_pasted_answer("airflow-2.10.5", "trigger_duplicate")).results[0]
    assert "never repeats a run id" in result.why_ui_works and "409" in result.explanation


@pytest.mark.parametrize(("authorization", "cause", "fix"), [
    ("Basic dXNlcjE6cMOkc3N3w7ZyZA==", "Airflow 3 does not accept Basic auth (401 Not authenticated)",
     "Exchange the credentials for a token"),
    ("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "the Authorization header does not reach Airflow",
     "pass the Authorization header"),
])
def test_airflow3_not_authenticated_is_explained_by_what_the_request_carried(authorization, cause, fix) -> None:
    text = _pasted_with_authorization("airflow-3.3.2", "dags_basic", authorization)
    report = explain(text)
    result = report.results[0]
    assert result.check_id == "auth-backend" and cause in result.summary and fix in result.fix.text
    assert authorization.split()[1] not in render_json(report) + render_terminal(report, verbosity=2)


def test_airflow3_invalid_jwt_for_a_pasted_value_that_is_no_jwt_says_so() -> None:
    text = _pasted_with_authorization("airflow-3.3.2", "dags_garbage", "Bearer not-a-jwt-at-all")
    result = explain(text).results[0]
    assert "is not a JWT at all" in result.summary and "Get a fresh token" in result.fix.text


def test_a_pasted_refusal_only_check_can_judge_says_so_with_its_code() -> None:
    """Airflow 2.11's 403 to a read says nothing of who asked: a wrong password and a missing permission look alike."""
    result = explain(_pasted_answer("airflow-2.11.2", "dags_anonymous")).results[0]
    assert result.status is Status.FAIL and result.code is Code.NOT_JUDGED_OFFLINE
    assert result.summary == "Airflow's API refused the request: 403 (Forbidden)" and result.check_id == "auth-backend"
    assert "Run the check named below" in result.fix.text


def test_explain_sends_nothing_and_resolves_no_name(monkeypatch) -> None:
    """Offline means offline: no connection and no DNS lookup, not even for a 'did you mean' host."""
    pasted = [_real_traceback("http://airflwo-doctor-explain.invalid/api/v1/dags"),
              _real_traceback(f"http://127.0.0.1:{closed_port()}/api/v1/dags"),
              _pasted_answer("airflow-2.10.5", "dags_basic_wrong"), _pasted_answer("airflow-2.10.5", "details_missing"),
              _pasted_answer("airflow-3.3.2", "trigger_duplicate"), _pasted_answer("airflow-2.10.5", "login_page")]
    attempts: list[object] = []

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        attempts.append(args)
        raise OSError("explain must not use the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    results = [explain(text).results[0] for text in pasted]
    assert attempts == []
    assert [r.check_id for r in results] == ["reachability", "reachability", "auth-backend", "dag-exists",
                                             "payload-schema", "reachability"]


def test_explain_reads_stdin_and_prints_json_valid_against_the_schema() -> None:
    import jsonschema

    from airflow_doctor.report import report_schema

    text = _real_traceback(f"http://127.0.0.1:{closed_port()}/api/v1/dags")
    result = CliRunner().invoke(app, ["explain", "-", "--format", "json"], input=text)
    data = json.loads(result.stdout)
    assert result.exit_code == ExitCode.CHECK_FAILED and data["results"][0]["code"] == "tcp-refused"
    jsonschema.validate(data, report_schema())


def test_explain_of_text_it_cannot_read_is_one_sentence_and_exit_2() -> None:
    result = CliRunner().invoke(app, ["explain", "it does not work"])
    assert result.exit_code == ExitCode.USAGE and "neither an HTTP answer" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
