from __future__ import annotations

import base64

import pytest

from airflow_doctor.redact import describe_authorization, redact_body, redact_headers, redact_text, redact_url
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


def test_short_secret_is_masked_only_as_a_whole_word() -> None:
    REGISTRY.add("ab")
    assert REGISTRY.scrub("tab ab cab") == "tab *** cab"


def test_urls_lose_userinfo_and_secret_query_parameters() -> None:
    assert redact_url("https://user:pw@h/api?token=abc&limit=1") == "https://***@h/api?token=***&limit=1"
