"""Cloud Composer through stand-ins, with a real Airflow 2.10.5 and 3.3.2 behind: google-auth (the real library)
gets its access token from a local token endpoint named by the credentials file, and a Composer front maps the
token's principal to an Airflow user and forwards. Every Airflow answer the doctor reads is the real server's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import PASSWORDS, Server
from tests.integration.test_scenarios import result_of, run_check_with_output
from tests.standins.google_fixtures import PERSON, ROBOT, google_oauth, isolate_adc  # noqa: F401 - fixture
from tests.standins.google import ComposerFront, GoogleOAuth

pytestmark = pytest.mark.integration


def passwords(server: Server) -> dict[str, str]:
    return {**PASSWORDS, "admin": server.password("admin")}


def composer_profile(tmp_path: Path, url: str, dag_id: str = "doctor_demo") -> Path:
    path = tmp_path / "composer.yml"
    path.write_text(f"url: {url}\nauth:\n  type: google\ndag_id: {dag_id}\ntimeout: {{connect: 2, read: 30}}\n")
    return path




def statuses(data: dict) -> dict[str, str]:
    return {r["check_id"]: r["status"] for r in data["results"]}


@pytest.fixture
def adc_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_adc(monkeypatch, tmp_path)
    return tmp_path


def test_service_account_adc_passes_every_check_and_the_printed_authorized_session_creates_a_run(
        airflow: Server, google_oauth: GoogleOAuth, adc_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    person = google_oauth.principals[ROBOT.email]
    credentials = google_oauth.service_account_file(adc_home, person)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(credentials))
    with ComposerFront(google_oauth, airflow.url, airflow.major, passwords(airflow), echo_token=True) as front:
        code, data, output = run_check_with_output(composer_profile(adc_home, front.url))
        assert any(name == "X-Request-Credential" for r in data["results"] for e in r["evidence"]
                   for name, _ in e["response_headers"])  # the front did repeat the token: it must be masked
        assert front.users == {person.airflow_user: "Op"}, json.dumps(data["results"], indent=1)[:4000]
        assert code == 0, statuses(data)
        assert statuses(data)["auth-backend"] == "pass" and statuses(data)["permissions"] == "pass"
        auth = result_of(data, "auth-backend")
        assert ROBOT.email in auth["summary"] and "Google access token" in auth["summary"]
        assert any("GOOGLE_APPLICATION_CREDENTIALS" in d for d in auth["details"])
        assert person.refresh_token not in output and not any(t in output for t in google_oauth.issued)
        snippet = next(s["code"] for s in data["working_request"]["snippets"] if s["label"] == "Python (google-auth)")
        assert "AuthorizedSession" in snippet and ("/api/v2/" if airflow.major >= 3 else "/api/v1/") in snippet
        run_id = run_snippet(snippet, credentials)
    try:
        assert run_id in airflow.run_ids("doctor_demo")
    finally:
        airflow.delete_run("doctor_demo", run_id)


def run_snippet(code: str, credentials: Path) -> str:
    """The snippet as printed, with only the credentials file in the environment (no variable of the doctor's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "GOOGLE"))}
    env.update({"GOOGLE_APPLICATION_CREDENTIALS": str(credentials), "NO_PROXY": "127.0.0.1,localhost"})
    ran = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr + code
    return ran.stdout.strip()


def test_no_application_default_credentials_names_the_gcloud_login(airflow2: Server, google_oauth: GoogleOAuth,
                                                                    adc_home: Path) -> None:
    with ComposerFront(google_oauth, airflow2.url, airflow2.major, passwords(airflow2)) as front:
        code, data, _ = run_check_with_output(composer_profile(adc_home, front.url))
    auth = result_of(data, "auth-backend")
    assert code == 1 and auth["status"] == "fail" and auth["code"] == "composer-no-adc", auth
    assert "no Google Application Default Credentials" in auth["summary"]
    assert "gcloud auth application-default login" in auth["fix"]["commands"]
    assert auth["why_ui_works"]
    assert statuses(data)["reachability"] == "pass"  # Airflow's version endpoint answered through the front


def test_a_service_account_with_a_viewer_role_names_the_principal_and_the_composer_users_command(
        airflow3: Server, google_oauth: GoogleOAuth, adc_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    robot = google_oauth.principals[ROBOT.email]
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google_oauth.service_account_file(adc_home, robot)))
    with ComposerFront(google_oauth, airflow3.url, airflow3.major, passwords(airflow3),
                       registration_role="Viewer") as front:
        code, data, _ = run_check_with_output(composer_profile(adc_home, front.url))
    assert code == 1 and statuses(data)["auth-backend"] == "pass", statuses(data)
    denied = result_of(data, "permissions")
    assert denied["status"] == "fail" and denied["code"] == "composer-principal-role", denied
    assert ROBOT.email in denied["summary"] and "(403)" in denied["summary"]
    assert any(f"users add-role -- -u accounts.google.com:{ROBOT.sub} -r Op" in c for c in denied["fix"]["commands"])
    assert "composer_auth_user_registration_role" in denied["explanation"]


