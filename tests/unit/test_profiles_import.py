"""profiles import airflowctl | astro (issue 19): read-only, the URL from their files, the token as a ${VAR}
reference and never its value. File formats as airflowctl 0.1.5 and astro-cli write them (see the importers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from airflow_doctor.cli import app
from airflow_doctor.sources import astro
from airflow_doctor.sources.profiles_file import resolve

CANARY = "canary-session-token-9f8e7d6c5b4a"

ASTRO_HOME_CONFIG = f"""\
cloud:
    api:
        port: "443"
        protocol: https
        ws_protocol: wss
context: astronomer.io
contexts:
    astronomer_io:
        domain: astronomer.io
        organization: clorg123
        organization_product: HOSTED
        workspace: clws456
        last_used_workspace: clws456
        token: Bearer {CANARY}
        refreshtoken: {CANARY}-refresh
        user_email: ops@example.com
"""

INSPECT = """\
deployment:
    configuration:
        name: Data Pipelines Prod
        description: ""
        runtime_version: 3.0-1
        dag_deploy_enabled: true
        ci_cd_enforcement: false
        scheduler_size: SMALL
        is_high_availability: false
        is_development_mode: false
        executor: CELERY
        scheduler_count: 1
        workspace_name: Data
        deployment_type: STANDARD
        cloud_provider: AWS
        region: us-east-1
    metadata:
        deployment_id: clxyz123
        workspace_id: clws456
        cluster_id: N/A
        release_name: N/A
        airflow_version: 3.0.1
        current_tag: deploy-2025-01-01T00-00
        status: HEALTHY
        created_at: 2025-01-01T00:00:00Z
        updated_at: 2025-01-02T00:00:00Z
        deployment_url: cloud.astronomer.io/clws456/deployments/clxyz123/overview
        webserver_url: myorg.astronomer.run/dabc1234?orgId=clorg123
        airflow_api_url: myorg.astronomer.run/dabc1234/api/v2
