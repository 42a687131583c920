from __future__ import annotations

import re

import base64
import json
import socket
import struct

import pytest
import responses
from responses import matchers

from airflow_doctor.checks import auth_backend
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.probe import Probe
from airflow_doctor.model import Status
from tests.conftest import check_context, recorded, replay
from tests.servers import LocalServer, Reply

V2, V3 = "airflow-2.10.5", "airflow-3.3.2"
BASE = "http://airflow.test"


def v2(**kw):
    return check_context(BASE, api="/api/v1", version="2.10.5", **kw)


def v3(**kw):
    return check_context(BASE, api="/api/v2", version="3.3.2", auth_type=kw.pop("auth_type", "jwt"), **kw)


def basic_header(user: str, password: str, codec: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode(codec)).decode()}


def without_authorization(request) -> tuple[bool, str]:
    return "Authorization" not in request.headers, "the request carries an Authorization header"


@responses.activate(assert_all_requests_are_fired=True)
def test_accepted_basic_auth_records_the_identity_for_later_checks() -> None:
    ctx = v2()
    replay(responses, BASE, V2, "dags_basic_admin", match=[matchers.header_matcher(basic_header("admin", "secret-pw", "latin-1"))])
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.PASS and ctx.facts.identity == "admin"
    assert ctx.facts.credentials == Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password)


@responses.activate(assert_all_requests_are_fired=True)
def test_session_only_backend_explains_basic_auth_is_ignored() -> None:
    ctx = v2()
    replay(responses, BASE, V2, "dags_basic_wrong", path="/api/v1/dags?limit=1",
           match=[matchers.header_matcher(basic_header("admin", "secret-pw", "latin-1"))])
    replay(responses, BASE, V2, "login_page")
    replay(responses, BASE, V2, "login_post_ok")
    replay(responses, BASE, V2, "dags_session", path="/api/v1/dags?limit=1", match=[without_authorization])
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL and finding.summary.startswith("Basic auth is not enabled")
    assert finding.fix is not None and any("AIRFLOW__API__AUTH_BACKENDS=" in c for c in finding.fix.commands)
    assert "UI login: the UI login form accepted them (302 to /home)" in finding.details
    login_form = next(c.request.body for c in responses.calls if c.request.method == "POST")
    assert "username=admin" in login_form and "password=secret-pw" in login_form and "csrf_token=" in login_form


@responses.activate(assert_all_requests_are_fired=True)
def test_wrong_password_is_confirmed_by_the_ui_login_form() -> None:
    ctx = v2(password="not-it")
    replay(responses, BASE, V2, "dags_basic_wrong", path="/api/v1/dags?limit=1")
    replay(responses, BASE, V2, "login_page")
    replay(responses, BASE, V2, "login_post_rejected")
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL and finding.summary.startswith("wrong username or password")


@responses.activate(assert_all_requests_are_fired=True)
def test_sso_only_login_page_says_basic_auth_cannot_work() -> None:
    ctx = v2(username="alice@example.com", password="corp-pw")
    replay(responses, BASE, V2, "dags_basic_wrong", path="/api/v1/dags?limit=1")
    replay(responses, BASE, V2, "login_page_sso")
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL and "single sign-on" in finding.summary and "azure" in finding.explanation


@responses.activate(assert_all_requests_are_fired=True)
def test_non_ascii_password_is_retried_as_utf8_and_warns() -> None:
    ctx = v2(username="user1", password="pässwörd")
    replay(responses, BASE, V2, "dags_basic_wrong", path="/api/v1/dags?limit=1",
           match=[matchers.header_matcher(basic_header("user1", "pässwörd", "latin-1"))])
    replay(responses, BASE, V2, "dags_basic_utf8_user1",
           match=[matchers.header_matcher(basic_header("user1", "pässwörd", "utf-8"))])
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.WARN and "encoded as UTF-8 bytes" in finding.summary
    assert ctx.facts.credentials is not None and ctx.facts.credentials.encoding == "utf-8"
    assert [t.status for t in ctx.facts.trials] == [401, 200]


