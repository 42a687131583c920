"""Fronts that refuse one of the doctor's requests before Airflow sees it (tests/fronts.py: a body rule, a size
limit, a guarded path, a gateway with its own key, a method rule, an address allow-list), in front of a backend that
replays answers recorded from real Airflow 3.3.2 and 2.10.5. The check that sent the refused request never passes,
the front is named, and the controls say what it keys on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict

from airflow_doctor.checks import payload_schema, permissions
from airflow_doctor.checks.base import DagInfo
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.checks.readers.front import own_credentials
from airflow_doctor.checks.readers.front_controls import Code
from airflow_doctor.checks.readers.gateway import reviewer
from airflow_doctor.model import CheckResult, Exchange, Status
from airflow_doctor.probe import ProbeResponse
from airflow_doctor.secrets import REGISTRY, Secret
from tests.conftest import check_context, recorded
from tests.fronts import BodyRule, HttpFront, KeyGateway, PathGuard, RefuseAll, SizeLimit
from tests.servers import LocalServer, Reply

DAG = "doctor_demo"
ROUTES = {
    "airflow-3.3.2": {("POST", f"/api/v2/dags/{DAG}/dagRuns"): "probe_admin", ("GET", "/api/v2/version"): "v2_version",
                      ("GET", f"/api/v2/dags/{DAG}/dagRuns"): "queue_demo_runs", ("GET", "/"): "old_health"},
    "airflow-2.10.5": {("POST", f"/api/v1/dags/{DAG}/dagRuns"): "probe_admin", ("GET", "/api/v1/version"): "v1_version",
                       ("GET", f"/api/v1/dags/{DAG}/dagRuns"): "dagruns_running", ("GET", "/"): "root"},
}


def recorded_backend(label: str) -> LocalServer:
    """Airflow as recorded: each route the doctor and its controls ask answers as the real server did."""
    def route(handler) -> Reply:  # type: ignore[no-untyped-def]
        name = ROUTES[label].get((handler.command, handler.path.split("?")[0]), "old_health" if "3." in label else "trigger_missing")
        data = recorded(label, name)
        return Reply(data["status"], dict(data["headers"]), data["body"].encode())
    return LocalServer(route)


def context(url: str, label: str, payload: Any = None):  # type: ignore[no-untyped-def]
    v2 = label.startswith("airflow-3")
    ctx = check_context(url, api="/api/v2" if v2 else "/api/v1", version=label.split("-")[1], payload=payload)
    secret = Secret("front-canary-token-81f2")
    REGISTRY.add(secret)
    ctx.facts.credentials = Credentials(Scheme.BEARER, secret=secret) if v2 else Credentials(Scheme.BASIC, "admin", Secret("secret-pw"))
    ctx.facts.dag = DagInfo(DAG, False, True, False, f"/dags/{DAG}.py", 16, {})
    return ctx


def run(check, ctx) -> CheckResult:  # type: ignore[no-untyped-def]
    """One check as the runner runs it: its finding and evidence, then the run's review hook."""
    ctx.probe.drain()
    result = CheckResult.from_finding(check.id, check.title, check.run(ctx), ctx.probe.drain(), 1.0)
    return reviewer(ctx)(result)


def assert_reaches_airflow(check, ctx, front: HttpFront) -> None:  # type: ignore[no-untyped-def]
    """After the fix the front refuses nothing more and the check's verdict is its own reading of Airflow's answer
    (the recorded backend answers every trigger POST as it answered the permission probe: the verdict itself is the
    integration tier's, on real Airflow)."""
    refused = len(front.refused)
    result = run(check, ctx)
    assert len(front.refused) == refused and result.code not in {c.value for c in Code}, result.summary


BIG = {"logical_date": None, "conf": {"rows": ["order-%04d" % i for i in range(600)]}}
LABELS = ("airflow-3.3.2", "airflow-2.10.5")


def payload_for(label: str, conf: dict[str, Any]) -> dict[str, Any]:
    return {"logical_date": None, "conf": conf} if label.startswith("airflow-3") else {"conf": conf}


