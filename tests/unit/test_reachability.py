from __future__ import annotations

import pytest
import responses

from airflow_doctor.checks import reachability
from airflow_doctor.checks.base import ApiFlavour, CheckContext, Facts, Platform
from airflow_doctor.probe import Layer, Probe
from airflow_doctor.model import CheckResult, Status
from airflow_doctor.sources.profile import Auth, AuthType, Profile
from airflow_doctor.runner import run_checks
from tests.conftest import recorded, replay
from tests.servers import HOSTILE, LocalServer, Reply, closed_port

V2, V3 = "airflow-2.10.5", "airflow-3.3.2"
BASE = "http://airflow.test"


def run_reachability(url: str, auth: Auth = Auth(AuthType.NONE)) -> tuple[CheckResult, Facts]:
    profile = Profile("t", url, auth, connect_timeout=1, read_timeout=3)
    facts = Facts(base_url=url)
    probe = Probe(url, connect_timeout=1, read_timeout=3)
    (result,) = run_checks([reachability.Check()], CheckContext(profile, facts, probe), probe)
    return result, facts


@responses.activate(assert_all_requests_are_fired=True)
def test_airflow_2_is_detected_with_version_prefix_and_health() -> None:
    replay(responses, BASE, V2, "v2_version")
    replay(responses, BASE, V2, "v1_version")
    replay(responses, BASE, V2, "health")
    result, facts = run_reachability(BASE)
    assert result.status is Status.PASS
    assert (facts.airflow_version, facts.api, facts.major, facts.server) == ("2.10.5", ApiFlavour.V1, 2, "gunicorn")
    assert facts.health["scheduler"] == "healthy" and facts.health["metadatabase"] == "healthy"
    assert "Airflow 2.10.5, API at http://airflow.test/api/v1" in result.summary
    assert [e.url for e in result.evidence] == [BASE + "/api/v2/version", BASE + "/api/v1/version", BASE + "/api/v1/health"]


@responses.activate(assert_all_requests_are_fired=True)
def test_airflow_3_is_detected_from_its_own_version_endpoint() -> None:
    replay(responses, BASE, V3, "v2_version")
    replay(responses, BASE, V3, "health")
    result, facts = run_reachability(BASE)
    assert result.status is Status.PASS
    assert (facts.airflow_version, facts.api, facts.server) == ("3.3.2", ApiFlavour.V2, "uvicorn")
    assert "dag-processor healthy" in result.summary
    assert any("JWT from POST /auth/token" in d for d in result.details)


@pytest.mark.parametrize("label, expected", [
    (V2, ["no healthy scheduler"]),
    (V3, ["no healthy scheduler", "no healthy dag-processor"]),
])
@responses.activate(assert_all_requests_are_fired=True)
def test_missing_scheduler_warns_that_runs_would_stay_queued(label: str, expected: list[str]) -> None:
    if label == V2:
        replay(responses, BASE, V2, "v2_version")
        replay(responses, BASE, V2, "v1_version")
    else:
        replay(responses, BASE, V3, "v2_version")
    replay(responses, BASE, label, "health_no_scheduler")
    result, _ = run_reachability(BASE)
    assert result.status is Status.WARN
    for text in expected:
        assert text in result.summary
    assert "sit queued" in result.explanation


@responses.activate(assert_all_requests_are_fired=True)
def test_wrong_sub_path_on_airflow_3_reaches_the_ui_and_names_the_right_url() -> None:
    replay(responses, BASE, V3, "subpath_v2_version", path="/nope/api/v2/version")
    replay(responses, BASE, V3, "subpath_v1_version", path="/nope/api/v1/version")
    replay(responses, BASE, V3, "v2_version")
    result, _ = run_reachability(BASE + "/nope")
    assert result.status is Status.FAIL and result.summary.startswith("wrong path")
    assert "single-page UI" in result.explanation
    assert result.fix is not None and result.fix.commands == (f"url: {BASE}",)


@responses.activate(assert_all_requests_are_fired=True)
def test_wrong_sub_path_on_airflow_2_answers_airflow_404_and_names_the_right_url() -> None:
    replay(responses, BASE, V2, "subpath_v2_version", path="/nope/api/v2/version")
    replay(responses, BASE, V2, "subpath_v1_version", path="/nope/api/v1/version")
    replay(responses, BASE, V2, "v2_version")
    replay(responses, BASE, V2, "v1_version")
    result, _ = run_reachability(BASE + "/nope")
    assert result.status is Status.FAIL and "not where Airflow's web server is mounted" in result.explanation
    assert result.fix is not None and result.fix.commands == (f"url: {BASE}",)


