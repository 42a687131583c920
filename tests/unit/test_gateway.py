"""Answers that are not Airflow's, decided from answers captured from real servers: every recorded Airflow answer
(tests/recorded/airflow-*) and the pages of a gateway the doctor has never heard of, 'ferrous-gate'
(tests/recorded/gateway, captured from tests/gateway_proxy.py in front of real Airflow, a closed port and a
stalled upstream)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import responses
from requests.structures import CaseInsensitiveDict

from airflow_doctor.checks.readers.front import (airflows_own, answered_by, intermediary, is_login_redirect, rate_limit,
                                          retired_api_words)
from airflow_doctor.checks.readers.gateway import rate_limited
from airflow_doctor.explain import explain
from airflow_doctor.probe import Layer, Probe, ProbeResponse, TransportError, retry_after_seconds
from airflow_doctor.checks.readers.gateway import described, unvouched
from airflow_doctor.failures import finding_for
from airflow_doctor.model import CheckResult, Exchange, Status
from airflow_doctor.runner import run_checks
from tests.conftest import RECORDED, recorded, replay
from tests.servers import LocalServer, Reply
from tests.unit.test_reachability import run_reachability

BASE = "http://airflow.test"
GATE = "gateway"
AIRFLOW_ANSWERS = sorted(f"{p.parent.name}/{p.stem}" for p in RECORDED.glob("airflow-*/*.json"))
GATEWAY_PAGES = ["bad_gateway", "timeout", "maintenance", "login_redirect", "login_page", "rate_limited"]
REMOVED = "/api/v1 has been removed in Airflow 3, please use its upgraded version /api/v2 instead."


def answer(label: str, name: str, base: str = BASE) -> ProbeResponse:
    data = recorded(label, name)
    url = base + data["path"]
    return ProbeResponse(data["status"], CaseInsensitiveDict(data["headers"]), data["body"].encode(), url, 1.0,
                         Exchange(data["method"], url, data["status"], 1.0))


@pytest.mark.parametrize("recording", AIRFLOW_ANSWERS)
def test_every_recorded_airflow_answer_is_read_as_airflows_own(recording: str) -> None:
    label, name = recording.split("/")
    assert answered_by(answer(label, name)).airflow


@pytest.mark.parametrize("name", GATEWAY_PAGES)
def test_every_page_of_an_unknown_gateway_is_named_from_its_own_headers(name: str) -> None:
    who = answered_by(answer(GATE, name))
    assert not who.airflow and who.name == "ferrous-gate/3.7" and "Server: ferrous-gate/3.7" in who.evidence


def test_airflows_answer_passed_through_the_gateway_is_still_airflows_with_the_hop_as_evidence() -> None:
    who = answered_by(answer(GATE, "health_through_gateway"))
    assert who.airflow and "Via: 1.1 ferrous-gate" in who.evidence


def test_a_nameless_gateway_is_named_by_its_page_heading() -> None:
    data = recorded(GATE, "bad_gateway")
    response = ProbeResponse(502, CaseInsensitiveDict({"Content-Type": "text/html"}), data["body"].encode(),
                             BASE + "/api/v2/version", 1.0, Exchange("GET", BASE, 502, 1.0))
    assert answered_by(response).name == "Bad Gateway"


@responses.activate(assert_all_requests_are_fired=True)
def test_a_502_with_nothing_behind_the_gateway_says_so_and_that_the_ui_is_likely_down_too() -> None:
    replay(responses, BASE, GATE, "bad_gateway")
    replay(responses, BASE, GATE, "bad_gateway", path="/api/v1/version")
    replay(responses, BASE, GATE, "bad_gateway", path="/health")
    result, _ = run_reachability(BASE)
    assert result.status is Status.FAIL and result.code == "gateway-502"
    assert result.summary == ("the gateway answered 502 (Bad Gateway), not Airflow: 'ferrous-gate/3.7' for GET "
                              "http://airflow.test/api/v2/version; nothing behind it answered")
    assert "ferrous-gate could not connect to the upstream" in result.explanation
    assert result.why_ui_works.startswith("It may not") and "airflow api-server" in result.fix.text


@responses.activate(assert_all_requests_are_fired=True)
def test_a_502_while_airflow_answers_another_route_through_the_same_gateway_says_airflow_is_up() -> None:
    replay(responses, BASE, GATE, "bad_gateway")
    replay(responses, BASE, GATE, "bad_gateway", path="/api/v1/version")
    replay(responses, BASE, GATE, "health_through_gateway")
    result, _ = run_reachability(BASE)
    assert result.summary.endswith("Airflow itself is up (it answers other paths through the same address)")
    assert "GET /health through the same address: Airflow answered 200" in result.why_ui_works
    assert "point it at the same Airflow server" in result.fix.text


@pytest.mark.parametrize("name, status, cause, fix", [
    ("timeout", 504, "did not answer within the gateway's timeout", "upstream timeout"),
    ("maintenance", 503, "It asks to retry after 600 s (Retry-After)", "health check"),
])
@responses.activate(assert_all_requests_are_fired=True)
def test_a_gateways_timeout_and_maintenance_pages_name_their_cause(name: str, status: int, cause: str, fix: str) -> None:
    replay(responses, BASE, GATE, name, path="/api/v2/version")
    replay(responses, BASE, GATE, name, path="/api/v1/version")
    replay(responses, BASE, GATE, name, path="/health")
    result, _ = run_reachability(BASE)
    assert result.summary.startswith(f"the gateway answered {status}") and cause in result.explanation
    assert fix in result.fix.text


@responses.activate(assert_all_requests_are_fired=True)
def test_a_429_on_the_version_endpoint_names_who_limits_and_the_wait_and_stops_asking() -> None:
    replay(responses, BASE, GATE, "rate_limited")
    result, _ = run_reachability(BASE)
    assert result.summary == ("rate limited: 'ferrous-gate/3.7' answered 429 Too Many Requests for GET "
                              "http://airflow.test/api/v2/version; Retry-After: 120 (wait 120 s)")
    assert result.fix.commands == ("sleep 120",) and "reused" in result.fix.text
    assert "request quota exhausted" in result.explanation and "Airflow never saw this one" in result.explanation
    assert [e.url for e in result.evidence] == [BASE + "/api/v2/version"], "nothing more after the 429"


def test_airflows_own_login_rate_limit_is_airflows_with_the_limit_it_states() -> None:
    finding = rate_limited(answer("airflow-2.10.5", "login_post_rate_limited"))
    assert finding.summary.startswith("rate limited: Airflow itself answered 429 Too Many Requests for POST")
    assert "no Retry-After" in finding.summary and "2 per 60 second" in finding.explanation
    assert finding.fix.commands == ()


@pytest.mark.parametrize("value, date, seconds", [
    ("120", None, 120.0),
    ("Sun, 22 Nov 2026 07:06:00 GMT", "Sun, 22 Nov 2026 07:05:21 GMT", 39.0),
    ("Sun, 22 Nov 2026 07:05:00 GMT", "Sun, 22 Nov 2026 07:05:21 GMT", 0.0),
    ("soon", "Sun, 22 Nov 2026 07:05:21 GMT", None),
    (None, None, None),
])
def test_retry_after_is_seconds_or_a_date_counted_from_the_servers_own_clock(value, date, seconds) -> None:
    assert retry_after_seconds(value, date) == seconds


def test_rate_limit_headers_state_the_limit() -> None:
    response = ProbeResponse(429, CaseInsensitiveDict({"RateLimit-Policy": "10;w=60", "Retry-After": "7"}), b"",
                             BASE, 1.0, Exchange("GET", BASE, 429, 1.0))
    terms = rate_limit(response)
    assert (terms.wait_seconds, terms.limit) == (7.0, "RateLimit-Policy: 10;w=60")


def test_after_a_429_with_retry_after_the_probe_sends_nothing_more_to_that_server() -> None:
    with LocalServer(lambda h: Reply(429, {"Retry-After": "60"}, b"slow down")) as server:
        probe = Probe(server.url)
        assert probe.get("/api/v2/version").status == 429
        with pytest.raises(TransportError) as held:
            probe.get("/api/v2/dags")
        assert server.requests and len(server.requests) == 1 and probe.request_count == 1
    assert held.value.layer is Layer.HELD_BACK and "wait 60 s more" in held.value.message
    assert held.value.exchange.error.startswith("rate-limited: not sent")


def test_after_a_429_without_retry_after_only_that_request_is_not_repeated() -> None:
    with LocalServer(lambda h: Reply(429 if h.path == "/login/" else 200, {}, b"")) as server:
        probe = Probe(server.url)
        assert probe.post("/login/").status == 429
        with pytest.raises(TransportError):
            probe.post("/login/")
        assert probe.get("/api/v1/version").status == 200
        assert [p for _, p, _ in server.requests] == ["/login/", "/api/v1/version"]


@pytest.mark.parametrize("location, is_login", [
    ("https://id.quokka-login.example/authorize?client_id=airflow&response_type=code&state=1", True),
    ("https://gate.example/start?return=http%3A%2F%2Fairflow.test%2Fapi%2Fv2%2Fversion", True),
    ("https://airflow.example.com/api/v2/version", False),
])
def test_a_login_redirect_is_read_from_the_sign_in_request_it_makes(location: str, is_login: bool) -> None:
    response = ProbeResponse(302, CaseInsensitiveDict({"Location": location}), b"", BASE + "/api/v2/version", 1.0,
                             Exchange("GET", BASE, 302, 1.0))
    assert is_login_redirect(response) is is_login


@pytest.mark.parametrize("name, said", [
    ("login_redirect", "was redirected (302) to a login page by 'ferrous-gate/3.7': https://id.quokka-login.example/"),
    ("login_page", "answered with an HTML login page (Ferrous Gate - Sign in) by 'ferrous-gate/3.7'"),
])
@responses.activate
def test_a_login_wall_names_the_component_that_puts_it_up(name: str, said: str) -> None:
    replay(responses, BASE, GATE, name, path="/api/v2/version")
    replay(responses, BASE, GATE, name, path="/api/v1/version")
    result, _ = run_reachability(BASE)
    assert result.status is Status.FAIL and said in result.summary, result.summary


@pytest.mark.parametrize("label", ["airflow-3.1.3", "airflow-3.2.2", "airflow-3.3.2"])
def test_airflow_3s_answer_to_api_v1_is_the_airflow_2_api_not_a_wrong_path_or_a_missing_dag(label: str) -> None:
    data = recorded(label, "v1_removed")
    assert retired_api_words(answer(label, "v1_removed")) == REMOVED
    pasted = (f"GET http://af.example.com{data['path']}\nHTTP/1.1 404 Not Found\n"
              + "".join(f"{k}: {v}\n" for k, v in data["headers"].items()) + "\n" + data["body"])
    result = explain(pasted).results[0]
    assert result.summary.startswith("this is Airflow 3 and the request uses the Airflow 2 API") and REMOVED in result.summary
    assert result.code == "airflow2-api-on-airflow3" and "wrong path" not in result.summary
    assert any("/api/v2/dags/doctor_demo/dagRuns" in c and "logical_date" in c for c in result.fix.commands)
    assert any("/auth/token" in c for c in result.fix.commands)


@pytest.mark.parametrize("label", ["airflow-3.2.2", "airflow-3.3.2"])
def test_airflow_3s_moved_health_answer_is_airflows_not_a_retired_api(label: str) -> None:
    response = answer(label, "root_health")
    assert answered_by(response).airflow and retired_api_words(response) is None


def test_a_gateways_own_404_json_is_not_read_as_airflow_3() -> None:
    response = ProbeResponse(404, CaseInsensitiveDict({"Content-Type": "application/json", "Server": "edge"}),
                             b'{"error": "no route for /api/v1; try /api/v2"}', BASE + "/api/v1/dags/x", 1.0,
                             Exchange("GET", BASE, 404, 1.0))
    assert not answered_by(response).airflow and retired_api_words(response) is None


def refusal(status: int, body: str, **headers: str) -> ProbeResponse:
    return ProbeResponse(status, CaseInsensitiveDict({"Content-Type": "application/json", **headers}), body.encode(),
                         BASE + "/api/v1/dags", 1.0, Exchange("GET", BASE + "/api/v1/dags", status, 1.0))


@pytest.mark.parametrize("response", [
    refusal(401, '{"detail": "Not authenticated"}', **{"WWW-Authenticate": 'Basic realm="API gateway"'}),
    refusal(401, '{"type": "about:blank", "title": "Unauthorized", "status": 403, "detail": "copied"}', Via="1.1 gw"),
], ids=["fastapi-detail-with-a-realm", "problem-json-whose-status-is-not-the-answers"])
def test_the_auth_checks_and_the_gateway_check_agree_that_a_look_alike_refusal_is_not_airflows(response) -> None:
    assert not airflows_own(response) and not answered_by(response).airflow


@pytest.mark.parametrize("recording", AIRFLOW_ANSWERS)
def test_every_recorded_airflow_answer_is_airflows_to_the_auth_checks_too(recording: str) -> None:
    label, name = recording.split("/")
    assert airflows_own(answer(label, name))


def test_the_component_in_front_is_named_the_same_by_every_check() -> None:
    response = refusal(403, "<html><title>403</title></html>", Server="nginx/1.25.3", Via="1.1 edge-cache")
    who = answered_by(response)
    assert who.name == "nginx/1.25.3" and intermediary(response) == "Server: nginx/1.25.3" == who.evidence[0]


def test_the_recorded_airflow_answers_are_all_found() -> None:
    assert len(AIRFLOW_ANSWERS) > 60 and all(name.startswith("airflow-") for name in AIRFLOW_ANSWERS)


def _exchange(name: str, status: int | None = None) -> Exchange:
    data = recorded(GATE, name)
    return Exchange(data["method"], BASE + data["path"], status or data["status"], 1.0,
                    response_headers=tuple(data["headers"].items()), response_body=data["body"])


def test_a_check_that_passed_although_a_request_got_429_is_reported_as_the_rate_limit() -> None:
    passed = CheckResult("payload-schema", "Payload", Status.PASS, "the payload matches",
                         evidence=(_exchange("health_through_gateway"), _exchange("rate_limited")))
    result = unvouched(passed)
    assert result.status is Status.FAIL and result.code == "rate-limited"
    assert result.summary.startswith("rate limited: 'ferrous-gate/3.7' answered 429") and "not reported as passed" in result.explanation


@pytest.mark.parametrize("status, evidence, kept", [
    (Status.FAIL, ("rate_limited", "health_through_gateway"), True),
    (Status.FAIL, ("health_through_gateway", "rate_limited"), False),
    (Status.PASS, ("health_through_gateway",), True),
])
def test_a_failure_is_the_rate_limit_only_when_the_check_stopped_at_the_429(status, evidence, kept) -> None:
    result = CheckResult("dag-exists", "DAG", status, "its own cause", evidence=tuple(_exchange(n) for n in evidence))
    assert (unvouched(result) == result) is kept


@dataclass
class RaisesHeldBack:
    error: TransportError
    id: str = "dag-exists"
    title: str = "DAG"
    requires: tuple = ()
    uses: tuple = ()
    provides: tuple = ()

    def run(self, context):
        raise self.error


def held_back_by_a_gateways_429() -> tuple[str, Probe, TransportError]:
    """GET /api/v2/version answered 429 by the recorded gateway; GET /api/v2/dags after it, held back."""
    data = recorded(GATE, "rate_limited")
    with LocalServer(lambda h: Reply(429, data["headers"], data["body"].encode())) as server:
        probe = Probe(server.url)
        probe.get("/api/v2/version")
        with pytest.raises(TransportError) as held:
            probe.get("/api/v2/dags")
    return server.url, probe, held.value


def test_without_the_checks_hook_a_held_back_request_is_the_generic_not_sent_finding() -> None:
    _, _, error = held_back_by_a_gateways_429()
    finding = finding_for(error)
    assert finding.code == "rate-limited" and "ferrous-gate" not in finding.summary
    assert finding.summary.endswith("not sent, because the server answered 429 Too Many Requests earlier in this run")


def test_a_request_held_back_by_an_earlier_429_is_that_limits_finding() -> None:
    url, probe, error = held_back_by_a_gateways_429()
    [result] = run_checks([RaisesHeldBack(error)], None, probe, describe=described)
    finding = described(error)
    assert result.code == finding.code == "rate-limited" and result.summary == finding.summary
    assert finding.summary.startswith(f"rate limited: 'ferrous-gate/3.7' answered 429 Too Many Requests for GET "
                                      f"{url}/api/v2/version")
    assert f"next request, GET {url}/api/v2/dags, was not sent" in finding.explanation


@responses.activate(assert_all_requests_are_fired=True)
def test_airflow_3_behind_a_front_that_routes_only_api_v1_is_named_not_blamed_on_a_proxy_404() -> None:
    replay(responses, BASE, GATE, "bad_gateway")
    replay(responses, BASE, "airflow-3.3.2", "v1_removed", path="/api/v1/version")
    result, _ = run_reachability(BASE)
    assert result.code == "airflow3-v2-not-routed"
    assert result.summary.startswith("Airflow 3 is behind this address, but /api/v2 does not reach it: GET "
                                     "http://airflow.test/api/v2/version answered 502")
    assert "'ferrous-gate/3.7'" in result.summary and REMOVED in result.summary
    assert "Route /api/v2" in result.fix.text


def test_headers_airflow_never_sends_are_evidence_by_name_only() -> None:
    response = ProbeResponse(502, CaseInsensitiveDict({"Server": "edge-9", "X-Edge-Session": "canary-c2VjcmV0",
                                                       "CF-Ray": "8a1b"}), b"", BASE, 1.0, Exchange("GET", BASE, 502, 1.0))
    who = answered_by(response)
    assert who.evidence == ("Server: edge-9", "headers Airflow does not send: X-Edge-Session, CF-Ray")
    assert "canary" not in rate_limited(response).explanation + " ".join(who.evidence)


def test_a_check_that_failed_at_a_gateways_502_mid_run_is_the_gateways_finding() -> None:
    failed = CheckResult("auth-backend", "Auth", Status.FAIL, "POST /auth/token answered 502",
                         evidence=(_exchange("health_through_gateway"), _exchange("bad_gateway")))
    result = unvouched(failed)
    assert result.code == "gateway-502" and result.summary.endswith("the Airflow behind it did not answer this request")
    assert "Whether Airflow answers other paths through the same address was not asked" in result.explanation and result.why_ui_works.startswith("Not observed")


def test_a_pasted_gateway_page_claims_nothing_about_what_explain_did_not_ask() -> None:
    data = recorded(GATE, "bad_gateway")
    pasted = ("HTTP/1.1 502 Bad Gateway\n" + "".join(f"{k}: {v}\n" for k, v in data["headers"].items())
              + "\n" + data["body"])
    result = explain(pasted).results[0]
    assert result.code == "gateway-502" and "'ferrous-gate/3.7'" in result.summary
    assert result.summary.endswith("the Airflow behind it did not answer this request")
    assert "nothing behind it answered" not in result.summary and "down too" not in result.why_ui_works


@pytest.mark.parametrize("status", [502, 429])
def test_a_gateway_page_that_echoes_the_credentials_leaks_nothing(tmp_path, status: int) -> None:
    from typer.testing import CliRunner

    from airflow_doctor.cli import app
    from tests.conftest import write_profile
    from tests.unit.test_canary import PASSWORD, USER, assert_clean, echo_everything

    def route(handler) -> Reply:
        name = {"/api/v2/version": "v2_version", "/api/v1/version": "v1_version", "/api/v1/health": "health"}.get(handler.path)
        if name:
            data = recorded("airflow-2.10.5", name)
            return Reply(data["status"], data["headers"], data["body"].encode())
        echo = echo_everything(handler)
        headers = {"Server": "edge-9", "Content-Type": "text/html", "Retry-After": "30",
                   "X-Echo-Auth": echo.headers["X-Echo-Auth"]}
        return Reply(status, headers, b"<html><title>no</title><h1>Refused</h1><p>" + echo.body + b"</p></html>")

    with LocalServer(route) as server:
        profile = write_profile(tmp_path, f"url: {server.url}\nauth:\n  type: basic\n  username: {USER}\n"
                                          "  password: ${CANARY_PW}\ntimeout: {connect: 1, read: 3}\n", name="c.yml")
        for output_format in ("text", "json"):
            result = CliRunner().invoke(app, ["check", "--profile", str(profile), "-f", output_format, "-v"],
                                        env={"CANARY_PW": PASSWORD})
            assert result.exit_code == 1 and "edge-9" in result.output and "Refused" in result.output, result.output
            assert_clean(result.output, f"{status} {output_format}")
        assert any(h.get("Authorization") for _, _, h in server.requests)


def test_airflows_own_server_refusing_for_load_is_not_called_a_gateway() -> None:
    """uvicorn answers 503 itself when its concurrency limit is reached (uvicorn/protocols/http/flow_control.py,
    service_unavailable, in the 3.3.2 venv: text/plain "Service Unavailable"; uvicorn adds its Server header)."""
    with LocalServer(lambda h: Reply(503, {"Server": "uvicorn", "Content-Type": "text/plain; charset=utf-8"}, b"Service Unavailable")) as server:
        result, _ = run_reachability(server.url)
    assert result.status is Status.FAIL and "gateway" not in result.summary
    assert "Airflow's own web server sent this answer" in result.explanation
