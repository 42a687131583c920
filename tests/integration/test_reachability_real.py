"""reachability against real Airflow 2.10.5 and 3.x."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.integration.conftest import Server

pytestmark = pytest.mark.integration


def check_json(profile: Path, *extra: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json", *extra])
    return result.exit_code, json.loads(result.stdout)


def fact(data: dict, label: str) -> str:
    """A report header fact, whichever key style the JSON renderer uses ('Airflow' or 'airflow')."""
    return {key.lower(): value for key, value in data["facts"].items()}[label.lower()]


def profile_for(server: Server, tmp_path: Path, url: str) -> Path:
    return server.profile(tmp_path, url=url)


def test_reachability_reports_version_prefix_and_health(airflow: Server) -> None:
    code, data = check_json(airflow.sandbox.profile_path, "--only", "reachability")
    (result,) = data["results"]
    assert code == 0 and result["status"] == "pass", result
    assert data["facts"]["airflow"] == airflow.version
    assert data["facts"]["api"] == ("/api/v2" if airflow.major >= 3 else "/api/v1")
    assert "metadatabase healthy, scheduler healthy" in result["summary"]
    if airflow.major >= 3:
        assert "dag-processor healthy" in result["summary"]
    assert all(e["status"] for e in result["evidence"]) and len(result["evidence"]) <= 3


def test_wrong_sub_path_names_the_url_that_works(airflow: Server, tmp_path: Path) -> None:
    code, data = check_json(profile_for(airflow, tmp_path, airflow.url + "/airflow"), "--only", "reachability")
    (result,) = data["results"]
    assert code == 1 and result["summary"].startswith("wrong path")
    assert result["fix"]["commands"] == [f"url: {airflow.url}"]
    assert data["diagnosis"]["check_id"] == "reachability"


@pytest.mark.parametrize("pasted", ["/api/v1", "/api/v2"])
def test_pasted_api_path_is_corrected_and_the_run_goes_on(airflow: Server, tmp_path: Path, pasted: str) -> None:
    code, data = check_json(profile_for(airflow, tmp_path, airflow.url + pasted), "--only", "reachability")
    (result,) = data["results"]
    assert result["status"] == "warn" and f"already ends with {pasted}" in result["summary"]
    assert data["facts"]["airflow"] == airflow.version and data["target"] == airflow.url


def test_a_base_url_ending_in_a_slash_is_harmless_on_airflow_2_and_reaches_the_ui_on_airflow_3(airflow: Server) -> None:
    """What a script's doubled slash (base URL 'http://host/' + '/api/v…') really gets; checks may only claim this."""
    import requests

    prefix = "/api/v2" if airflow.major >= 3 else "/api/v1"
    version = requests.get(f"{airflow.url}/{prefix}/version", timeout=20)
    trigger = requests.post(f"{airflow.url}/{prefix}/dags/doctor_no_such_dag_9c/dagRuns", json={"conf": {}},
                            headers=airflow.admin_headers(), timeout=20)
    if airflow.major >= 3:
        assert version.status_code == 200 and "text/html" in version.headers["Content-Type"], "the UI, not the API"
        assert trigger.status_code == 405 and trigger.json() == {"detail": "Method Not Allowed"}
    else:
        assert version.json()["version"] == airflow.version
        assert trigger.status_code == 404 and "doctor_no_such_dag_9c" in trigger.json()["detail"], "the handler ran"


@pytest.mark.parametrize("wrong", ["https-to-plain-http", "host-typo"])
def test_a_url_one_slip_away_gets_the_url_that_works(airflow: Server, tmp_path: Path, wrong: str) -> None:
    url = airflow.url.replace("http://", "https://") if wrong == "https-to-plain-http" else \
        airflow.url.replace("127.0.0.1", "localhsot")
    code, data = check_json(profile_for(airflow, tmp_path, url), "--only", "reachability")
    (result,) = data["results"]
    assert code == 1 and result["why_ui_works"], result
    assert "CA bundle" not in result["fix"]["text"] and "tls:" not in "".join(result["fix"]["commands"])
    assert ("did not answer TLS" if wrong == "https-to-plain-http" else "did you mean localhost?") in result["summary"]
    (printed,) = result["fix"]["commands"]
    code, data = check_json(profile_for(airflow, tmp_path, printed.removeprefix("url: ")), "--only", "reachability")
    assert code == 0 and fact(data, "Airflow") == airflow.version, "the printed url works"