@pytest.mark.parametrize("label", LABELS)
def test_a_size_limit_that_refuses_the_schema_probe_fails_payload_schema_and_names_the_limit(label: str) -> None:
    with recorded_backend(label) as backend, HttpFront(backend.url, SizeLimit(3000)) as front:
        ctx = context(front.url, label, payload_for(label, BIG["conf"]))
        result = run(payload_schema.Check(), ctx)
        assert result.status is Status.FAIL and result.code == Code.BODY_SIZE, result.summary
        assert "the 413 to POST" in result.summary and "comes from what stands in front of Airflow ('edge-proxy/1.9')" in result.summary
        assert "a body-size limit between" in result.summary
        low, high = (int(x.replace(",", "")) for x in
                     __import__("re").findall(r"between ([\d,]+) bytes.*? and ([\d,]+) bytes", result.summary)[0])
        assert low <= 3000 < high and high / low < 1.6, result.summary
        assert "passed the front" in result.explanation and "refused again" in result.explanation
        assert "client_max_body_size" in result.fix.text and "below this limit" in result.why_ui_works
        assert any("the check itself read: pass" in d for d in result.details)
        assert len(front.seen) <= 1 + 10, front.seen

        front.rule.limit = 1 << 20  # the fix: raise the limit; the check reads Airflow's answer again
        assert_reaches_airflow(payload_schema.Check(), ctx, front)


@pytest.mark.parametrize("label", LABELS)
def test_a_waf_rule_on_the_body_fails_payload_schema_and_names_the_field_it_matches(label: str) -> None:
    conf = {"batch_size": 5, "note": "see <script>alert(1)</script>", "owner": "etl", "region": "eu"}
    with recorded_backend(label) as backend, HttpFront(backend.url, BodyRule()) as front:
        ctx = context(front.url, label, payload_for(label, conf))
        result = run(payload_schema.Check(), ctx)
        assert result.code == Code.BODY_RULE and result.status is Status.FAIL, result.summary
        assert "'shieldwall/4.2'" in result.summary and "conf.note" in result.summary, result.summary
        assert "not its size" in result.summary and "same shape and size" in result.explanation
        assert "X-Shieldwall-Incident" in result.explanation  # a header Airflow never sends, by name
        front.rule.enabled = False
        assert_reaches_airflow(payload_schema.Check(), ctx, front)


@pytest.mark.parametrize("label", LABELS)
def test_a_front_guarding_the_api_path_fails_permissions_instead_of_reading_its_403_as_airflows(label: str) -> None:
    with recorded_backend(label) as backend, HttpFront(backend.url, PathGuard()) as front:
        result = run(permissions.Check(), context(front.url, label))
        assert result.code == Code.PATH and result.status is Status.FAIL, result.summary
        assert "it guards the API's paths (/api/…) while GET / passes" in result.summary
        assert "may not trigger" in " ".join(result.details) and "may not trigger" not in result.summary
        assert "The UI's pages (GET /) pass this front" in result.why_ui_works


@pytest.mark.parametrize("label", LABELS)
def test_a_front_that_refuses_writes_is_found_by_a_read_of_the_same_path(label: str) -> None:
    with recorded_backend(label) as backend, HttpFront(backend.url, PathGuard(methods=("POST",))) as front:
        result = run(permissions.Check(), context(front.url, label))
        assert result.code == Code.METHOD, result.summary
        assert "it refuses POST on this path while a GET of it passes" in result.summary


def test_a_front_that_refuses_this_client_everywhere_says_so() -> None:
    with recorded_backend("airflow-3.3.2") as backend, HttpFront(backend.url, RefuseAll()) as front:
        result = run(permissions.Check(), context(front.url, "airflow-3.3.2"))
        assert result.code == Code.CLIENT and "'gatekeeper'" in result.summary
        assert "whatever its path, method or body" in result.summary


