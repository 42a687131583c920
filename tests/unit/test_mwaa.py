"""AWS MWAA without a running Airflow: the profile, the optional extra, and the transport against the MWAA stand-in
(SigV4 verified by botocore's own signer) with Airflow 2.10.5's recorded answers behind it on a local socket."""

from __future__ import annotations

import json
import subprocess
import threading
import sys
import tomllib
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Iterator

import pytest
from typer.testing import CliRunner

from airflow_doctor.checks.readers.auth_common import Code as AuthCode
from airflow_doctor.checks.reachability import platform_of
from airflow_doctor.cli import app
from airflow_doctor.platforms.mwaa.findings import Code as MwaaCode
from airflow_doctor.errors import ProfileError
from airflow_doctor.sources.profile import AwsVia
from airflow_doctor.sources.profiles_file import load_profile, read_profiles_file
from tests.conftest import recorded, write_profile
from tests.servers import LocalServer, Reply
from tests.standins.mwaa_fixtures import ACCESS_KEY, ARN, ENVIRONMENT, REGION, SECRET_CANARY, SECRET_KEY, aws_environment, policy
from tests.standins.mwaa import AirflowUser, MwaaEnvironment, MwaaStandIn, Principal

AIRFLOW_2 = "airflow-2.10.5"
ANSWERS = ("v1_version", "health", "dags_basic_admin", "details_demo", "details_missing", "probe_admin",
           "queue_demo_runs", "queue_demo_tasks", "queue_default_pool")
"""Paused's reads answered too: a read the server refuses is said next to its verdict, never passed over."""
ROOT = Path(__file__).resolve().parents[2]


class RecordedAirflow(LocalServer):
    """Airflow 2.10.5's recorded answers on a real 127.0.0.1 socket (what the stand-in forwards to). A path in
    `held` is answered only once `release` is set: a web server too busy to answer."""

    def __init__(self, names: tuple[str, ...] = ANSWERS, held: str | None = None) -> None:
        self.held, self.release = held, threading.Event()
        self.answers = {}
        for name in names:
            answer = recorded(AIRFLOW_2, name)
            self.answers[(answer["method"], answer["path"].split("?")[0])] = answer
        super().__init__(self._answer)

    def _answer(self, handler: BaseHTTPRequestHandler) -> Reply | None:
        if handler.path.split("?")[0] == self.held:
            self.release.wait(60)
            return None  # the caller gave up long ago: close without an answer
        answer = self.answers.get((handler.command, handler.path.split("?")[0]))
        if answer is None:
            answer = recorded(AIRFLOW_2, "details_missing")
        return Reply(answer["status"], answer["headers"], answer["body"].encode("utf-8"))


@pytest.fixture
def airflow() -> Iterator[RecordedAirflow]:
    with RecordedAirflow() as server:
        yield server


def stand_in(airflow: RecordedAirflow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, roles=("User",),
             secret: str = SECRET_KEY, canary: str | None = None, **fields: Any) -> MwaaStandIn:
    users = {role: AirflowUser(role.lower(), "pw") for role in ("Admin", "Op", "User", "Viewer")}
    environment = MwaaEnvironment(ENVIRONMENT, airflow.url, fields.pop("airflow_version", "2.10.5"), users,
                                  region=REGION, webserver_host=fields.pop("webserver_host", "airflow.example.invalid"),
                                  **fields)
    service = MwaaStandIn(environment, [Principal(ARN, ACCESS_KEY, SECRET_KEY, policy(*roles))], canary=canary)
    aws_environment(monkeypatch, service.url, tmp_path)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    return service


def mwaa_profile(tmp_path: Path, extra: str = "", dag_id: str = "doctor_demo") -> Path:
    return write_profile(tmp_path, f"auth:\n  type: aws\n  environment: {ENVIRONMENT}\n  region: {REGION}\n{extra}"
                                   f"dag_id: {dag_id}\n", "mwaa.yml")