@responses.activate(assert_all_requests_are_fired=True)
def test_url_with_pasted_api_v1_is_corrected_and_flagged_on_airflow_3() -> None:
    replay(responses, BASE, V3, "v2_version")
    replay(responses, BASE, V3, "health")
    result, facts = run_reachability(BASE + "/api/v1")
    assert result.status is Status.WARN and "already ends with /api/v1" in result.summary
    assert facts.base_url == BASE and facts.api is ApiFlavour.V2
    assert any("Airflow 2's API" in d for d in result.details)
    assert result.fix is not None and result.fix.commands == (f"url: {BASE}",)


@responses.activate(assert_all_requests_are_fired=True)
def test_managed_platform_is_recognised_from_the_host() -> None:
    base = "https://clq52c95r000208i8c7wahwxt.astronomer.run/dz3uu847"
    replay(responses, base, V3, "v2_version")
    replay(responses, base, V3, "health")
    result, facts = run_reachability(base)
    assert facts.platform is Platform.ASTRONOMER
    assert any("Deployment or Workspace API token" in d for d in result.details)


def _serve_everywhere(reply: Reply) -> LocalServer:
    return LocalServer(lambda handler: reply)


def test_http_to_https_redirect_is_named_with_why_it_breaks_a_post() -> None:
    with LocalServer(lambda h: Reply(301, {"Location": f"https://airflow.example.com{h.path}"})) as server:
        result, _ = run_reachability(server.url)
    assert result.status is Status.FAIL and "redirected (301) to https://airflow.example.com/api/v2/version" in result.summary
    assert "turn the POST into a GET" in result.explanation
    assert result.fix is not None and result.fix.commands == ("url: https://airflow.example.com",)


def test_redirect_to_an_identity_provider_is_named_as_an_sso_proxy() -> None:
    target = "https://accounts.google.com/o/oauth2/v2/auth?client_id=x&state=abc"
    with _serve_everywhere(Reply(302, {"Location": target})) as server:
        result, _ = run_reachability(server.url)
    assert result.status is Status.FAIL and "to a login page" in result.summary
    assert "SSO proxy" in result.explanation


def test_html_login_page_where_json_was_expected() -> None:
    page = b"<html><head><title>Sign in - Corp SSO</title></head><body><form><input type='password'></form></body></html>"
    with _serve_everywhere(Reply(200, {"Content-Type": "text/html"}, page)) as server:
        result, _ = run_reachability(server.url)
    assert result.status is Status.FAIL and "HTML login page (Sign in - Corp SSO)" in result.summary


def test_credentials_demanded_for_the_version_endpoint_point_at_a_front_end() -> None:
    with _serve_everywhere(Reply(401, {"Content-Type": "text/plain", "WWW-Authenticate": "Bearer"}, b"Unauthorized")) as server:
        result, _ = run_reachability(server.url)
    assert result.status is Status.FAIL and "credentials are demanded even for the version endpoint" in result.summary


def test_bad_gateway_from_a_proxy_says_the_web_server_is_unreachable_behind_it() -> None:
    with _serve_everywhere(Reply(502, {"Content-Type": "text/html", "Server": "nginx"}, b"<html><title>502 Bad Gateway</title></html>")) as server:
        result, _ = run_reachability(server.url)
    assert result.status is Status.FAIL and result.summary.startswith("the gateway answered 502 (Bad Gateway), not Airflow")
    assert "'nginx'" in result.summary and "nothing behind it answered" in result.summary


def test_a_server_that_is_not_airflow_is_named_as_such() -> None:
    with _serve_everywhere(Reply(404, {"Content-Type": "application/json", "Server": "Jetty"}, b'{"message": "no route"}')) as server:
        result, _ = run_reachability(server.url)
    assert result.status is Status.FAIL and result.summary.startswith("not Airflow") and "Server: Jetty" in result.summary


def test_refused_port_fails_with_the_tcp_layer_named_in_words() -> None:
    result, _ = run_reachability(f"http://127.0.0.1:{closed_port()}")
    assert result.status is Status.FAIL and "the connection was refused" in result.summary
    assert "tcp-refused" not in result.summary + result.explanation and result.why_ui_works
    assert "airflow api-server" in result.explanation
    assert result.evidence and result.evidence[0].status is None


def test_server_strings_with_markup_survive_the_terminal_renderer() -> None:
    from airflow_doctor.model import Report
    from airflow_doctor.report import render_terminal

    with _serve_everywhere(Reply(404, {"Content-Type": "text/plain", "Server": "[bold]proxy[/bold]"}, b"[red]gone[/red]")) as server:
        result, _ = run_reachability(server.url)
    text = render_terminal(Report("0", "now", "p", server.url, (), (), (result,)), verbosity=2)
    assert "[bold]proxy[/bold]" in text and "[red]gone[/red]" in text