@pytest.mark.parametrize("style, header_named", [("challenge", False), ("json", False), ("named", True)])
def test_a_gateway_with_its_own_key_gets_a_header_the_profile_can_carry(style: str, header_named: bool) -> None:
    key = "gw-canary-key-5520"
    with recorded_backend("airflow-3.3.2") as backend, \
            HttpFront(backend.url, KeyGateway(key, header="X-Gateway-Key" if header_named else "X-API-Key",
                                              style=style)) as front:
        result = run(permissions.Check(), context(front.url, "airflow-3.3.2"))
        assert result.code == Code.OWN_CREDENTIALS and result.status is Status.FAIL, result.summary
        snippet = result.fix.commands[0]
        if header_named:
            assert snippet == "headers:\n  x-gateway-key: ${GATEWAY_KEY}" and "The answer names the header" in result.fix.text
        else:
            assert snippet == "headers:\n  X-API-Key: ${GATEWAY_KEY}" and "does not name the header" in result.fix.text
        assert "--header" in result.fix.commands[1]
        assert "GET / got past this gateway without its key" in result.why_ui_works
        assert key not in json.dumps(result.__dict__, default=str)


def test_a_front_that_judges_the_authorization_header_is_found_by_the_same_request_without_it() -> None:
    def rule(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        return _forbidden() if "Authorization" in headers else None

    with recorded_backend("airflow-3.3.2") as backend, HttpFront(backend.url, rule) as front:
        result = run(permissions.Check(), context(front.url, "airflow-3.3.2"))
        assert result.code == Code.CREDENTIALS, result.summary
        assert "passes the same request without them" in result.summary and "cookie" in result.why_ui_works


def test_a_front_that_refuses_scripts_by_user_agent_is_found_by_a_browsers_user_agent() -> None:
    def rule(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        return None if "Mozilla" in headers.get("User-Agent", "") else _forbidden()

    with recorded_backend("airflow-3.3.2") as backend, HttpFront(backend.url, rule) as front:
        result = run(permissions.Check(), context(front.url, "airflow-3.3.2"))
        assert result.code == Code.USER_AGENT, result.summary
        assert "a browser's User-Agent passed" in result.summary and len(front.seen) <= 2 + 10


def _forbidden() -> Reply:
    return Reply(403, {"Content-Type": "text/html"}, b"<html><head><title>Access Denied</title></head><body><h1>Access "
                                                     b"Denied</h1>Reference #18.2c</body></html>")


def test_a_refusal_that_asks_to_retry_later_gets_no_control() -> None:
    rule = lambda method, path, headers, body: Reply(403, {"Retry-After": "120", "Server": "edge"}, b"slow down")  # noqa: E731
    with recorded_backend("airflow-3.3.2") as backend, HttpFront(backend.url, rule) as front:
        result = run(permissions.Check(), context(front.url, "airflow-3.3.2"))
        assert result.code == Code.RATE and "Retry-After: 120" in result.summary
        assert "Controls" not in result.explanation and len(front.seen) == len(result.evidence)


@pytest.mark.parametrize("label", LABELS)
def test_a_healthy_check_behind_a_transparent_front_sends_no_extra_request(label: str) -> None:
    with recorded_backend(label) as backend, HttpFront(backend.url, lambda *a: None) as front:
        result = run(permissions.Check(), context(front.url, label))
        assert result.status is Status.PASS and len(front.seen) == 1


def answer(status: int, headers: dict[str, str], body: str) -> ProbeResponse:
    url = "http://gw.test/api/v2/version"
    return ProbeResponse(status, CaseInsensitiveDict(headers), body.encode(), url, 1.0, Exchange("GET", url, status, 1.0))


@pytest.mark.parametrize("status, headers, body, header", [
    (401, {"WWW-Authenticate": 'Key realm="gateway"'}, "Unauthorized", None),
    (401, {"Content-Type": "application/json"}, '{"message":"No API key found in request"}', None),
    (403, {"Content-Type": "application/json"}, '{"message":"Invalid API Key"}', None),
    (401, {"Content-Type": "application/json"}, '{"fault":{"faultstring":"Failed to resolve API Key variable '
                                                'request.header.x-apikey"}}', "x-apikey"),
    (401, {"Content-Type": "application/json"}, '{"statusCode":401,"message":"Access denied due to missing '
                                                'subscription key. Send it in Ocp-Apim-Subscription-Key."}',
     "Ocp-Apim-Subscription-Key"),
    (401, {"Content-Type": "application/json"}, '{"error":"missing x-api-key"}', "x-api-key"),
    (401, {"WWW-Authenticate": 'ApiKey header="X-Tenant-Token"'}, "", "X-Tenant-Token"),
    (401, {"WWW-Authenticate": 'Basic realm="corp-sso"'}, "", None),
])
def test_a_fronts_demand_for_its_own_credentials_is_read_from_its_answer(status, headers, body, header) -> None:  # type: ignore[no-untyped-def]
    demand = own_credentials(answer(status, headers, body))
    assert demand is not None and demand.header == header


@pytest.mark.parametrize("label, name", [("airflow-3.3.2", "token_wrong"), ("airflow-3.3.2", "dags_anonymous"),
                                         ("airflow-2.10.5", "dags_basic_wrong"), ("airflow-3.3.2", "probe_viewer")])
def test_airflows_own_refusals_never_read_as_a_fronts_demand(label: str, name: str) -> None:
    data = recorded(label, name)
    assert own_credentials(answer(data["status"], data["headers"], data["body"])) is None


def test_a_front_that_echoes_the_credentials_it_got_leaks_nothing_through_the_finding_or_its_controls() -> None:
    """The front's words are quoted (headline, explanation, controls): what it echoes back is masked there too."""
    def echoing(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        said = f"blocked request with Authorization: {headers.get('Authorization')} and body {body.decode()[:200]}"
        return Reply(403, {"Content-Type": "application/json", "Server": "echo-waf"}, json.dumps({"message": said}).encode())

    with recorded_backend("airflow-3.3.2") as backend, HttpFront(backend.url, echoing) as front:
        ctx = context(front.url, "airflow-3.3.2", payload_for("airflow-3.3.2", {"batch_size": 5}))
        for check in (permissions.Check(), payload_schema.Check()):
            result = run(check, ctx)
            assert result.status is Status.FAIL and result.code in {c.value for c in Code}, result.summary
            shown = json.dumps([result.summary, result.explanation, result.details, result.fix and result.fix.text,
                                [(e.request_headers, e.response_body) for e in result.evidence]])
            assert "front-canary-token-81f2" not in shown and "echo-waf" in shown


def test_a_refusal_the_check_got_past_itself_is_no_finding() -> None:
    """A front that wants credentials for the version endpoint, given by the profile: the check's retry with them
    got Airflow's answer, so its pass stands and no control is sent."""
    def rule(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        return None if "Authorization" in headers else Reply(401, {"WWW-Authenticate": 'Basic realm="edge"'}, b"")

    with recorded_backend("airflow-3.3.2") as backend, HttpFront(backend.url, rule) as front:
        ctx = context(front.url, "airflow-3.3.2")
        ctx.probe.get("/api/v2/version")
        ctx.probe.get("/api/v2/version", auth=ctx.facts.credentials.auth())
        evidence = ctx.probe.drain()
        passed = CheckResult("reachability", "Airflow API reachable", Status.PASS, "Airflow 3.3.2", evidence=evidence)
        assert reviewer(ctx)(passed) is passed and len(front.seen) == 2


def test_controls_behind_a_sub_path_ask_under_it() -> None:
    with recorded_backend("airflow-3.3.2") as backend, \
            HttpFront(backend.url, PathGuard(prefix="/airflow/api/"), mount="/airflow") as front:
        result = run(permissions.Check(), context(front.url + "/airflow", "airflow-3.3.2"))
        assert result.code == Code.PATH and "while GET /airflow/ passes" in result.summary, result.summary
        assert all(request.startswith(("POST /airflow/", "GET /airflow/", "PATCH /airflow/")) for request in front.seen)