def check(profile: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def result_of(data: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(r for r in data["results"] if r["check_id"] == check_id)


# --- the profile -----------------------------------------------------------------------------------

def test_aws_profile_needs_no_url_and_defaults_to_invoke_rest_api(tmp_path: Path) -> None:
    path = mwaa_profile(tmp_path, "  aws_profile: prod\n")
    profile = load_profile(read_profiles_file(path, "--profile"), "mwaa")
    assert profile.url == ""
    assert profile.auth.aws is not None
    assert (profile.auth.aws.environment, profile.auth.aws.region, profile.auth.aws.aws_profile,
            profile.auth.aws.via) == (ENVIRONMENT, REGION, "prod", AwsVia.INVOKE_REST_API)


@pytest.mark.parametrize("auth, sentence", [
    ("{type: aws}", "auth type 'aws' needs 'environment'"),
    ("{type: aws, environment: e, via: console}", "auth via 'console' is not known; use invoke-rest-api"),
    ("{type: basic, username: a, password: b, environment: e}", "'environment' belongs to auth type 'aws'"),
    ("{type: aws, environment: e, token: t}", "auth type 'aws' does not use 'token'"),
])
def test_bad_aws_profile_is_one_sentence_and_exit_code_2(tmp_path: Path, auth: str, sentence: str) -> None:
    path = write_profile(tmp_path, f"profiles:\n  m:\n    url: https://x.example\n    auth: {auth}\n")
    with pytest.raises(ProfileError, match=sentence.replace("'", ".")):
        load_profile(read_profiles_file(path), "m")
    result = CliRunner().invoke(app, ["check", "--profile", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output


# --- the optional extra ----------------------------------------------------------------------------

def test_missing_boto3_is_one_sentence_naming_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    result = CliRunner().invoke(app, ["check", "--profile", str(mwaa_profile(tmp_path))])
    assert result.exit_code == 2
    assert "pip install 'airflow-doctor[aws]'" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("extra, unset, sentence", [
    ("  aws_profile: nowhere\n", (), "the AWS profile 'nowhere' (auth.aws_profile) is not in ~/.aws/config"),
    ("", ("AWS_REGION", "AWS_DEFAULT_REGION"), "no AWS region for the MWAA environment; set auth.region"),
])
def test_aws_setup_problems_are_one_sentence_before_any_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              extra: str, unset: tuple[str, ...], sentence: str) -> None:
    aws_environment(monkeypatch, "http://127.0.0.1:9", tmp_path)
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    text = mwaa_profile(tmp_path, extra).read_text()
    profile = write_profile(tmp_path, text if not unset else text.replace(f"  region: {REGION}\n", ""), "setup.yml")
    result = CliRunner().invoke(app, ["check", "--profile", str(profile)])
    assert result.exit_code == 2 and sentence in result.output and "Traceback" not in result.output


def test_the_core_install_depends_on_no_cloud_client() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    assert "boto" not in core and "google" not in core
    assert any(d.startswith("boto3") for d in project["optional-dependencies"]["aws"])


def test_version_and_a_self_hosted_check_never_import_boto3(tmp_path: Path) -> None:
    profile = write_profile(tmp_path, "url: http://127.0.0.1:9\nauth: {type: none}\ntimeout: {connect: 1, read: 1}\n")
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom airflow_doctor.cli import app\n"
            f"CliRunner().invoke(app, ['--version'])\nCliRunner().invoke(app, ['check', '--profile', {str(profile)!r}])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- the transport through the stand-in ------------------------------------------------------------

def test_every_check_reads_airflows_own_answers_through_invoke_rest_api(airflow, monkeypatch, tmp_path) -> None:
    with stand_in(airflow, monkeypatch, tmp_path) as service:
        code, data = check(mwaa_profile(tmp_path))
    assert code == 0, [(r["check_id"], r["status"], r["summary"]) for r in data["results"]]
    assert data["target"] == "https://airflow.example.invalid"
    assert [c["Path"] for c in service.invocations][:3] == ["/version", "/health", "/dags"]
    evidence = result_of(data, "dag-exists")["evidence"][0]
    assert evidence["status"] == 200 and json.loads(evidence["response_body"])["dag_id"] == "doctor_demo"


def test_airflows_error_inside_rest_api_client_exception_is_unwrapped(airflow, monkeypatch, tmp_path) -> None:
    with stand_in(airflow, monkeypatch, tmp_path):
        code, data = check(mwaa_profile(tmp_path, dag_id="doctor_nowhere"))
    found = result_of(data, "dag-exists")
    assert code == 1 and found["status"] == "fail"
    assert found["evidence"][0]["status"] == 404
    assert json.loads(found["evidence"][0]["response_body"]) == json.loads(recorded(AIRFLOW_2, "details_missing")["body"])


def test_access_denied_keeps_aws_status_and_names_the_missing_statement(airflow, monkeypatch, tmp_path) -> None:
    with stand_in(airflow, monkeypatch, tmp_path, roles=()):
        code, data = check(mwaa_profile(tmp_path))
    headline = data["diagnosis"]
    assert code == 1 and headline["check_id"] == "reachability"
    assert "AccessDeniedException" in headline["summary"]
    statement = json.loads(headline["fix"]["commands"][0])
    assert statement == {"Effect": "Allow", "Action": "airflow:InvokeRestApi",
                         "Resource": f"arn:aws:airflow:{REGION}:111122223333:role/{ENVIRONMENT}/User"}
    evidence = result_of(data, "reachability")["evidence"][0]
    assert evidence["status"] == 403
    assert ["x-amzn-ErrorType", "AccessDeniedException"] in evidence["response_headers"]


def test_a_wrong_secret_key_is_refused_by_the_signature_check(airflow, monkeypatch, tmp_path) -> None:
    with stand_in(airflow, monkeypatch, tmp_path, secret="not-" + SECRET_KEY) as service:
        code, data = check(mwaa_profile(tmp_path))
    assert code == 1 and data["diagnosis"]["check_id"] == "reachability"
    assert "InvalidSignatureException" in data["diagnosis"]["summary"]
    assert service.invocations == []


def test_an_expired_signature_is_refused_as_aws_does(airflow, monkeypatch, tmp_path) -> None:
    import botocore.auth

    twenty_minutes_ago = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: twenty_minutes_ago)
    with stand_in(airflow, monkeypatch, tmp_path):
        _, data = check(mwaa_profile(tmp_path))
    assert "Signature expired" in data["diagnosis"]["summary"]


def test_a_dag_id_too_long_for_the_path_limit_gets_the_web_login_request(airflow, monkeypatch, tmp_path) -> None:
    long_id = "orders_" + "x" * 50
    with stand_in(airflow, monkeypatch, tmp_path) as service:
        code, data = check(mwaa_profile(tmp_path, dag_id=long_id))
    assert code == 1 and data["diagnosis"]["check_id"] == "dag-exists"
    assert "the limit is 64" in data["diagnosis"]["summary"]
    assert all(len(c["Path"]) <= 64 for c in service.invocations)
    [snippet] = data["working_request"]["snippets"]
    assert "create_web_login_token" in snippet["code"] and "/aws_mwaa/login" in snippet["code"]


def test_a_policy_without_get_environment_still_checks_through_invoke_rest_api(airflow, monkeypatch, tmp_path) -> None:
    with stand_in(airflow, monkeypatch, tmp_path) as service:
        service.principals[ACCESS_KEY].policy = policy("User", read_environment=False)
        code, data = check(mwaa_profile(tmp_path))
    reachability = result_of(data, "reachability")
    assert reachability["status"] == "warn" and "GetEnvironment was denied" in reachability["summary"]
    assert {r["status"] for r in data["results"][1:]} <= {"pass", "skip"}
    assert "airflow:GetEnvironment" in reachability["fix"]["commands"][0]


@pytest.mark.parametrize("fields, words", [
    ({"status": "CREATE_FAILED"}, "is CREATE_FAILED, not AVAILABLE"),
    ({"airflow_version": "2.2.2"}, "has no InvokeRestApi (2.4.3 or later)"),
])
def test_environment_facts_stop_the_check_before_any_airflow_call(airflow, monkeypatch, tmp_path, fields, words) -> None:
    with stand_in(airflow, monkeypatch, tmp_path, **fields) as service:
        _, data = check(mwaa_profile(tmp_path))
    assert words in data["diagnosis"]["summary"]
    assert service.invocations == []


def test_the_secret_key_echoed_in_an_aws_error_is_masked(airflow, monkeypatch, tmp_path) -> None:
    with stand_in(airflow, monkeypatch, tmp_path, roles=(), canary=SECRET_KEY):
        result = CliRunner().invoke(app, ["check", "--profile", str(mwaa_profile(tmp_path)), "--format", "json", "-vv"])
    assert "AccessDeniedException" in result.output
    assert SECRET_CANARY not in result.output


def test_airflow_slower_than_invoke_rest_apis_limit_is_named(monkeypatch, tmp_path) -> None:
    """AWS's 10 s limit, shrunk to 1 s in the stand-in and the doctor alike: the reasoning is tested, not the wait."""
    monkeypatch.setattr("airflow_doctor.platforms.mwaa.client.SERVICE_TIMEOUT_S", 1)
    with RecordedAirflow(held="/api/v1/dags") as slow:
        try:
            with stand_in(slow, monkeypatch, tmp_path, service_timeout=1.0):
                code, data = check(mwaa_profile(tmp_path))
        finally:
            slow.release.set()
    assert code == 1 and data["diagnosis"]["check_id"] == "auth-backend"
    assert "did not answer within MWAA's 1 s limit" in data["diagnosis"]["summary"]


@pytest.mark.parametrize("host", ["abc123-4f5e.c2.us-east-1.airflow.amazonaws.com",
                                  "0a1b2c3d-4e5f-6789.c7.eu-west-1.airflow.on.aws"])
def test_mwaa_web_server_names_are_recognised(host: str) -> None:
    assert platform_of(f"https://{host}").value == "AWS MWAA"


# --- a broken AWS setup: one sentence (exit 2) or a finding about the credentials (exit 1), never a crash ---------

SSO_PROFILE = ("[profile p]\nsso_session = s\nsso_account_id = 111122223333\nsso_role_name = r\nregion = us-east-1\n"
               "[sso-session s]\nsso_region = us-east-1\nsso_start_url = https://doctor.awsapps.com/start\n")


def broken_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config: str, variables: dict[str, str]) -> None:
    """A shell with only the given AWS variables and ~/.aws/config; nothing reachable at the endpoint."""
    aws_environment(monkeypatch, "http://127.0.0.1:9", tmp_path)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_MWAA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "aws-config").write_text(config)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