@responses.activate(assert_all_requests_are_fired=True)
def test_airflow_3_token_exchange_decodes_claims_without_showing_the_token() -> None:
    ctx = v3()
    replay(responses, BASE, V3, "token_admin", match=[matchers.json_params_matcher({"username": "admin", "password": "secret-pw"})])
    replay(responses, BASE, V3, "dags_bearer")
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.PASS and ctx.facts.identity == "admin" and ctx.facts.role == "admin"
    token = responses.calls[1].request.headers["Authorization"].split()[1]
    assert all(token not in d for d in finding.details) and "role 'admin'" in finding.details[0]
    assert ctx.probe.registry.leaks(token)


@pytest.mark.parametrize("label", ["airflow-3.1.3", "airflow-3.2.2", "airflow-3.3.2"])
@responses.activate(assert_all_requests_are_fired=True)
def test_airflow_3_wrong_password_with_the_simple_auth_manager_reads_the_passwords_file_and_adds_no_second_entry(
        label: str) -> None:
    ctx = v3(password="wrong")
    replay(responses, BASE, label, "token_wrong")
    replay(responses, BASE, label, "auth_login_redirect")  # 307 to /auth/login: the simple auth manager's page
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL and "wrong username or password" in finding.summary
    assert "simple auth manager (its login page is /auth/login)" in finding.explanation
    assert "simple_auth_manager_passwords.json.generated" in finding.explanation
    show, entry = finding.fix.commands
    assert "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in show and show.endswith(" admin") and entry == "admin:user"
    assert "Only if it is not there" in finding.fix.text and "never add a second entry" in finding.fix.text
    assert "users reset-password" not in " ".join(finding.fix.commands) and "<the existing entries>" not in str(finding.fix)


@responses.activate(assert_all_requests_are_fired=True)
def test_airflow_3_wrong_password_with_the_fab_auth_manager_gets_fab_users_commands_never_the_passwords_file() -> None:
    ctx = v3(password="wrong")
    replay(responses, BASE, "airflow-3.3.2-fab", "token_wrong")
    replay(responses, BASE, "airflow-3.3.2-fab", "auth_login_redirect")  # 307 to /auth/login/: FAB's login page
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL and "wrong username or password" in finding.summary
    assert "FAB" in finding.explanation
    assert finding.fix.commands[0] == 'airflow users reset-password --username admin --password "$AIRFLOW_PASSWORD"'
    assert "--role Viewer" in finding.fix.commands[1]
    assert "simple_auth_manager" not in str(finding.fix) and "passwords.json" not in str(finding)


@responses.activate(assert_all_requests_are_fired=True)
def test_basic_auth_sent_to_airflow_3_checks_whether_a_token_would_work() -> None:
    ctx = v3(auth_type="basic")
    replay(responses, BASE, V3, "dags_basic")
    replay(responses, BASE, V3, "token_admin")
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL and "does not accept Basic auth" in finding.summary
    assert "do get a token" in finding.summary


FOREIGN_JWT = ".".join(base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=") for part in
                       ({"alg": "HS512", "typ": "JWT"}, {"sub": "1", "iss": "another-deployment", "exp": 1795417481, "iat": 1795331081,
                        "nbf": 1795331081})) + ".c2lnbmF0dXJl"


@pytest.mark.parametrize("answer, token, summary_says, fix_says", [
    ("dags_expired", "opaque-expired-token", "expired", "fresh token"),
    ("dags_garbage", "opaque-foreign-token", "not a JWT at all", "/auth/token"),
    ("dags_garbage", FOREIGN_JWT, "signed by another deployment", "/auth/token"),
], ids=["expired", "not-a-jwt", "jwt-of-another-deployment"])
@responses.activate(assert_all_requests_are_fired=True)
def test_expired_and_foreign_tokens_are_told_apart(answer: str, token: str, summary_says: str, fix_says: str) -> None:
    replay(responses, BASE, V3, answer)
    finding = auth_backend.Check().run(v3(auth_type="token", token=token))
    assert finding.status is Status.FAIL and summary_says in finding.summary and finding.why_ui_works
    assert finding.fix is not None and fix_says in finding.fix.text + " ".join(finding.fix.commands)
    assert "jwt_secret =" not in " ".join(finding.fix.commands), "a token from elsewhere needs no server change"


