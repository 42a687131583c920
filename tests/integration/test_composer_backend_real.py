"""Cloud Composer with the auth decision inside Airflow itself: a real Airflow 2.10.5 webserver (on the test server's
database and DAGs) whose [api] auth_backends is the Composer stand-in backend, so the Airflow user
accounts.google.com:<id>, its registration with [api] composer_auth_user_registration_role and every 403 are
Airflow's own. google-auth gets the token from the local token endpoint of the service-account key file."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Iterator

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.conftest import Server, settled
from tests.standins.google import GoogleOAuth, GooglePrincipal
from tests.standins.google_fixtures import composer_webserver, isolate_adc
from tests.integration.test_scenarios import result_of

pytestmark = pytest.mark.integration


def fresh_robot() -> GooglePrincipal:
    """A service account no other test (or earlier run) has registered."""
    sub = "1" + "".join(secrets.choice("0123456789") for _ in range(20))
    return GooglePrincipal(f"trigger-{sub[-6:]}@doctor-test.iam.gserviceaccount.com", sub, service_account=True)


@pytest.fixture(scope="module")
def composer2(airflow_servers: dict[str, Server], tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[Server, GoogleOAuth, str]]:
    server = settled(airflow_servers["2.10.5"])
    with GoogleOAuth([]) as oauth, composer_webserver(server.sandbox, f"{oauth.url}/tokeninfo",
                                                      tmp_path_factory.mktemp("composer")) as url:
        yield server, oauth, url


@pytest.fixture
def robot(composer2: tuple[Server, GoogleOAuth, str], tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[GooglePrincipal]:
    server, oauth, _ = composer2
    principal = fresh_robot()
    oauth.principals[principal.email] = principal
    isolate_adc(monkeypatch, tmp_path)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(oauth.service_account_file(tmp_path, principal)))
    yield principal
    server.api("DELETE", f"/users/{principal.airflow_user}")


def run_check(tmp_path: Path, url: str) -> dict:
    profile = tmp_path / "composer.yml"
    profile.write_text(f"url: {url}\nauth:\n  type: google\ndag_id: doctor_demo\ntimeout: {{connect: 2, read: 60}}\n")
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)



def test_a_new_principal_is_registered_by_airflow_with_the_op_role_and_may_trigger(
        composer2: tuple[Server, GoogleOAuth, str], robot: GooglePrincipal, tmp_path: Path) -> None:
    server, _, url = composer2
    data = run_check(tmp_path, url)
    assert data["exit_code"] == 0, [(r["check_id"], r["status"], r["summary"]) for r in data["results"]]
    assert robot.email in result_of(data, "auth-backend")["summary"]
    user = server.api("GET", f"/users/{robot.airflow_user}").json()
    assert [r["name"] for r in user["roles"]] == ["Op"]


def test_a_principal_airflow_knows_as_viewer_gets_airflows_own_403_and_the_add_role_command(
        composer2: tuple[Server, GoogleOAuth, str], robot: GooglePrincipal, tmp_path: Path) -> None:
    server, _, url = composer2
    created = server.api("POST", "/users", json={
        "username": robot.airflow_user, "email": robot.email, "first_name": "trigger", "last_name": "-",
        "roles": [{"name": "Viewer"}], "password": secrets.token_urlsafe(16)})
    assert created.status_code == 200, created.text
    data = run_check(tmp_path, url)
    denied = result_of(data, "permissions")
    assert denied["code"] == "composer-principal-role" and "(403)" in denied["summary"], denied
    forbidden = [e for e in denied["evidence"] if e["status"] == 403]
    assert forbidden and "PermissionDenied" in forbidden[0]["response_body"]  # Airflow's problem+json
    assert any(f"users add-role -- -u {robot.airflow_user} -r Op" in c for c in denied["fix"]["commands"])
