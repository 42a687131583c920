"""`airflow-doctor explain`: answers recorded from real Airflow and real requests tracebacks, explained offline by the
classification code the checks use."""

from __future__ import annotations

import json
import threading
import traceback

import pytest
import requests
from typer.testing import CliRunner

from airflow_doctor.cli import app
from airflow_doctor.explain import explain
from airflow_doctor.model import ExitCode, Status
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


@pytest.mark.parametrize(("label", "name", "check_id", "words"), [
    ("airflow-3.3.2", "dags_expired", "auth-backend", "Token Expired"),
    ("airflow-2.10.5", "details_missing", "dag-exists", "was not found"),
])
def test_an_api_refusal_that_needs_the_server_names_the_check_that_confirms_it(label, name, check_id, words) -> None:
    report = explain(_pasted_answer(label, name))
    assert report.results[0].check_id == check_id and words in report.results[0].summary
    assert f"--only {check_id}" in report.working_request.snippets[0].code


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