KEYS = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}


@pytest.mark.parametrize("config, variables, sentence", [
    ("[default\nregion = us-east-1\n", KEYS, "cannot be parsed"),
    ("", {**KEYS, "AWS_ENDPOINT_URL_MWAA": "not a url"}, "$AWS_ENDPOINT_URL_MWAA ('not a url') is not a usable endpoint"),
    ("", {"AWS_PROFILE": "nowhere"}, "the AWS profile 'nowhere' ($AWS_PROFILE) is not in ~/.aws/config"),
])
def test_a_broken_aws_configuration_is_one_sentence_and_exit_code_2(monkeypatch, tmp_path, config, variables,
                                                                     sentence) -> None:
    broken_aws(monkeypatch, tmp_path, config, variables)
    result = CliRunner().invoke(app, ["check", "--profile", str(mwaa_profile(tmp_path))])
    assert result.exit_code == 2, result.output
    assert sentence in " ".join(result.output.split()) and "internal error" not in result.output


@pytest.mark.parametrize("config, variables, headline, command", [
    ("[profile p]\ncredential_process = /bin/false\nregion = us-east-1\n", {"AWS_PROFILE": "p"},
     "credential source (credential_process or a role to assume) failed", "aws sts get-caller-identity --profile p"),
    ("[profile p]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = missing\n", {"AWS_PROFILE": "p"},
     "the AWS profile 'p' is configured inconsistently", "aws configure list --profile p"),
    (SSO_PROFILE, {"AWS_PROFILE": "p"}, "the AWS SSO session of profile 'p' is not logged in",
     "aws sso login --profile p"),
    ("", {"AWS_ACCESS_KEY_ID": ACCESS_KEY}, "the AWS credentials of this shell are incomplete",
     "export AWS_SECRET_ACCESS_KEY=<the secret key of that access key>"),
])
def test_credentials_boto3_cannot_resolve_are_the_diagnosis(monkeypatch, tmp_path, config, variables, headline,
                                                            command) -> None:
    broken_aws(monkeypatch, tmp_path, config, variables)
    code, data = check(mwaa_profile(tmp_path))
    assert code == 1 and data["diagnosis"]["check_id"] == "reachability"
    assert headline in data["diagnosis"]["summary"]
    assert command in data["diagnosis"]["fix"]["commands"]