@responses.activate(assert_all_requests_are_fired=True)
def test_no_credentials_on_airflow_3_asks_for_a_jwt_profile() -> None:
    replay(responses, BASE, V3, "dags_anonymous")
    finding = auth_backend.Check().run(v3(auth_type="none", password=None))
    assert finding.status is Status.FAIL and "requires a token" in finding.summary


@responses.activate(assert_all_requests_are_fired=True)
def test_a_rate_limited_login_form_says_to_wait_instead_of_guessing() -> None:
    ctx = v2(password="not-it")
    replay(responses, BASE, V2, "dags_basic_wrong", path="/api/v1/dags?limit=1")
    replay(responses, BASE, V2, "login_page")
    replay(responses, BASE, V2, "login_post_rate_limited", path="/login/")
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL and "429 Too Many Requests" in finding.explanation
    assert "wait a minute" in finding.explanation and "it says: 2 per 60 second" in finding.explanation


def answer_recorded(name: str) -> Reply:
    data = recorded(V2, name)
    return Reply(data["status"], data["headers"], data["body"].encode("utf-8"))


def reset(handler) -> None:
    """Drop the connection with a TCP reset instead of an answer."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


def never_answer(handler) -> None:
    """Keep the connection open and say nothing; the client's read timeout ends it."""


def airflow2_resetting(request: str):
    """Airflow 2 with the session-only backend (recorded answers), except that `request` is reset."""
    def route(handler):
        if f"{handler.command} {handler.path}" == request:
            return reset(handler)
        if handler.path.startswith("/api/v1/dags"):
            return answer_recorded("dags_basic_wrong")
        if handler.path == "/login/" and handler.command == "GET":
            return answer_recorded("login_page")
        return Reply(404)
    return route


def test_a_reset_during_the_ui_login_is_named_with_its_request_and_the_401_kept() -> None:
    with LocalServer(airflow2_resetting("POST /login/")) as server:
        ctx = check_context(server.url, api="/api/v1", version="2.10.5")
        finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL
    assert finding.summary == ("Basic auth refused (401); the UI login that would tell why got no answer: "
                               f"POST {server.url}/login/ failed: the server closed the connection before the answer "
                               "was complete")
    login = ctx.probe.drain()[-1]
    assert (login.method, login.status) == ("POST", None) and login.error.startswith("connection-closed: ")
    assert "secret-pw" not in (login.request_body or "")


@pytest.mark.parametrize(("route", "what"), [
    (airflow2_resetting("GET /api/v1/dags?limit=1"), "the server closed the connection before the answer was complete"),
    (never_answer, "no (complete) answer after"),
], ids=["reset", "read-timeout"])
def test_basic_auth_that_got_no_answer_claims_no_401(route, what: str) -> None:
    with LocalServer(route) as server:
        ctx = check_context(server.url, api="/api/v1", version="2.10.5")
        ctx.probe = Probe(server.url, connect_timeout=30, read_timeout=2)
        finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL
    assert finding.summary.startswith(f"GET {server.url}/api/v1/dags?limit=1 failed: {what}")
    assert not re.search(r"\b401\b", (finding.summary + finding.explanation).replace(server.url, "<url>"))
    assert "never judged the credentials" in finding.explanation
    assert [path for _, path, _ in server.requests] == ["/api/v1/dags?limit=1"]


NGINX_401 = b"<html><head><title>401 Authorization Required</title></head><body>nginx</body></html>"


@responses.activate(assert_all_requests_are_fired=True)
def test_a_401_page_with_a_realm_is_the_gateways_not_airflows() -> None:
    responses.add("GET", BASE + "/api/v1/dags", status=401, body=NGINX_401, content_type="text/html",
                  headers={"Server": "nginx/1.25.3", "WWW-Authenticate": 'Basic realm="API gateway"'})
    finding = auth_backend.Check().run(v2())
    assert finding.status is Status.FAIL and "comes from what stands in front of Airflow" in finding.summary
    assert "Server: nginx/1.25.3" in finding.summary and "realm 'API gateway'" in finding.summary
    assert finding.fix is not None and "auth_backends" not in finding.fix.text + "".join(finding.fix.commands)
    assert "gateway" in finding.why_ui_works