"""


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env or {})


@pytest.fixture()
def airflow_home(tmp_path: Path) -> Path:
    home = tmp_path / "airflow"
    home.mkdir()
    (home / "production.json").write_text(json.dumps({"api_url": "http://localhost:8080/"}))
    (home / "staging.json").write_text(json.dumps({"api_url": "https://staging.example"}))
    (home / "debug_creds_production.json").write_text(json.dumps({"api_token_production": CANARY}))
    (home / "airflow.cfg").write_text("[core]\n")
    return home


def test_airflowctl_environment_becomes_a_token_profile_referring_to_airflowctls_variable(tmp_path: Path,
                                                                                          airflow_home: Path) -> None:
    profiles = tmp_path / "profiles.yml"
    result = invoke("profiles", "import", "airflowctl", "--profiles-file", str(profiles),
                    env={"AIRFLOW_HOME": str(airflow_home), "AIRFLOW_CLI_ENVIRONMENT": None})
    assert result.exit_code == 0, result.output
    saved = yaml.safe_load(profiles.read_text())
    assert saved["default_profile"] == "production"
    assert saved["profiles"]["production"]["url"] == "http://localhost:8080"
    assert saved["profiles"]["production"]["auth"] == {"type": "token", "token": "${AIRFLOW_CLI_TOKEN}"}
    assert CANARY not in profiles.read_text() and CANARY not in result.output
    assert "keyring get airflowctl api_token_production" in result.stdout
    assert (airflow_home / "production.json").read_text() == json.dumps({"api_url": "http://localhost:8080/"})
    profile, _ = resolve("production", str(profiles), env={"AIRFLOW_CLI_TOKEN": "t0ken-value-for-the-test"})
    assert profile.auth.type.value == "token" and profile.url == "http://localhost:8080"


def test_airflowctl_environment_from_its_variable_and_under_another_name(tmp_path: Path, airflow_home: Path) -> None:
    profiles = tmp_path / "profiles.yml"
    result = invoke("profiles", "import", "airflowctl", "--name", "stg", "--profiles-file", str(profiles),
                    env={"AIRFLOW_HOME": str(airflow_home), "AIRFLOW_CLI_ENVIRONMENT": "staging"})
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(profiles.read_text())["profiles"]["stg"]["url"] == "https://staging.example"


def test_a_missing_airflowctl_environment_names_the_ones_there_are(tmp_path: Path, airflow_home: Path) -> None:
    result = invoke("profiles", "import", "airflowctl", "--env", "prod", "--profiles-file", str(tmp_path / "p.yml"),
                    env={"AIRFLOW_HOME": str(airflow_home)})
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "no environment 'prod'" in result.stderr and "it has: production, staging" in result.stderr
    assert not (tmp_path / "p.yml").exists()


def test_an_environment_name_cannot_leave_airflow_home(tmp_path: Path, airflow_home: Path) -> None:
    result = invoke("profiles", "import", "airflowctl", "--env", "../etc/x", env={"AIRFLOW_HOME": str(airflow_home)})
    assert result.exit_code == 2 and "not an airflowctl environment name" in result.stderr


@pytest.fixture()
def astro_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    astro_home = tmp_path / "astro-home"
    (astro_home / ".astro").mkdir(parents=True)
    (astro_home / ".astro" / "config.yaml").write_text(ASTRO_HOME_CONFIG)
    project = tmp_path / "project"
    (project / ".astro").mkdir(parents=True)
    (project / ".astro" / "config.yaml").write_text("project:\n    name: pipelines\n    deployment: clxyz123\n")
    (tmp_path / "deployment.yaml").write_text(INSPECT)
    monkeypatch.chdir(project)
    return {"ASTRO_HOME": str(astro_home), "ASTRO_DOMAIN": None}


def test_astro_deployment_from_inspect_output_becomes_a_token_profile(tmp_path: Path, astro_setup: dict) -> None:
    profiles = tmp_path / "profiles.yml"
    result = invoke("profiles", "import", "astro", "--inspect", str(tmp_path / "deployment.yaml"),
                    "--profiles-file", str(profiles), env=astro_setup)
    assert result.exit_code == 0, result.output
    saved = yaml.safe_load(profiles.read_text())["profiles"]["data-pipelines-prod"]
    assert saved["url"] == "https://myorg.astronomer.run/dabc1234"
    assert saved["auth"] == {"type": "token", "token": "${ASTRO_API_TOKEN}"}
    assert "Astro deployment Data Pipelines Prod, Airflow 3.0.1" in saved["description"]
    assert CANARY not in profiles.read_text() and CANARY not in result.output
    assert "astro context: astronomer.io, workspace clws456" in result.stdout


def test_astro_without_inspect_output_says_which_command_gives_the_url(tmp_path: Path, astro_setup: dict) -> None:
    result = invoke("profiles", "import", "astro", "--profiles-file", str(tmp_path / "p.yml"), env=astro_setup)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "astro deployment inspect clxyz123 -o yaml > deployment.yaml" in result.stderr
    assert CANARY not in result.output and not (tmp_path / "p.yml").exists()


def test_astro_inspect_in_json_works_too(tmp_path: Path, astro_setup: dict) -> None:
    data = yaml.safe_load(INSPECT)
    data["deployment"]["metadata"]["created_at"] = "2025-01-01T00:00:00Z"
    data["deployment"]["metadata"]["updated_at"] = "2025-01-02T00:00:00Z"
    (tmp_path / "d.json").write_text(json.dumps(data))
    result = invoke("profiles", "import", "astro", "--inspect", str(tmp_path / "d.json"), "--name", "p",
                    "--profiles-file", str(tmp_path / "p.yml"), env=astro_setup)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("metadata", "url"), [
    ({"airflow_api_url": "org.astronomer.run/d1/api/v1"}, "https://org.astronomer.run/d1"),
    ({"airflow_api_url": "https://org.astronomer.run/d1/"}, "https://org.astronomer.run/d1"),
    ({"webserver_url": "org.astronomer.run/d1?orgId=x"}, "https://org.astronomer.run/d1"),
    ({}, None),
])
def test_the_deployment_url_is_the_api_url_without_api_vn(metadata: dict, url: str | None) -> None:
    assert astro.deployment_url(metadata) == url


@pytest.mark.parametrize(("args", "says"), [
    (["nope"], "no importer for 'nope'"),
    (["airflowctl", "--inspect", "x.yml"], "--inspect is for 'profiles import astro'"),
    (["astro", "--env", "prod"], "--env is for 'profiles import airflowctl'"),
])
def test_bad_import_arguments_are_one_sentence_and_exit_2(args: list, says: str) -> None:
    result = invoke("profiles", "import", *args)
    assert result.exit_code == 2 and says in result.stderr and result.stderr.count("\n") == 1


def test_an_unreadable_astro_home_config_only_loses_the_context_note(tmp_path: Path, astro_setup: dict) -> None:
    (Path(astro_setup["ASTRO_HOME"]) / ".astro" / "config.yaml").write_text("contexts: [unclosed\n")
    result = invoke("profiles", "import", "astro", "--inspect", str(tmp_path / "deployment.yaml"),
                    "--profiles-file", str(tmp_path / "p.yml"), env=astro_setup)
    assert result.exit_code == 0 and "astro context" not in result.stdout