@pytest.mark.parametrize("region", ["'us east 1'", "12"])
def test_a_region_that_is_no_region_name_is_refused_when_the_profile_is_read(tmp_path, region) -> None:
    path = write_profile(tmp_path, f"auth: {{type: aws, environment: e, region: {region}}}\ndag_id: d\n")
    result = CliRunner().invoke(app, ["check", "--profile", str(path)])
    assert result.exit_code == 2 and "is not an AWS region name" in result.output, result.output


def test_one_broken_aws_setup_is_that_profiles_error_in_check_all(monkeypatch, tmp_path) -> None:
    broken_aws(monkeypatch, tmp_path, "[default\n", KEYS)
    profiles = write_profile(tmp_path, f"profiles:\n  mwaa:\n    auth: {{type: aws, environment: {ENVIRONMENT}, "
                                       f"region: {REGION}}}\n    dag_id: d\n  other:\n    url: http://127.0.0.1:9\n"
                                       "    auth: {type: none}\n    timeout: {connect: 1, read: 1}\n")
    result = CliRunner().invoke(app, ["check", "--all", "--profiles-file", str(profiles), "--format", "json"])
    assert result.exit_code == 2, result.output
    entries = {e["profile"]: e for e in json.loads(result.stdout)["profiles"]}
    assert "cannot be parsed" in entries["mwaa"]["error"]
    assert entries["other"]["report"] is not None