@responses.activate(assert_all_requests_are_fired=True)
def test_basic_auth_accepted_by_some_replicas_only_is_named_as_servers_that_disagree() -> None:
    refused = recorded(V2, "dags_basic_wrong")
    accepted = recorded(V2, "dags_basic_admin")
    for answer in (refused, accepted, refused, accepted):
        responses.add("GET", BASE + "/api/v1/dags", status=answer["status"], body=answer["body"],
                      content_type="application/json")
    finding = auth_backend.Check().run(v2())
    assert finding.status is Status.FAIL and "the servers behind this address disagree" in finding.summary
    assert "2x 200, 1x 401" in finding.summary and "sticky" in finding.why_ui_works
    assert finding.fix is not None and "same [api] auth_backends" in finding.fix.text


def test_a_token_that_arrives_as_a_cookie_but_not_as_a_header_blames_the_path_not_the_token() -> None:
    """Airflow 3 answers 'Not authenticated' only when no token arrived; a proxy that strips Authorization."""
    def route(handler) -> Reply:
        if "_token=" in handler.headers.get("Cookie", ""):
            return Reply(200, {"Content-Type": "application/json", "Server": "uvicorn"}, b'{"dags": [], "total_entries": 0}')
        return Reply(401, {"Content-Type": "application/json", "Server": "uvicorn", "Via": "1.1 corp-proxy"},
                     b'{"detail":"Not authenticated"}')

    with LocalServer(route) as server:
        ctx = check_context(server.url, api="/api/v2", version="3.3.2", auth_type="token", token="a-token-of-this-server")
        finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL and finding.summary.startswith("the Authorization header does not reach Airflow")
    assert "the same token sent as the UI's cookie is accepted" in finding.summary
    assert "Via: 1.1 corp-proxy" in finding.explanation and "_token cookie" in finding.why_ui_works
    assert finding.fix is not None and "jwt_secret" not in " ".join(finding.fix.commands)


V211 = "airflow-2.11.2"


def v211(**kw):
    return check_context(BASE, api="/api/v1", version="2.11.2", **kw)


@responses.activate(assert_all_requests_are_fired=True)
def test_airflow_2_11_refuses_basic_auth_with_403_and_the_ui_login_shows_basic_is_not_enabled() -> None:
    """Real 2.11.2 with the session backend: 403 'Forbidden' to Basic auth and to no credentials alike (2.10.5: 401)."""
    ctx = v211()
    replay(responses, BASE, V211, "dags_basic_session_only",
           match=[matchers.header_matcher(basic_header("admin", "secret-pw", "latin-1"))])
    replay(responses, BASE, V211, "dags_anonymous", match=[without_authorization])
    replay(responses, BASE, V2, "login_page")
    replay(responses, BASE, V2, "login_post_ok")
    replay(responses, BASE, V2, "dags_session", path="/api/v1/dags?limit=1", match=[without_authorization])
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL and finding.summary.startswith("Basic auth is not enabled"), finding.summary
    assert "refuses them as Basic auth (403)" in finding.summary and "authenticates nobody" in finding.summary
    assert "Basic auth: 403 for admin" in finding.details and "answered 403, not 401" in finding.explanation
    assert finding.fix is not None and any("AIRFLOW__API__AUTH_BACKENDS=" in c for c in finding.fix.commands)


@responses.activate(assert_all_requests_are_fired=True)
def test_airflow_2_11_wrong_password_answered_403_is_confirmed_by_the_ui_login_form() -> None:
    ctx = v211(password="not-it")
    replay(responses, BASE, V211, "dags_basic_wrong", match=[matchers.header_matcher(basic_header("admin", "not-it", "latin-1"))])
    replay(responses, BASE, V211, "dags_anonymous", match=[without_authorization])
    replay(responses, BASE, V2, "login_page")
    replay(responses, BASE, V2, "login_post_rejected")
    finding = auth_backend.Check().run(ctx)
    assert finding.summary.startswith("wrong username or password"), finding.summary
    assert "Basic auth: 403" in finding.details and "authenticated but may not read" not in finding.summary


