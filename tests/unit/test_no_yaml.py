"""A diagnosis of your own server without writing YAML: check --url, check --from-curl, profiles add/show/example.

The server answers are recorded from real Airflow (tests/recorded); tests/integration/test_no_yaml_real.py runs
the same commands against the real servers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
import yaml
from typer.testing import CliRunner

from airflow_doctor.sources import curl
from airflow_doctor.sources.url import OptionsError, ServerArgs, profile_from_options
from airflow_doctor.cli import app
from airflow_doctor.errors import ProfileError
from airflow_doctor.sources.profile import AuthType
from airflow_doctor.sources.profiles_file import resolve
from airflow_doctor.secrets import SecretRegistry
from tests.conftest import replay, write_profile

BASE = "http://airflow.test"
V2, V3 = "airflow-2.10.5", "airflow-3.3.2"
CANARY = "canary-Pw-9f3k2"


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env or {})


def never_asked(prompt: str) -> None:
    return None


# --- check --url -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("label, versions, expected", [
    (V3, ("v2_version",), AuthType.JWT),
    (V2, ("v2_version", "v1_version"), AuthType.BASIC),
])
@responses.activate
def test_the_auth_type_is_what_the_server_announces(label: str, versions: tuple[str, ...], expected: AuthType) -> None:
    for name in versions:
        replay(responses, BASE, label, name)
    replay(responses, BASE, label, "health")
    profile = profile_from_options(ServerArgs(BASE, user="admin", password_env="PW"), never_asked,
                                   env={"PW": CANARY}, registry=SecretRegistry())
    assert profile.auth.type is expected and profile.auth.password.reveal() == CANARY
    assert profile.sources["auth.type"].startswith("detected: Airflow")


def test_a_missing_password_is_asked_for_and_never_kept_in_the_profile_sources() -> None:
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return CANARY

    profile = profile_from_options(ServerArgs(BASE, user="admin", auth="basic"), ask, env={},
                                   registry=SecretRegistry())
    assert asked == ["Password of admin (hidden, not stored): "]
    assert profile.auth.password.reveal() == CANARY
    assert CANARY not in json.dumps(profile.sources) and "asked on the terminal" in profile.sources["auth.password"]


def test_no_terminal_and_no_password_source_names_the_options_to_use() -> None:
    with pytest.raises(OptionsError, match="--password-env VAR"):
        profile_from_options(ServerArgs(BASE, user="admin", auth="jwt"), never_asked, env={})


@pytest.mark.parametrize("auth", ["google"])
def test_platform_sign_in_says_it_is_not_supported_yet(auth: str) -> None:
    result = invoke("check", "--url", BASE, "--auth", auth)
    assert result.exit_code == 2 and f"--auth {auth} is not supported yet" in result.output
    assert result.output.count("\n") == 1


@pytest.mark.parametrize("args, says", [
    (["--url", "airflow.example.com"], "has no scheme; write it as https://airflow.example.com"),
    (["--url", BASE, "--password-env", "PW"], "a password needs a user name"),
    (["--url", BASE, "--user", "a", "--password-env", "hunter2-secret"], "takes the NAME of an environment variable"),
    (["--user", "admin"], "add --url"),
    (["--url", BASE, "--profile", "prod"], "drop --profile"),
])
def test_options_that_do_not_describe_one_server_are_one_sentence(args: list[str], says: str) -> None:
    result = invoke("check", *args)
    assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output


@responses.activate
def test_an_unset_password_variable_still_runs_reachability_and_names_the_variable() -> None:
    replay(responses, BASE, V3, "v2_version")
    replay(responses, BASE, V3, "health")
    result = invoke("check", "--url", BASE, "--user", "admin", "--password-env", "NOT_SET_PW", "--format", "json")
    data = json.loads(result.stdout)
    assert [r["check_id"] for r in data["results"]] == ["reachability"]
    assert data["results"][0]["status"] == "pass"
    assert result.exit_code == 2 and "export NOT_SET_PW" in result.stderr


# --- profiles that help ---------------------------------------------------------------------------------------

@responses.activate
def test_check_with_a_profile_whose_secret_is_unset_runs_reachability_and_says_which_variable(tmp_path: Path) -> None:
    replay(responses, BASE, V3, "v2_version")
    replay(responses, BASE, V3, "health")
    path = write_profile(tmp_path, f"url: {BASE}\nauth: {{type: jwt, username: admin, password: '${{PROD_PW}}'}}\n",
                         name="prod.yml")
    result = invoke("check", "--profile", str(path))
    assert result.exit_code == 2 and "reachability" in result.stdout and "auth-backend" not in result.stdout
    assert "auth.password (${PROD_PW}) is not set; run: export PROD_PW" in result.stderr


def test_profiles_show_without_a_name_shows_the_default_profile_and_an_unset_variable_as_unset(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "default_profile: prod\nprofiles:\n  dev: {url: http://dev}\n  prod:\n"
                                   "    url: http://prod\n    auth: {type: basic, username: ops, password: '${PROD_PW}'}\n")
    result = invoke("profiles", "show", "--profiles-file", str(path))
    assert result.exit_code == 0, result.output
    assert "profile prod" in result.output and "(unset: export PROD_PW)" in result.output


def test_a_missing_profile_file_says_that_file_does_not_exist(tmp_path: Path) -> None:
    result = invoke("check", "--profile", str(tmp_path / "prod.yml"))
    assert result.exit_code == 2
    assert f"The file {tmp_path / 'prod.yml'} given to --profile does not exist" in result.output
    assert "--profiles-file" not in result.output


@pytest.mark.parametrize("kind, says", [("basic", "type: basic"), ("jwt", "type: jwt"), ("token", "type: token"),
                                        ("aws", "type: aws")])
def test_profiles_example_prints_a_sample_that_loads(kind: str, says: str, tmp_path: Path) -> None:
    result = invoke("profiles", "example", kind)
    assert result.exit_code == 0 and says in result.stdout
    sample = write_profile(tmp_path, result.stdout, name="sample.yml")
    (tmp_path / "pw").write_text("pw")
    text = sample.read_text().replace("~/.secrets/airflow3-admin-password", str(tmp_path / "pw"))
    sample.write_text(text)
    profile, _ = resolve(str(sample), None, env={"AIRFLOW_PASSWORD": "pw", "ASTRO_API_TOKEN": "tok"})
    assert profile.auth.type.value == kind


@pytest.mark.parametrize("kind", ["google"])
def test_profiles_example_for_platform_sign_in_says_it_is_not_built_yet(kind: str) -> None:
    result = invoke("profiles", "example", kind)
    assert result.exit_code == 2 and "is not supported yet" in result.output


# --- --from-curl ------------------------------------------------------------------------------------------------

AF2_TRIGGER = "http://af.test:8080/api/v1/dags/etl/dagRuns"
CA_FILE = str(Path(__import__("certifi").where()).resolve())


@pytest.mark.parametrize("command, expected", [
    (f"curl -X POST {AF2_TRIGGER} -H 'Content-Type: application/json' -d '{{\"conf\": {{}}}}'",
     {"method": "POST", "content_type": "application/json", "payload": {"conf": {}}}),
    (f"curl -sSL -XPOST {AF2_TRIGGER} --json '{{\"conf\": {{\"a\": 1}}}}'",
     {"method": "POST", "content_type": "application/json", "payload": {"conf": {"a": 1}}}),
    (f"curl {AF2_TRIGGER} -d 'conf=x'", {"method": "POST", "content_type": "application/x-www-form-urlencoded",
                                        "payload": None}),
    (f"curl {AF2_TRIGGER}", {"method": "GET", "content_type": None, "payload": None}),
    (f"curl --request=post --url {AF2_TRIGGER}/ --data-raw '{{}}'", {"method": "POST", "path": "/api/v1/dags/etl/dagRuns/"}),
    (f"curl -k -X POST {AF2_TRIGGER}", {"verify": False}),
    (f"curl --cacert {CA_FILE} {AF2_TRIGGER}", {"verify": CA_FILE}),  # a bundle that exists: a missing one is refused
    ("curl -X POST 'https://host.example/airflow/api/v2/dags/etl/dagRuns' -d '{}'",
     {"url": "https://host.example/airflow", "dag_id": "etl", "path": "/airflow/api/v2/dags/etl/dagRuns"}),
    ("curl -X POST http://af.test/dags/etl/trigger", {"url": "http://af.test", "dag_id": "etl"}),
    ("curl -X POST \\\n  http://af.test/api/v1/dags/etl/dagRuns \\\n  -m 7 --connect-timeout 2",
     {"read_timeout": 7.0, "connect_timeout": 2.0}),
])
def test_a_curl_command_is_read_the_way_curl_reads_it(command: str, expected: dict) -> None:
    profile = curl.to_profile(curl.parse(command, env={}), registry=SecretRegistry()).profile
    seen = {"method": profile.request.method, "content_type": profile.request.content_type, "payload": profile.payload,
            "path": profile.request.path, "verify": profile.verify, "url": profile.url, "dag_id": profile.dag_id,
            "read_timeout": profile.read_timeout, "connect_timeout": profile.connect_timeout}
    assert {key: seen[key] for key in expected} == expected


def test_a_body_file_is_read_like_curl_reads_it(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"conf":\n {"batch_size": 2}}\n')
    profile = curl.to_profile(curl.parse(f"curl -X POST {AF2_TRIGGER} -H 'Content-Type: application/json' "
                                         f"-d @{body}", env={}), registry=SecretRegistry()).profile
    assert profile.payload == {"conf": {"batch_size": 2}}


@pytest.mark.parametrize("credentials, auth_type", [
    (f"-u admin:{CANARY}", AuthType.BASIC),
    (f"-H 'Authorization: Basic {__import__('base64').b64encode(f'admin:{CANARY}'.encode()).decode()}'", AuthType.BASIC),
    (f"-H 'Authorization: Bearer {CANARY}'", AuthType.TOKEN),
])
def test_a_secret_in_the_command_is_registered_and_shown_as_a_variable(credentials: str, auth_type: AuthType) -> None:
    registry = SecretRegistry()
    imported = curl.to_profile(curl.parse(f"curl {credentials} -X POST {AF2_TRIGGER} -d '{{}}'", env={}),
                               registry=registry)
    assert imported.profile.auth.type is auth_type
    assert registry.leaks(CANARY) and CANARY not in imported.shown_command
    assert "$AIRFLOW_" in imported.shown_command
    assert "held a secret" in imported.secret_warning()


def test_a_secret_the_command_read_from_the_environment_is_no_warning() -> None:
    imported = curl.to_profile(curl.parse(f"curl -u \"admin:$MY_PW\" -X POST {AF2_TRIGGER}", env={"MY_PW": CANARY}),
                               registry=SecretRegistry())
    assert imported.profile.auth.password.reveal() == CANARY and imported.secret_warning() is None


@pytest.mark.parametrize("command, says", [
    ("curl -X POST", "found no URL"),
    ("curl -u 'admin:x", "could not split the command"),
    (f"curl {AF2_TRIGGER} http://other/x", "names two URLs"),
    (f"curl -d @/nonexistent/body.json {AF2_TRIGGER}", "cannot be read"),
    ("curl ftp://files.example/x", "is not an http(s) URL"),
    (f"curl -H", "needs a value"),
])
def test_a_command_curl_would_not_run_is_one_sentence(command: str, says: str) -> None:
    with pytest.raises(ProfileError, match=None) as caught:
        curl.to_profile(curl.parse(command, env={}), registry=SecretRegistry())
    assert says in str(caught.value) and "\n" not in str(caught.value)


@responses.activate
def test_check_from_curl_never_prints_the_secret_and_warns_once_on_stderr() -> None:
    replay(responses, BASE, V3, "v2_version")
    replay(responses, BASE, V3, "health")
    command = f"curl -u admin:{CANARY} -X POST {BASE}/api/v2/dags/doctor_demo/dagRuns --json '{{\"conf\": {{}}}}'"
    result = invoke("check", "--from-curl", command, "--only", "reachability", "--format", "json")
    assert CANARY not in result.stdout + result.stderr
    assert result.exit_code == 0, result.output
    assert "checking the request of: curl -u admin:$AIRFLOW_PASSWORD" in result.stderr
    assert result.stderr.count("warning: the curl command held a secret") == 1
    data = json.loads(result.stdout)
    assert any("held a secret" in w for w in data["warnings"])


def test_profiles_add_saves_references_never_the_secret(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.yml"
    command = (f"curl -u admin:{CANARY} -X POST {AF2_TRIGGER}/ -H 'Content-Type: application/json' "
               f"-d '{{\"conf\": {{\"x\": 1}}}}'")
    result = invoke("profiles", "add", "etl", "--from-curl", command, "--profiles-file", str(profiles))
    assert result.exit_code == 0, result.output
    text = profiles.read_text()
    assert CANARY not in text and CANARY not in result.output
    saved = yaml.safe_load(text)["profiles"]["etl"]
    assert saved["auth"] == {"type": "basic", "username": "admin", "password": "${AIRFLOW_PASSWORD}",
                             "encoding": "utf-8"}
    assert saved["request"] == {"path": "/api/v1/dags/etl/dagRuns/", "method": "POST", "content_type": "application/json"}
    profile, _ = resolve("etl", str(profiles), env={"AIRFLOW_PASSWORD": CANARY})
    assert profile.payload == {"conf": {"x": 1}} and profile.dag_id == "etl" and profile.url == "http://af.test:8080"


def test_profiles_add_keeps_the_other_profiles_and_a_backup_of_the_comments(tmp_path: Path) -> None:
    profiles = write_profile(tmp_path, "# mine\nversion: 1\nprofiles:\n  old: {url: http://old}\n", name="profiles.yml")
    result = invoke("profiles", "add", "new", "--from-curl", f"curl {AF2_TRIGGER}", "--profiles-file", str(profiles))
    assert result.exit_code == 0, result.output
    assert set(yaml.safe_load(profiles.read_text())["profiles"]) == {"old", "new"}
    assert (tmp_path / "profiles.yml.bak").read_text().startswith("# mine")