# --- what Airflow answered to the read decides: only its own refusal is about the role -----------------------------

class AirflowAnswering(RecordedAirflow):
    """Airflow 2.10.5 whose GET /api/v1/dags answers `dags` (a recorded answer's name, or (status, body)); it serves
    the MWAA web login too, setting a session cookie as the real login does."""

    def __init__(self, dags: "str | tuple[int, dict[str, Any]]") -> None:
        self.dags = dags
        super().__init__()

    def _answer(self, handler: BaseHTTPRequestHandler) -> Reply | None:
        path = handler.path.split("?")[0]
        if path == "/aws_mwaa/login":
            return Reply(302, {"Location": "/", "Set-Cookie": "session=doctor-session-value; Path=/; HttpOnly"}, b"")
        if path != "/api/v1/dags":
            return super()._answer(handler)
        if isinstance(self.dags, str):
            answer = recorded(AIRFLOW_2, self.dags)
            return Reply(answer["status"] if self.dags != "edit_probe_viewer" else 403, answer["headers"],
                         answer["body"].encode())
        status, body = self.dags
        return Reply(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


@pytest.mark.parametrize("dags, via, words, code", [
    ("edit_probe_viewer", "invoke-rest-api", "Airflow refused the mapped identity", "mwaa-role"),
    ("dags_basic_wrong", "invoke-rest-api", "Airflow refused the mapped identity", "mwaa-role"),
    ("dags_basic_wrong", "web-login", "did not accept the session it gave", "mwaa-web-login"),
    ((503, {"detail": "upstream busy"}), "invoke-rest-api", "answered 503 (upstream busy)", AuthCode.SERVER_ERROR),
    ((500, {"detail": "boom"}), "web-login", "answered 500 (boom)", AuthCode.SERVER_ERROR),
    ((404, {"detail": "Not Found"}), "invoke-rest-api", "answered 404 (Not Found), which is no answer to credentials",
     MwaaCode.NOT_AN_AUTH_ANSWER),
])
def test_only_airflows_own_refusal_of_the_read_is_blamed_on_the_role(monkeypatch, tmp_path, dags, via, words,
                                                                      code) -> None:
    with AirflowAnswering(dags) as airflow:
        with stand_in(airflow, monkeypatch, tmp_path, webserver_host=airflow.url):
            _, data = check(mwaa_profile(tmp_path, f"  via: {via}\n"))
    diagnosis = data["diagnosis"]
    assert diagnosis["check_id"] == "auth-backend" and words in diagnosis["summary"], diagnosis["summary"]
    assert diagnosis["code"] == code


# --- secrets: registered where the report's redaction looks, at each use ------------------------------------------

def test_web_login_secrets_are_registered_with_the_probes_registry(monkeypatch, tmp_path) -> None:
    from airflow_doctor.platforms.mwaa import findings as _mwaa
    from airflow_doctor.checks.base import ApiFlavour, CheckContext, Facts
    from airflow_doctor.probe import Probe
    from airflow_doctor.platforms.mwaa.client import base_url, open_environment, session_factory
    from airflow_doctor.secrets import REGISTRY, SecretRegistry

    registry = SecretRegistry()
    with AirflowAnswering("dags_basic_admin") as airflow:
        with stand_in(airflow, monkeypatch, tmp_path, webserver_host=airflow.url) as service:
            profile = load_profile(read_profiles_file(mwaa_profile(tmp_path, "  via: web-login\n"), "--profile"), "mwaa")
            state = open_environment(profile, registry)
            base = base_url(profile, state)
            probe = Probe(base, registry=registry, session_factory=session_factory(state, base))
            ctx = CheckContext(profile, Facts(base_url=base, mwaa=state, api=ApiFlavour.V1), probe, None)
            credentials = _mwaa._web_login(ctx)
    [token] = service.issued
    cookie = credentials.secret.reveal()
    for secret in (token, cookie):
        assert secret not in registry.scrub(f"x {secret} x")
        assert secret in REGISTRY.scrub(f"x {secret} x")


CREDENTIAL_PROCESS = '''import datetime, json, pathlib, sys, uuid
token = "refreshed-session-token-" + uuid.uuid4().hex
with open(sys.argv[1], "a") as issued:
    issued.write(token + "\\n")
soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
print(json.dumps({"Version": 1, "AccessKeyId": sys.argv[2], "SecretAccessKey": sys.argv[3], "SessionToken": token,
                  "Expiration": soon.strftime("%Y-%m-%dT%H:%M:%SZ")}))
'''


def test_session_tokens_of_credentials_refreshed_during_the_run_are_masked(airflow, monkeypatch, tmp_path) -> None:
    from airflow_doctor.secrets import REGISTRY

    script, issued = tmp_path / "credential_process.py", tmp_path / "issued"
    script.write_text(CREDENTIAL_PROCESS)
    with stand_in(airflow, monkeypatch, tmp_path) as service:
        (tmp_path / "aws-config").write_text(f"[profile refreshing]\ncredential_process = {sys.executable} {script} "
                                             f"{issued} {ACCESS_KEY} {SECRET_KEY}\n")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.delenv(name)
        code, _ = check(mwaa_profile(tmp_path, "  aws_profile: refreshing\n"))
    tokens = service.session_tokens
    assert code == 0 and len(set(tokens)) > 2 and set(tokens) <= set(issued.read_text().split())
    assert [t for t in tokens if t in REGISTRY.scrub(f"x {t} x")] == [], tokens


# --- evidence: what went on the wire -------------------------------------------------------------------------------

def test_the_evidence_shows_the_invoke_rest_api_call_that_was_sent_not_a_call_to_the_web_server(
        airflow, monkeypatch, tmp_path) -> None:
    with stand_in(airflow, monkeypatch, tmp_path) as service:
        monkeypatch.setenv("AWS_SESSION_TOKEN", "doctor-session-token-canary-0123456789")
        code, data = check(mwaa_profile(tmp_path))
    exchanges = [e for r in data["results"] for e in r["evidence"]]
    assert code == 0 and exchanges
    assert {(e["method"], e["url"]) for e in exchanges} == {("POST", f"{service.url}/restapi/{ENVIRONMENT}")}
    [read] = result_of(data, "dag-exists")["evidence"]
    assert json.loads(read["request_body"]) == {"Path": "/dags/doctor_demo/details", "Method": "GET"}
    assert read["status"] == 200 and json.loads(read["response_body"])["dag_id"] == "doctor_demo"
    headers = dict(read["request_headers"])
    assert headers["Authorization"] != "" and SECRET_KEY not in json.dumps(data)
    assert "doctor-session-token-canary-0123456789" not in json.dumps(data)
    assert "X-Amz-Security-Token" in headers


# --- no profile yet: where the MWAA profile comes from -------------------------------------------------------------

def test_check_url_with_auth_aws_points_at_the_aws_example_profile() -> None:
    result = CliRunner().invoke(app, ["check", "--url", "https://airflow.example.invalid", "--auth", "aws"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "airflow-doctor profiles example aws" in " ".join(result.output.split())


def test_init_on_an_mwaa_web_server_points_at_the_aws_example_profile() -> None:
    from airflow_doctor.sources.url import OptionsError, ServerModel
    from airflow_doctor.sources.init import _ask_auth
    from airflow_doctor.model import Finding, Status

    mwaa = ServerModel(Finding(Status.PASS, "Airflow 2.10.5"), "2.10.5", "/api/v1", 2, "AWS MWAA")
    with pytest.raises(OptionsError, match="airflow-doctor profiles example aws"):
        _ask_auth(mwaa, lambda question, default: pytest.fail(f"asked {question!r}"))
