from __future__ import annotations

import base64

import pytest

from airflow_doctor.redact import redact_result, describe_authorization, redact_body, redact_header, redact_headers, redact_text, redact_url
from airflow_doctor.secrets import REGISTRY, Secret

JWT = "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def test_basic_authorization_keeps_scheme_and_username_and_hides_password() -> None:
    header = "Basic " + base64.b64encode("admin:pässwörd".encode()).decode()
    assert describe_authorization(header) == "Basic admin:*** (password: 10 bytes)"


def test_bearer_authorization_says_jwt_without_the_token() -> None:
    shown = describe_authorization(f"Bearer {JWT}")
    assert shown.startswith("Bearer *** (JWT, ") and JWT not in shown


@pytest.mark.parametrize("name, value, shown", [
    ("Cookie", "session=abc123; _token=xyz", "session=***; _token=***"),
    ("Set-Cookie", "session=abc.def; Expires=Tue; HttpOnly; Path=/", "session=***; Expires=Tue; HttpOnly; Path=/"),
    ("X-CSRFToken", "tok", "***"),
    ("X-Api-Key", "k", "***"),
    ("WWW-Authenticate", "Basic", "Basic"),
    ("Content-Type", "application/json", "application/json"),
    ("Location", "https://u:p@h/login?next=/x&access_token=t1", "https://***@h/login?next=%2Fx&access_token=***"),
])
def test_headers_are_redacted_by_name(name: str, value: str, shown: str) -> None:
    assert redact_headers([(name, value)]) == ((name, shown),)


def test_json_bodies_lose_secret_keys_and_text_loses_jwts() -> None:
    body = redact_body('{"access_token": "abc", "password": "p", "detail": "ok", "auth_type": null}', "application/json")
    assert '"access_token": "***"' in body and '"password": "***"' in body and '"detail": "ok"' in body
    assert "<JWT redacted>" in redact_text(f"token was {JWT} here")


def test_form_bodies_lose_password_and_csrf_fields() -> None:
    body = redact_body("csrf_token=abc&username=admin&password=hunter2", "application/x-www-form-urlencoded")
    assert body == "csrf_token=***&username=admin&password=***"


def test_registry_knows_derived_forms_of_a_secret() -> None:
    REGISTRY.add_basic("svc", Secret("p@ss word€"))
    for form in ["p@ss word€", "p%40ss%20word%E2%82%AC", "p%40ss+word%E2%82%AC", "p@ss word\\u20ac",
                 base64.b64encode("svc:p@ss word€".encode()).decode()]:
        assert REGISTRY.leaks(f"…{form}…"), form
    assert REGISTRY.scrub("x p@ss word€ y") == "x *** y"


def test_a_short_secret_is_masked_where_it_is_a_value_not_as_bare_text() -> None:
    REGISTRY.add("ab")
    assert REGISTRY.scrub("tab ab cab") == "tab ab cab"
    assert redact_header("Authorization", "Bearer ab") == "Bearer *** (2 chars)"


def test_urls_lose_userinfo_and_secret_query_parameters() -> None:
    assert redact_url("https://user:pw@h/api?token=abc&limit=1") == "https://***@h/api?token=***&limit=1"


# --- secrets the doctor never registered ------------------------------------------------------------

CANARY = "CanaryV4lue9x"