def test_the_wrong_principal_is_named_when_the_variable_overrides_the_gcloud_login(
        airflow2: Server, google_oauth: GoogleOAuth, adc_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The person logged in with gcloud (known as Op), but GOOGLE_APPLICATION_CREDENTIALS points at a service account
    key that Composer registered as Viewer: reads pass, the trigger is Airflow's 403, and the report says which
    identity ADC chose and why."""
    person, robot = google_oauth.principals[PERSON.email], google_oauth.principals[ROBOT.email]
    google_oauth.authorized_user_file(adc_home / "gcloud", person, account=True)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google_oauth.service_account_file(adc_home, robot)))
    with ComposerFront(google_oauth, airflow2.url, airflow2.major, passwords(airflow2),
                       known={person.airflow_user: "Op", robot.airflow_user: "Viewer"}) as front:
        code, data, _ = run_check_with_output(composer_profile(adc_home, front.url))
    auth, denied = result_of(data, "auth-backend"), result_of(data, "permissions")
    assert code == 1 and auth["status"] == "pass" and denied["status"] == "fail", statuses(data)
    assert any("service account credentials" in d and "wins over any gcloud login" in d for d in auth["details"])
    assert ROBOT.email in denied["summary"]


def test_a_deleted_key_is_named_and_what_the_token_endpoint_leaked_stays_masked(
        airflow3: Server, google_oauth: GoogleOAuth, adc_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    robot = google_oauth.principals[ROBOT.email]
    key = google_oauth.service_account_file(adc_home, robot)
    robot.revoked, robot.leak = True, json.loads(key.read_text())["private_key_id"]
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    with ComposerFront(google_oauth, airflow3.url, airflow3.major, passwords(airflow3)) as front:
        code, data, output = run_check_with_output(composer_profile(adc_home, front.url))
    auth = result_of(data, "auth-backend")
    assert auth["code"] == "composer-adc-refused" and "invalid_grant" in auth["summary"], auth
    assert ROBOT.email in auth["summary"] and "service-accounts keys create" in auth["fix"]["commands"][0]
    assert robot.leak not in output


def test_an_identity_token_sent_where_an_access_token_is_needed_is_read_from_its_claims(
        airflow: Server, google_oauth: GoogleOAuth, tmp_path: Path) -> None:
    id_token = forged_google_id_token(PERSON.email)
    with ComposerFront(google_oauth, airflow.url, airflow.major, passwords(airflow)) as front:
        code, data, output = run_check_with_output(airflow.profile(tmp_path, auth_type="token", token=id_token, url=front.url))
    auth = result_of(data, "auth-backend")
    assert code == 1 and auth["code"] == "composer-id-token", auth
    assert "Google ID token" in auth["summary"] and "answered 401" in auth["summary"]  # Airflow's own 401
    assert "type: google" in "\n".join(auth["fix"]["commands"])
    assert id_token not in output


def forged_google_id_token(email: str) -> str:
    """The shape of a Google ID token (header.claims.signature), as google.oauth2.id_token fetches for an IAP client."""
    import base64

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"iss": "https://accounts.google.com", "aud": "123-iap.apps.googleusercontent.com", "email": email,
              "sub": PERSON.sub, "exp": 4102444800, "iat": 1700000000}
    return f"{part({'alg': 'RS256', 'kid': 'k1', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_a_caller_outside_the_web_server_access_control_is_told_to_allow_its_ip(
        airflow3: Server, google_oauth: GoogleOAuth, adc_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    robot = google_oauth.principals[ROBOT.email]
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google_oauth.service_account_file(adc_home, robot)))
    with ComposerFront(google_oauth, airflow3.url, airflow3.major, passwords(airflow3),
                       allowed_ranges=("10.0.0.0/8",)) as front:
        code, data, _ = run_check_with_output(composer_profile(adc_home, front.url))
    assert code == 1
    failed = next(r for r in data["results"] if r["status"] == "fail")
    assert failed["check_id"] == "reachability" and failed["code"] == "composer-ip-blocked", failed
    assert "403" in failed["summary"] and "--web-server-allow-ip" in failed["fix"]["commands"][0]


def test_a_principal_composer_never_registered_gets_the_users_create_command(
        airflow3: Server, google_oauth: GoogleOAuth, adc_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Registration turned off ([api] composer_auth_user_registration_role empty): no Airflow user behind the token,
    so Airflow itself answers 401 to a token the doctor just obtained with the right scope."""
    robot = google_oauth.principals[ROBOT.email]
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google_oauth.service_account_file(adc_home, robot)))
    with ComposerFront(google_oauth, airflow3.url, airflow3.major, passwords(airflow3), registration_role="") as front:
        code, data, _ = run_check_with_output(composer_profile(adc_home, front.url))
    auth = result_of(data, "auth-backend")
    assert code == 1 and auth["code"] == "composer-principal-unknown", auth
    assert "answered 401" in auth["summary"] and ROBOT.email in auth["summary"]
    assert f"users create -- -u accounts.google.com:{ROBOT.sub}" in auth["fix"]["commands"][0]