@pytest.mark.parametrize("label, setting", [
    ("airflow-2.10.5", "AUTH_ROLE_PUBLIC"),
    ("airflow-3.3.2", "simple_auth_manager_all_admins"),
], ids=["airflow-2-public-role", "airflow-3-all-admins"])
@responses.activate(assert_all_requests_are_fired=True)
def test_an_api_that_answers_without_credentials_is_a_security_warning_naming_the_setting(label: str,
                                                                                       setting: str) -> None:
    """Answers recorded from real servers run with AUTH_ROLE_PUBLIC = 'Viewer' / all-admins mode."""
    replay(responses, BASE, label, "dags_anonymous_open")
    ctx = (v3 if "3." in label else v2)(auth_type="none", password=None)
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.WARN and finding.code == "anonymous-api-access"
    assert finding.summary.startswith("security: the API accepts requests without credentials") and setting in finding.summary
    assert setting in finding.fix.text + " ".join(finding.fix.commands)
    assert ctx.facts.credentials == Credentials(Scheme.NONE)  # the later checks go on with it


@responses.activate(assert_all_requests_are_fired=True)
def test_all_admins_mode_gives_any_credentials_its_anonymous_admin_token_and_that_is_warned_too() -> None:
    replay(responses, BASE, V3, "token_all_admins")
    replay(responses, BASE, V3, "dags_bearer")
    finding = auth_backend.Check().run(v3(password="anything"))
    assert finding.status is Status.WARN and finding.code == "anonymous-api-access"
    assert "simple_auth_manager_all_admins" in finding.summary


def test_the_login_redirect_tells_the_auth_manager_apart() -> None:
    from airflow_doctor.checks.readers.auth_common import AuthManager, auth_manager_from_login_redirect

    expected = {("airflow-3.3.2-fab", "auth_login_redirect"): AuthManager.FAB,
                ("airflow-3.3.2", "auth_login_redirect"): AuthManager.SIMPLE,
                ("airflow-3.2.2", "auth_login_redirect"): AuthManager.SIMPLE,
                ("airflow-3.1.3", "auth_login_redirect"): AuthManager.SIMPLE,
                ("airflow-3.3.2", "auth_login_redirect_all_admins"): AuthManager.SIMPLE_ALL_ADMINS}
    for (label, name), manager in expected.items():
        answer = recorded(label, name)
        assert auth_manager_from_login_redirect(answer["status"], answer["headers"]["location"]) is manager, label
    assert auth_manager_from_login_redirect(200, "") is None


def basic_or_bearer(kind: str):
    def match(request) -> tuple[bool, str]:
        return request.headers.get("Authorization", "").startswith(kind), f"not {kind}"
    return match


@responses.activate(assert_all_requests_are_fired=True)
def test_basic_auth_sent_to_airflow_3_assumes_the_token_the_exchange_issued_when_the_api_accepts_it() -> None:
    """Past the first cause: the token from /auth/token becomes the later checks' credentials (the runner lets them
    run on it); the failure stays the Basic auth the script sends."""
    ctx = v3(auth_type="basic")
    replay(responses, BASE, V3, "dags_basic", match=[basic_or_bearer("Basic")])
    replay(responses, BASE, V3, "token_admin")
    replay(responses, BASE, V3, "dags_bearer", match=[basic_or_bearer("Bearer")])
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL and "does not accept Basic auth" in finding.summary
    assert finding.assumed is not None and "token from /auth/token as Bearer" in finding.assumed.text
    assert ctx.facts.credentials is not None and ctx.facts.credentials.scheme is Scheme.BEARER


@responses.activate(assert_all_requests_are_fired=True)
def test_basic_auth_sent_to_airflow_3_assumes_nothing_when_the_issued_token_is_refused_too() -> None:
    ctx = v3(auth_type="basic")
    replay(responses, BASE, V3, "dags_basic")
    replay(responses, BASE, V3, "token_admin")
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL and finding.assumed is None and ctx.facts.credentials is None
