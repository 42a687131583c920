"""Cloud Composer and Astronomer without a server: profiles, the optional extra, the credential forms on the wire,
the Google ID token read from its claims, and the printed requests. The real-server scenarios are in
tests/integration/test_composer_real.py and test_astronomer_real.py."""

from __future__ import annotations

import base64
import json
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_doctor.checks.readers import working_request
from airflow_doctor.platforms.composer.findings import identity_token_sent
from airflow_doctor.checks.readers.credentials import Credentials, Scheme, Trial
from airflow_doctor.cli import app
from airflow_doctor.errors import ProfileError
from airflow_doctor.sources.profile import AuthType
from airflow_doctor.sources.profiles_file import resolve
from airflow_doctor.redact import redact_text
from airflow_doctor.secrets import Secret
from tests.conftest import check_context, write_profile
from tests.servers import LocalServer, Reply

ROOT = Path(__file__).resolve().parents[2]


def test_auth_type_google_needs_no_keys(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "url: https://x.composer.googleusercontent.com\nauth: {type: google}\n", "c.yml")
    profile, _ = resolve(str(path), None, env={})
    assert profile.auth.type is AuthType.GOOGLE and profile.auth.token is None


@pytest.mark.parametrize("auth, expected", [
    ("{type: google, token: abc}", "auth type 'google' does not use 'token'"),
    ("{type: google, scheme: none}", "auth type 'google' does not use 'scheme'"),
    ("{type: token, token: abc, scheme: basic}", "auth scheme 'basic' is not known; use bearer"),
])
def test_bad_managed_platform_auth_is_one_sentence(tmp_path: Path, auth: str, expected: str) -> None:
    path = write_profile(tmp_path, f"url: https://h\nauth: {auth}\n", "p.yml")
    with pytest.raises(ProfileError) as caught:
        resolve(str(path), None, env={})
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_token_scheme_none_is_read_and_shown(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "url: https://deployments.example.com/r1/airflow\n"
                                   "auth: {type: token, token: key-123, scheme: none}\n", "a.yml")
    profile, _ = resolve(str(path), None, env={})
    assert profile.auth.scheme == "none"
    assert ("auth.scheme", "none") in [(k, v) for k, v, _ in profile.shown_fields()]


def test_the_key_goes_alone_in_authorization_and_is_never_shown() -> None:
    seen: list[str] = []

    def route(handler):  # type: ignore[no-untyped-def]
        seen.append(handler.headers.get("Authorization", ""))
        return Reply(200, {"Content-Type": "application/json"}, b'{"dags": []}')

    with LocalServer(route) as server:
        from airflow_doctor.probe import Probe

        response = Probe(server.url).get("/api/v1/dags", auth=Credentials(Scheme.KEY, secret=Secret("key-xyz")).auth())
    assert seen == ["key-xyz"]
    assert "key-xyz" not in json.dumps(response.exchange.request_headers)


def test_google_credentials_are_sent_as_bearer() -> None:
    request = Credentials(Scheme.GOOGLE, secret=Secret("ya29.abc")).auth()
    import requests

    prepared = request(requests.Request("GET", "http://h/").prepare())
    assert prepared.headers["Authorization"] == "Bearer ya29.abc"


def test_the_base_install_depends_on_neither_google_auth_nor_boto3() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = " ".join(project["dependencies"]).lower()
    assert "google-auth" not in names and "boto3" not in names
    assert any(d.startswith("google-auth") for d in project["optional-dependencies"]["gcp"])