@pytest.mark.parametrize("text, kept", [
    (f"create_engine('postgresql://etl:{CANARY}@db/orders')", "create_engine('postgresql://etl:***@db/orders')"),
    (f'api_key = "{CANARY}"', 'api_key = "***"'),
    (f"api_key = '{CANARY}'", "api_key = '***'"),
    (f'"stack_trace": "  api_key = \\"{CANARY}\\"\\n"', '"stack_trace": "  api_key = \\"***\\"\\n"'),
    (f'"stack_trace": "raise E(f\\"api_key = \\\\\\"{CANARY}\\\\\\"\\")"',
     '"stack_trace": "raise E(f\\"api_key = \\\\\\"***\\\\\\"\\")"'),
    (f'detail: {{"user": "etl", "password": "{CANARY}"}}', 'detail: {"user": "etl", "password": "***"}'),
    (f"{{'db_password': '{CANARY}', 'host': 'db'}}", "{'db_password': '***', 'host': 'db'}"),
    (f"DB_PASSWORD={CANARY} airflow db migrate", "DB_PASSWORD=*** airflow db migrate"),
    (f"AIRFLOW__CORE__FERNET_KEY={CANARY}", "AIRFLOW__CORE__FERNET_KEY=***"),
    (f"password: {CANARY}\nuser: etl", "password: ***\nuser: etl"),
    (f"login --password {CANARY} --user etl", "login --password *** --user etl"),
    (f"302 to https://idp/authorize?client_id=af&client_secret={CANARY}&state=1",
     "302 to https://idp/authorize?client_id=af&client_secret=***&state=1"),
    (f"next=%2Fcb%3Fclient_secret%3D{CANARY}", "next=%2Fcb%3Fclient_secret%3D***"),
    (f"Authorization: Bearer {CANARY}", "Authorization: Bearer ***"),
    (f"'Authorization': 'Basic {CANARY}'", "'Authorization': 'Basic ***'"),
    (f"Cookie: session={CANARY}; theme=dark", "Cookie: session=***; theme=***"),
    (f"Set-Cookie: session={CANARY}; Path=/; HttpOnly", "Set-Cookie: session=***; Path=/; HttpOnly"),
    (f"sent Bearer {CANARY}0123456789", "sent Bearer ***"),
    (f"{JWT} expired", "<JWT redacted> expired"),
    (f"key:\n-----BEGIN RSA PRIVATE KEY-----\n{CANARY}\n-----END RSA PRIVATE KEY-----\nend", "key:\n<PEM block redacted>\nend"),
    ("aws AKIAIOSFODNN7EXAMPLE", "aws AKIA***"),
    ("ASIAY34FZKBOKMUTVV7A used", "ASIA*** used"),
    ("gh ghp_16C7e42F292c6912E7710c838347Ae178B4a", "gh ghp_***"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github_pat_***"),
    ("slack xoxb-2632728101-4415346790-cWsMDTgSCiT5", "slack xoxb-***"),
    ("openai sk-proj-9fQ3kLm2Xv8Rt1Zp0Wq7Yb", "openai sk-***"),
    ("google AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", "google AIza***"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe sk_live_***"),
], ids=lambda v: v[:40])
def test_secrets_the_server_puts_in_its_words_are_masked(text: str, kept: str) -> None:
    assert redact_text(text) == kept


@pytest.mark.parametrize("text", [
    "wrong username or password: the UI login rejects 'svc' with this password too",
    "wrong username or password: /auth/token rejects them for 'svc' (401 Invalid credentials)",
    "Airflow 3 takes a Bearer token from POST /auth/token",
    "[api] auth_backends = airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session",
    '{"access_token": "***", "token_type": "bearer", "password_file": "/run/secrets/airflow"}',
    "auth:\n  type: basic\n  username: <user>\n  password: ${AIRFLOW_PASSWORD}",
    "[api_auth]\njwt_secret = <one long random value shared by all api-servers>",
    "password = open(path).read().strip()",
    "the signing secret: several api-server workers each made their own",
    "Basic admin:*** (password: 13 bytes)",
    "primary_key=order_id sort_key: 'ts' monkey=1",
    "risk-assessment-framework-for-everyone-in-2024 uses sk-learn",
    "airflow users create -u svc -r User -e svc@example.com -f svc -l trigger -p <password>",
    "Airflow 3 wants 'Authorization: Bearer' with a JWT; authorization: the header is missing",
])
def test_prose_placeholders_and_names_that_only_describe_a_secret_stay(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize("auth_type, api, version", [
    ("basic", "/api/v1", "2.10.5"), ("jwt", "/api/v2", "3.3.2"), ("token", "/api/v2", "3.3.2"),
    ("token", "/api/v1", "2.10.5"),
])
def test_the_working_request_snippets_survive_redaction_unchanged(auth_type: str, api: str, version: str) -> None:
    from airflow_doctor.checks.readers import working_request
    from tests.conftest import check_context

    ctx = check_context("http://airflow.test:8080", api=api, version=version, auth_type=auth_type,
                        password="Str0ng-pw-for-snippets", token="tok-0123456789abcdef0123",
                        payload={"conf": {"batch_size": 5, "region": "eu"}})
    request = working_request.build(ctx.profile, ctx.facts, [])
    assert request.snippets, "no snippet was built"
    for snippet in request.snippets:
        assert redact_text(snippet.code) == snippet.code, snippet.label
    for note in request.notes:
        assert redact_text(note) == note


def test_a_finding_quoting_a_traceback_reaches_the_result_masked() -> None:
    from airflow_doctor.model import CheckResult, Finding, Fix, Status

    trace = f"File \"/opt/airflow/dags/orders.py\", line 3\n    engine = create_engine('postgresql://etl:{CANARY}@db/orders')"
    finding = Finding(Status.FAIL, f"302 to https://sso/?client_secret={CANARY}", f"The import error:\n{trace}",
                      Fix(f"Rotate api_key = '{CANARY}'", (f"export AIRFLOW_CONN_DB=postgresql://etl:{CANARY}@db",)),
                      (f"Authorization: Bearer {CANARY}",))
    result = redact_result(CheckResult.from_finding("dag-exists", "t", finding, (), 1.0))
    strings = [result.summary, result.explanation, *result.details, result.fix.text, *result.fix.commands]
    assert all(CANARY not in s for s in strings), strings
    assert "/opt/airflow/dags/orders.py" in result.explanation and "postgresql://etl:***@db/orders" in result.explanation


# --- a weak password keeps the report readable --------------------------------------------------------

@pytest.mark.parametrize("username, password, reason", [
    ("airflow", "airflow", "it equals the username"),
    ("svc", "airflow", "it is a common default password"),
    ("svc", "x7#kQ", "it is shorter than 8 characters"),
    ("svc", "c0rrect-h0rse", None),
])
def test_weak_secret_reason(username: str, password: str, reason: str | None) -> None:
    from airflow_doctor.secrets import weak_secret_reason

    assert weak_secret_reason(username, password) == reason


@pytest.mark.parametrize("text", [
    "no DAG has the id 'lab_airflow'", "airflow-doctor 0.4 · profile lab", "[api] in airflow.cfg",
    "file: /opt/airflow/dags/lab_airflow.py", "http://airflow-webserver:8080/api/v1", "lab_airflow",
])
def test_a_weak_password_inside_other_words_is_not_masked_or_a_leak(text: str) -> None:
    REGISTRY.add_basic("airflow", Secret("airflow"))
    assert REGISTRY.scrub(text) == text and not REGISTRY.leaks(text)


@pytest.mark.parametrize("text, shown", [
    ("the server said: password='airflow' is wrong", "the server said: password='***' is wrong"),
    ('{"password": "airflow"}', '{"password": "***"}'),
    ("http://admin:airflow@airflow-webserver:8080/", "http://admin:***@airflow-webserver:8080/"),
    (base64.b64encode(b"airflow:airflow").decode(), "***"),
    ("Bearer airflow", "***"),
])
def test_a_weak_password_is_masked_where_it_is_a_value_and_in_its_derived_forms(text: str, shown: str) -> None:
    REGISTRY.add_basic("airflow", Secret("airflow"))
    assert redact_text(text) == shown


def test_a_weak_password_leaves_the_tools_own_commands_runnable() -> None:
    REGISTRY.add_basic("airflow", Secret("airflow"))
    for command in ("airflow dags unpause lab_airflow", "airflow users add-role -u airflow -r User"):
        assert redact_text(command) == command and not REGISTRY.leaks(command)


def test_a_strong_password_is_still_masked_inside_other_words() -> None:
    REGISTRY.add_basic("svc", Secret("lab-S3cret-pw"))
    assert REGISTRY.scrub("dag_lab-S3cret-pw_x") == "dag_***_x" and REGISTRY.leaks("xlab-S3cret-pwx")


def test_the_weak_password_airflow_leaves_a_rendered_report_readable(tmp_path) -> None:
    from airflow_doctor.model import CheckResult, Finding, Fix, Report, Status
    from airflow_doctor.report import render_markdown, write_atomic

    REGISTRY.add_basic("admin", Secret("airflow"))
    finding = Finding(Status.FAIL, "the DAG 'lab_airflow' is paused",
                      "airflow-doctor never unpauses a DAG; see [core] in airflow.cfg.",
                      Fix("Unpause it:", ("airflow dags unpause lab_airflow",)), ("file: /opt/airflow/dags/lab_airflow.py",))
    result = redact_result(CheckResult.from_finding("paused", "DAG is not paused", finding, (), 1.0))
    report = Report("0.1", "now", "lab", "http://airflow-webserver:8080", (("identity", "admin"),), (), (result,))
    text = render_markdown(report)
    for readable in ("'lab_airflow'", "airflow-doctor never", "airflow.cfg", "/opt/airflow/dags/lab_airflow.py",
                     "http://airflow-webserver:8080"):
        assert readable in text
    assert "lab_***" not in text
    write_atomic(tmp_path / "r.md", text)
    assert (tmp_path / "r.md").read_text() == text