def airflow3_route(handler) -> Reply:
    """Airflow 3.3.2's recorded version and health answers, served over a real socket."""
    name = {"/api/v2/version": "v2_version", "/api/v2/monitor/health": "health"}.get(handler.path)
    if name is None:
        return Reply(404, {"Content-Type": "application/json"}, b'{"error":"API route not found"}')
    data = recorded(V3, name)
    return Reply(data["status"], {"Content-Type": "application/json"}, data["body"].encode())


def test_a_host_name_typo_asks_did_you_mean_and_the_corrected_url_works() -> None:
    with LocalServer(airflow3_route) as server:
        result, _ = run_reachability(f"http://localhsot:{server.port}")
        assert result.status is Status.FAIL and "did you mean localhost?" in result.summary
        assert "dns" not in result.summary.split() and result.why_ui_works
        assert result.fix is not None and result.fix.commands == (f"url: http://localhost:{server.port}",)
        corrected, facts = run_reachability(result.fix.commands[0].removeprefix("url: "))
    assert corrected.status is Status.PASS and facts.airflow_version == "3.3.2"


def test_https_to_a_plain_http_port_says_use_http_not_trust_a_certificate() -> None:
    with LocalServer(airflow3_route) as server:
        result, _ = run_reachability(f"https://127.0.0.1:{server.port}")
        assert result.status is Status.FAIL and "did not answer TLS" in result.summary
        assert result.fix is not None and "CA" not in result.fix.text and "certificate" not in result.explanation.replace(
            "no certificate is involved", "")
        assert result.fix.commands == (f"url: {server.url}",) and "http://" in result.why_ui_works
        corrected, _ = run_reachability(server.url)
    assert corrected.status is Status.PASS


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_every_failure_to_reach_airflow_says_why_the_ui_works_without_machine_codes(hostile) -> None:
    with LocalServer(hostile.route) as server:
        result, _ = run_reachability(server.url)
    assert result.status is Status.FAIL and result.why_ui_works
    assert not any(code.value + ":" in result.summary for code in Layer), result.summary


def test_a_proxy_mounting_airflow_under_a_sub_path_is_found_from_the_root_redirect() -> None:
    def route(handler) -> Reply:
        if handler.path == "/":
            return Reply(302, {"Location": "/team-a/airflow/home"})
        if handler.path.startswith("/team-a/airflow/"):
            handler.path = handler.path.removeprefix("/team-a/airflow")
            return airflow3_route(handler)
        return Reply(404, {"Server": "nginx", "Content-Type": "text/html"}, b"<html><title>404 Not Found</title></html>")

    with LocalServer(route) as server:
        result, _ = run_reachability(server.url)
        assert result.status is Status.FAIL and result.summary.startswith("Airflow is served under /team-a/airflow")
        assert result.fix is not None and result.fix.commands == (f"url: {server.url}/team-a/airflow",) and result.why_ui_works
        corrected, _ = run_reachability(server.url + "/team-a/airflow")
    assert corrected.status is Status.PASS


# --- past the first cause: the fixed url, when Airflow answers there, is what the later checks run on -----------

def test_a_sub_path_found_is_assumed_for_the_later_checks_with_the_version_it_answered() -> None:
    def route(handler) -> Reply:
        if handler.path.startswith("/airflow/"):
            handler.path = handler.path.removeprefix("/airflow")
            return airflow3_route(handler)
        return Reply(404, {"Server": "nginx", "Content-Type": "text/html"}, b"<html><title>404 Not Found</title></html>")

    with LocalServer(route) as server:
        result, facts = run_reachability(server.url)
    assert result.status is Status.FAIL and result.code == "airflow-under-subpath"
    assert result.assumed is not None and f"the url is {server.url}/airflow" in result.assumed.text
    assert "3.3.2 answered its version there" in result.assumed.text
    assert (facts.base_url, facts.api, facts.airflow_version) == (server.url + "/airflow", ApiFlavour.V2, "3.3.2")
    assert facts.health["scheduler"] == "healthy"


def test_a_redirect_whose_target_answers_airflow_is_assumed_and_one_whose_target_does_not_is_not() -> None:
    with LocalServer(airflow3_route) as target:
        with LocalServer(lambda h: Reply(308, {"Location": f"{target.url}{h.path}"})) as server:
            result, facts = run_reachability(server.url)
    assert result.status is Status.FAIL and result.code == "api-redirected"
    assert result.assumed is not None and "where the redirect points" in result.assumed.text
    assert (facts.base_url, facts.api) == (target.url, ApiFlavour.V2)

    with LocalServer(lambda h: Reply(301, {"Location": f"http://127.0.0.1:{closed_port()}{h.path}"})) as server:
        result, facts = run_reachability(server.url)
    assert result.status is Status.FAIL and result.assumed is None
    assert facts.base_url == server.url and facts.api is None, "nothing is assumed that did not answer"