def test_a_missing_gcp_extra_is_one_line_naming_the_install_command(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.auth", None)
    path = write_profile(tmp_path, "url: http://127.0.0.1:9\nauth: {type: google}\n", "c.yml")
    result = CliRunner().invoke(app, ["check", "--profile", str(path)])
    assert result.exit_code == 2, result.output
    assert "pip install 'airflow-doctor[gcp]'" in result.output and "Traceback" not in result.output


def _jwt(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


def _refused(status: int) -> Trial:
    return Trial(Credentials(Scheme.BEARER, secret=Secret("x")), status, "Unauthorized")


def test_a_google_id_token_is_recognised_by_issuer_and_audience() -> None:
    token = _jwt({"iss": "https://accounts.google.com", "aud": "123.apps.googleusercontent.com", "email": "a@b.c"})
    finding = identity_token_sent(token, _refused(401))
    assert finding is not None and finding.code == "composer-id-token"
    assert "a@b.c" in finding.summary and "answered 401" in finding.summary and finding.why_ui_works


@pytest.mark.parametrize("claims", [
    {"iss": "airflow", "aud": "apache-airflow", "sub": "1"},  # Airflow 3's own JWT
    {"iss": "https://accounts.google.com", "sub": "1"},  # no audience: not an ID token for a client
])
def test_other_jwts_are_not_called_google_id_tokens(claims: dict) -> None:
    assert identity_token_sent(_jwt(claims), _refused(403)) is None
    assert identity_token_sent("ya29.opaque-access-token", _refused(401)) is None


@pytest.mark.parametrize("api, version", [("/api/v1", "2.10.5"), ("/api/v2", "3.3.2")])
def test_the_composer_request_is_an_authorized_session_with_the_version_body(api: str, version: str) -> None:
    ctx = check_context("https://x.composer.googleusercontent.com", api=api, version=version, auth_type="google",
                        password=None)
    request = working_request.build(ctx.profile, ctx.facts, [])
    python = next(s.code for s in request.snippets if s.label == "Python (google-auth)")
    assert "AuthorizedSession(credentials)" in python and f"{api}/dags/doctor_demo/dagRuns" in python
    assert ("'logical_date': None" in python) == (api == "/api/v2")
    assert redact_text(python) == python  # nothing in it looks like a secret to the report's redaction
    compile(python, "snippet", "exec")


def test_the_astro_software_request_sends_the_bare_key() -> None:
    ctx = check_context("https://deployments.example.com/r1/airflow", api="/api/v1", version="2.10.5",
                        auth_type="token", password=None, token="key-123")
    ctx.profile = type(ctx.profile)(**{**ctx.profile.__dict__, "auth": type(ctx.profile.auth)(
        **{**ctx.profile.auth.__dict__, "scheme": "none"})})
    request = working_request.build(ctx.profile, ctx.facts, [])
    curl = next(s.code for s in request.snippets if s.label == "curl")
    assert '-H "Authorization: $AIRFLOW_TOKEN"' in curl and "Bearer" not in curl


def test_a_self_hosted_check_never_imports_google_auth() -> None:
    import subprocess

    code = ("import sys; from airflow_doctor import cli, doctor; from airflow_doctor.checks import CHECKS; "
            "print(any(m == 'google' or m.startswith('google.') for m in sys.modules))")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert ran.stdout.strip() == "False", ran.stderr


@pytest.fixture
def no_adc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from tests.standins.google_fixtures import isolate_adc

    isolate_adc(monkeypatch, tmp_path)
    return tmp_path


def test_adc_from_the_gcloud_login_file_names_the_user_and_why_that_file(no_adc: Path) -> None:
    import google.auth

    from airflow_doctor.platforms.composer.client import SCOPE, principal_of
    from tests.standins.google import GoogleOAuth, GooglePrincipal

    person = GooglePrincipal("ana@example.com", "1049")
    with GoogleOAuth([person]) as oauth:
        oauth.authorized_user_file(no_adc / "gcloud", person, account=True)
    credentials, _ = google.auth.default(scopes=[SCOPE])
    principal = principal_of(credentials)
    assert principal.is_user and principal.email == "ana@example.com" and principal.numeric_id is None
    assert "gcloud auth application-default login" in principal.chosen_by
    assert principal.source == str(no_adc / "gcloud" / "application_default_credentials.json")


def test_a_service_account_key_gives_an_access_token_and_the_airflow_user_and_registers_its_secrets(
        no_adc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_doctor.platforms.composer.client import access_token
    from airflow_doctor.secrets import SecretRegistry
    from tests.standins.google import GoogleOAuth, GooglePrincipal

    robot = GooglePrincipal("etl@p.iam.gserviceaccount.com", "1133", service_account=True)
    registry = SecretRegistry()
    with GoogleOAuth([robot]) as google:
        key = google.service_account_file(no_adc, robot)
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
        obtained = access_token(registry)
        issued = list(google.issued)
    assert obtained.token.reveal() == issued[0] and obtained.principal.airflow_user == "accounts.google.com:1133"
    assert "wins over any gcloud login" in obtained.principal.chosen_by
    key_id = json.loads(key.read_text())["private_key_id"]
    assert registry.leaks(f"x {issued[0]} y") and registry.leaks(f"x {key_id} y")


def test_no_adc_anywhere_is_a_typed_failure_not_an_exception_from_google_auth(no_adc: Path) -> None:
    from airflow_doctor.platforms.composer.client import AdcError, AdcProblem, access_token
    from airflow_doctor.secrets import SecretRegistry

    with pytest.raises(AdcError) as caught:
        access_token(SecretRegistry())
    assert caught.value.problem is AdcProblem.NOT_FOUND and "default credentials were not found" in caught.value.message


def test_a_token_endpoint_that_never_answers_is_bounded_by_the_profiles_timeout(
        no_adc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from airflow_doctor.platforms.composer.client import AdcError, AdcProblem, access_token
    from airflow_doctor.secrets import SecretRegistry
    from tests.standins.google import GoogleOAuth, GooglePrincipal

    robot = GooglePrincipal("etl@p.iam.gserviceaccount.com", "1133", service_account=True)
    released = threading.Event()
    with GoogleOAuth([robot]) as oauth:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(oauth.service_account_file(no_adc, robot)))
        oauth.route = lambda handler: released.wait(30) and None  # accepts, never answers until released
        try:
            with pytest.raises(AdcError) as caught:
                access_token(SecretRegistry(), deadline=1.0)
        finally:
            released.set()
    assert caught.value.problem is AdcProblem.UNREACHABLE and "timed out" in caught.value.message.lower()


def _json_reply(status: int, body: object) -> Reply:
    return Reply(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


def _federation_file(folder: Path, token_url: str, subject: str) -> Path:
    """An external_account file, as 'gcloud iam workload-identity-pools create-cred-config' writes it."""
    (folder / "subject-token").write_text(subject + "\n")
    path = folder / "federation.json"
    path.write_text(json.dumps({
        "type": "external_account", "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q",
        "token_url": token_url, "credential_source": {"file": str(folder / "subject-token")}}))
    return path


@pytest.mark.parametrize("status", [400, 401])
def test_a_refused_federation_exchange_is_a_refusal_that_never_shows_the_subject_token(
        no_adc: Path, monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    from airflow_doctor.platforms.composer.findings import adc_failure
    from airflow_doctor.platforms.composer.client import AdcError, AdcProblem, access_token
    from airflow_doctor.secrets import SecretRegistry

    subject = "opaqueSUBJECTTOKENCANARY0123456789abcdef"
    registry = SecretRegistry()
    refusal = {"error": "invalid_grant", "error_description": f"The subject token {subject} is expired"}
    with LocalServer(lambda handler: _json_reply(status, refusal)) as sts:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(_federation_file(no_adc, f"{sts.url}/v1/token", subject)))
        with pytest.raises(AdcError) as caught:
            access_token(registry)
    assert caught.value.problem is AdcProblem.REFUSED and "invalid_grant" in caught.value.message
    finding = adc_failure(caught.value)
    shown = json.dumps([finding.summary, finding.explanation, str(caught.value)])
    assert subject not in shown and registry.leaks(f"x {subject} y")
    assert finding.code == "composer-federation-refused"


@pytest.mark.parametrize("reply", [
    Reply(200, {"Content-Type": "text/html"}, b"<html>captive portal</html>"),
    _json_reply(200, {"access_token": "ya29.NOTSHOWN0123456789", "expires_in": "soon", "token_type": "Bearer"}),
    Reply(500, {"Content-Type": "text/html"}, b"<html>proxy error</html>"),
    _json_reply(503, {"error": "internal_failure", "error_description": "backend unavailable"}),
], ids=["html-200", "expiry-not-a-number", "html-500", "oauth-error-503"])
def test_a_token_endpoint_answer_that_is_not_oauth_is_named_not_blamed_on_the_key(
        no_adc: Path, monkeypatch: pytest.MonkeyPatch, reply: Reply) -> None:
    from airflow_doctor.platforms.composer.findings import adc_failure
    from airflow_doctor.platforms.composer.client import AdcError, AdcProblem, access_token
    from airflow_doctor.secrets import SecretRegistry
    from tests.standins.google import GoogleOAuth, GooglePrincipal

    robot = GooglePrincipal("etl@p.iam.gserviceaccount.com", "1133", service_account=True)
    with GoogleOAuth([robot]) as oauth:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(oauth.service_account_file(no_adc, robot)))
        oauth.route = lambda handler: reply
        with pytest.raises(AdcError) as caught:
            access_token(SecretRegistry(), deadline=5.0)
    assert caught.value.problem is AdcProblem.NOT_OAUTH
    assert f"answered {reply.status}" in caught.value.message and "ya29" not in caught.value.message
    finding = adc_failure(caught.value)
    assert finding.code == "composer-token-endpoint-answer" and "keys create" not in json.dumps(finding.fix.commands)


def test_credentials_variable_naming_a_folder_is_unusable_not_a_crash(no_adc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_doctor.platforms.composer.client import AdcError, AdcProblem, access_token
    from airflow_doctor.secrets import SecretRegistry

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(no_adc))
    with pytest.raises(AdcError) as caught:
        access_token(SecretRegistry())
    assert caught.value.problem is AdcProblem.UNUSABLE and str(no_adc) in caught.value.message


# --- a front that demands the credentials even on the version endpoint --------------------------------------------

def _front(accepts) -> LocalServer:  # type: ignore[no-untyped-def]
    """A front before a real Airflow 2.10.5 (recorded answers) that lets through only what `accepts` admits."""
    from tests.conftest import recorded

    seen: list[str | None] = []

    def route(handler):  # type: ignore[no-untyped-def]
        authorization = handler.headers.get("Authorization")
        seen.append(authorization)
        if not accepts(authorization):
            return Reply(403 if authorization is None or authorization.startswith("Bearer ya29") else 401,
                         {"Content-Type": "text/html"}, b"<html><title>403 Forbidden</title>not allowed</html>")
        name = {"/api/v1/version": "v1_version", "/api/v1/health": "health"}.get(handler.path.split("?")[0], "v2_version")
        answer = recorded("airflow-2.10.5", name)
        return Reply(answer["status"], answer["headers"], answer["body"].encode())

    server = LocalServer(route)
    server.seen = seen  # type: ignore[attr-defined]
    return server


def _reachability(url: str, auth):  # type: ignore[no-untyped-def]
    from airflow_doctor.checks import reachability
    from airflow_doctor.checks.base import CheckContext, Facts
    from airflow_doctor.probe import Probe
    from airflow_doctor.sources.profile import Profile
    from airflow_doctor.runner import run_checks

    probe = Probe(url, connect_timeout=2, read_timeout=5)
    (result,) = run_checks([reachability.Check()], CheckContext(Profile("t", url, auth, connect_timeout=2,
                                                                        read_timeout=5), Facts(base_url=url), probe), probe)
    return result


@pytest.mark.parametrize("scheme, sent", [("none", "key-0123456789abcdef"), ("bearer", "Bearer key-0123456789abcdef")])
def test_the_version_retry_sends_the_token_as_the_profile_says(scheme: str, sent: str) -> None:
    from airflow_doctor.model import Status
    from airflow_doctor.sources.profile import Auth, AuthType

    with _front(lambda authorization: authorization == sent) as front:
        result = _reachability(front.url, Auth(AuthType.TOKEN, token=Secret("key-0123456789abcdef"), scheme=scheme))
    assert result.status is not Status.FAIL and "Airflow 2.10.5" in result.summary, result.summary
    assert sent in front.seen and "only to the profile's credentials" in " ".join(result.details)


@pytest.mark.parametrize("scheme, advice", [("none", "remove 'scheme: none'"), ("bearer", "set 'scheme: none'")])
def test_a_front_refusing_the_token_in_both_tries_advises_the_other_scheme_not_the_type_in_use(
        scheme: str, advice: str) -> None:
    from airflow_doctor.model import Status
    from airflow_doctor.sources.profile import Auth, AuthType

    with _front(lambda authorization: False) as front:
        result = _reachability(front.url, Auth(AuthType.TOKEN, token=Secret("key-0123456789abcdef"), scheme=scheme))
    finding = result
    assert result.status is Status.FAIL and finding.fix is not None and advice in finding.fix.text
    assert "auth type token" not in finding.fix.text and any(s is not None for s in front.seen)
    assert "key-0123456789abcdef" not in json.dumps([finding.summary, finding.explanation, finding.fix.text])


def test_a_composer_front_wanting_the_google_token_everywhere_gets_it(no_adc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_doctor.model import Status
    from airflow_doctor.sources.profile import Auth, AuthType
    from tests.standins.google import GoogleOAuth, GooglePrincipal

    robot = GooglePrincipal("etl@p.iam.gserviceaccount.com", "1133", service_account=True)
    with GoogleOAuth([robot]) as google:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google.service_account_file(no_adc, robot)))
        with _front(lambda authorization: (authorization or "").removeprefix("Bearer ") in google.issued) as front:
            result = _reachability(front.url, Auth(AuthType.GOOGLE))
    assert result.status is not Status.FAIL and "Airflow 2.10.5" in result.summary, result.summary


def test_the_allow_list_is_blamed_only_when_the_google_token_was_refused_too(
        no_adc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_doctor.sources.profile import Auth, AuthType
    from tests.standins.google import GoogleOAuth, GooglePrincipal

    robot = GooglePrincipal("etl@p.iam.gserviceaccount.com", "1133", service_account=True)
    with GoogleOAuth([robot]) as google:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google.service_account_file(no_adc, robot)))
        with _front(lambda authorization: False) as front:
            result = _reachability(front.url, Auth(AuthType.GOOGLE))
    finding = result
    assert finding.code == "composer-ip-blocked" and "carried the Google access token" in finding.explanation
    assert "No credentials were needed" not in finding.explanation
    assert any((s or "").startswith("Bearer ya29") for s in front.seen)


def test_a_composer_front_refusal_without_adc_reports_the_missing_adc(no_adc: Path) -> None:
    from airflow_doctor.sources.profile import Auth, AuthType

    with _front(lambda authorization: False) as front:
        result = _reachability(front.url, Auth(AuthType.GOOGLE))
    assert result.code == "composer-no-adc"


@pytest.mark.parametrize("auth_type, advice", [("aws", "MWAA's own paths"), ("none", "auth type token for a token")])
def test_a_version_refusal_advises_by_the_profiles_auth_type(auth_type: str, advice: str) -> None:
    from airflow_doctor.sources.profile import Auth, AuthType

    with _front(lambda authorization: False) as front:
        result = _reachability(front.url, Auth(AuthType(auth_type)))
    assert result.fix is not None and advice in result.fix.text
    assert set(front.seen) == {None}


@pytest.mark.parametrize("profile, expected", [
    ("auth: {type: google}\ndag_id: x\n", "has no 'url', which auth type google needs"),
    ("auth: {type: token, token: abc-0123456789}\n", "has no 'url'; add the address you open in the browser"),
    ("url: https://x\nauth: {type: token, token: abcdefghijk, scheme: 5}\n",
     "use bearer (the token after the word Bearer in Authorization) or none (the bare key alone"),
])
def test_profile_mistakes_read_as_one_clear_sentence_after_redaction(tmp_path: Path, profile: str, expected: str) -> None:
    path = write_profile(tmp_path, profile, "p.yml")
    result = CliRunner().invoke(app, ["check", "--profile", str(path)])
    assert result.exit_code == 2 and expected in " ".join(result.output.split()), result.output
    assert "unknown key" not in result.output and "***" not in result.output
