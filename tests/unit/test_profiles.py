from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_doctor.errors import ProfileError
from airflow_doctor.sources.profile import AuthType
from airflow_doctor.sources.profiles_file import resolve
from airflow_doctor.secrets import REGISTRY
from tests.conftest import write_profile

GOOD = """\
version: 1
default_profile: prod
profiles:
  prod:
    url: https://airflow.example.com
    auth:
      type: basic
      username: svc-trigger
      password: ${AIRFLOW_PROD_PASSWORD}
    dag_id: example_etl
    payload:
      conf: {batch_size: 10}
    timeout: {connect: 3, read: 10}
  v3:
    url: http://127.0.0.1:8080/
    auth: {type: jwt, username: admin, password_file: pw.txt}
"""


def test_named_profile_loads_with_sources_and_masked_secret(tmp_path: Path) -> None:
    path = write_profile(tmp_path, GOOD)
    profile, chosen = resolve("prod", str(path), env={"AIRFLOW_PROD_PASSWORD": "canary-pw-123"})
    assert profile.url == "https://airflow.example.com"
    assert profile.auth.type is AuthType.BASIC and profile.auth.username == "svc-trigger"
    assert profile.auth.password is not None and profile.auth.password.reveal() == "canary-pw-123"
    assert str(profile.auth.password) == "***" and "canary" not in repr(profile)
    assert profile.sources["auth.password"] == "env $AIRFLOW_PROD_PASSWORD (profile.yml:9)"
    assert profile.sources["url"] == "profile.yml:5"
    assert (profile.connect_timeout, profile.read_timeout) == (3.0, 10.0)
    assert profile.payload == {"conf": {"batch_size": 10}}
    assert "--profile" in chosen
    shown = "\n".join(f"{k} {v} {s}" for k, v, s in profile.shown_fields())
    assert "canary-pw-123" not in shown and "*** (13 chars)" in shown
    assert REGISTRY.leaks("x canary-pw-123 y")


def test_default_profile_is_used_when_none_is_named(tmp_path: Path) -> None:
    path = write_profile(tmp_path, GOOD)
    profile, chosen = resolve(None, str(path), env={"AIRFLOW_PROD_PASSWORD": "x" * 8})
    assert profile.name == "prod" and "default_profile" in chosen


def test_profile_env_var_chooses_the_profile(tmp_path: Path) -> None:
    write_profile(tmp_path, GOOD)
    (tmp_path / "pw.txt").write_text("secret-from-file\n")
    (tmp_path / "pw.txt").chmod(0o600)
    env = {"AIRFLOW_DOCTOR_PROFILES": str(tmp_path / "profile.yml"), "AIRFLOW_DOCTOR_PROFILE": "v3"}
    profile, chosen = resolve(None, None, env=env)
    assert profile.name == "v3" and profile.url == "http://127.0.0.1:8080"
    # The file's trailing newline is kept: the credential-encoding check must see what a script would read.
    assert profile.auth.password is not None and profile.auth.password.reveal() == "secret-from-file\n"
    assert profile.sources["auth.password"].startswith("file ")
    assert profile.warnings == ()


def test_single_profile_file_given_as_path(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "url: http://localhost:8080\nauth: {type: none}\n", name="local.yml")
    profile, chosen = resolve(str(path), None, env={})
    assert profile.name == "local" and profile.auth.type is AuthType.NONE


def test_world_readable_file_with_literal_password_warns(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "url: http://h\nauth: {type: basic, username: u, password: literal-pw}\n",
                         name="p.yml", mode=0o644)
    profile, _ = resolve(str(path), None, env={})
    assert any("chmod 600" in w for w in profile.warnings)


def _error(tmp_path: Path, text: str | bytes | None, profile: str | None = None, env: dict | None = None,
           profiles_file: str | None = None) -> str:
    path = tmp_path / "profiles.yml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)
    with pytest.raises(ProfileError) as caught:
        resolve(profile, profiles_file or str(path), env=env or {})
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


P = "profiles:\n  p:\n"


@pytest.mark.parametrize(
    "text, expected",
    [
        (None, "does not exist"),
        ("", "is empty"),
        ("profiles: [unclosed", "is not valid YAML"),
        ("- a\n- b\n", "must hold a mapping"),
        ("profiles: {}\n", "defines no profiles"),
        ("version: 7\nprofiles: {p: {url: http://h}}\n", "version 7 is not supported"),
        (P + "    url: http://h\n    dag: x\n", "unknown key 'dag' in profile 'p'; did you mean 'dag_id'?"),
        (P + "    url: http://h\n    auth: {type: basic, username: u, pasword: x}\n", "did you mean 'password'?"),
        (P + "    dag_id: x\n", "has no 'url'"),
        (P + "    url: airflow.example.com\n", "has no scheme; write it as https://airflow.example.com"),
        (P + "    url: ftp://airflow.example.com\n", "uses the scheme 'ftp'"),
        (P + "    url: https://admin:hunter22@airflow.example.com\n", "credentials embedded"),
        (P + "    url: http://h:99999\n", "is not a valid URL"),
        (P + "    url: [http://h]\n", "'url' must be a string, not a list"),
        (P + "    url: http://h\n    timeout: {connect: fast}\n", "'timeout.connect' must be a number"),
        (P + "    url: http://h\n    timeout: 5\n", "'timeout' must be a mapping"),
        (P + "    url: http://h\n    payload: 5\n", "'payload' must be a mapping"),
        (P + "    url: http://h\n    auth: {type: basic, username: u, password: '${NOPE_NOT_SET}'}\n",
         "the environment variable NOPE_NOT_SET is not set"),
        (P + "    url: http://h\n    auth: {type: basic, username: u, password_file: /nonexistent/pw}\n",
         "/nonexistent/pw, which does not exist"),
        (P + "    url: http://h\n    auth: {type: token, username: u, token: abc}\n",
         "auth type 'token' does not use 'username'"),
        (P + "    url: http://h\n    auth: {type: basic, username: u}\n", "needs 'password'"),
        (P + "    url: http://h\n    auth: {type: basic, username: u, password: a, password_file: f}\n",
         "are both set"),
        (P + "    url: http://h\n    auth: {type: oauth}\n", "auth type 'oauth' is not known"),
        (P + "    url: http://h\n    auth: {username: u}\n", "has no 'type'"),
        (b"profiles:\n  p:\n    url: http://h\xff\xfe\n", "is not UTF-8 text"),
        (b"\x00\x01binary", "is a binary file"),
    ],
    ids=lambda v: str(v)[:40] if not isinstance(v, bytes) else "bytes",
)
def test_bad_profile_gives_one_sentence_naming_problem_and_fix(tmp_path: Path, text, expected: str) -> None:
    assert expected in _error(tmp_path, text, profile="p")


def test_unknown_profile_name_lists_profiles_and_prints_the_command(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD, profile="prd")
    assert "There is no profile 'prd'" in message and "prod, v3" in message
    assert "run: airflow-doctor check --profile prod" in message


def test_ambiguous_choice_lists_profiles(tmp_path: Path) -> None:
    text = "profiles:\n  a: {url: http://a}\n  b: {url: http://b}\n"
    message = _error(tmp_path, text)
    assert "has 2 profiles (a, b) and none was chosen" in message and "--profile a" in message


def test_unreadable_profile_file(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        directory = tmp_path / "dir.yml"
        directory.mkdir()
        assert "is a directory" in _error(tmp_path, None, profiles_file=str(directory), profile="p")
    else:
        path = write_profile(tmp_path, GOOD, mode=0o000)
        assert "permission denied" in _error(tmp_path, None, profiles_file=str(path), profile="p")


def test_credentials_in_url_are_never_echoed(tmp_path: Path) -> None:
    message = _error(tmp_path, P + "    url: https://admin:hunter22-canary@airflow.example.com\n", profile="p")
    assert "hunter22-canary" not in message
    assert REGISTRY.leaks("hunter22-canary")


def test_deeply_nested_yaml_is_refused_cleanly(tmp_path: Path) -> None:
    nested = "profiles:\n  p:\n    url: http://h\n    payload: " + "[" * 60 + "]" * 60 + "\n"
    assert "nested deeper" in _error(tmp_path, nested, profile="p")


def test_request_block_is_read_and_rejects_embedded_credentials(tmp_path: Path) -> None:
    good = write_profile(tmp_path, "url: http://h\nrequest: {path: /api/v1/dags/x/dagRuns/, method: post, content_type: text/plain}\n",
                         name="r.yml")
    profile, _ = resolve(str(good), None, env={})
    assert profile.request is not None and profile.request.method == "POST" and profile.request.path.endswith("/")
    assert "request.content_type" in "\n".join(k for k, _, _ in profile.shown_fields())
    message = _error(tmp_path, P + "    url: http://h\n    request: {path: 'https://u:req-canary-pw@h/api/v1/x'}\n", profile="p")
    assert "credentials embedded" in message and "req-canary-pw" not in message


def test_a_quoted_numeric_profile_name_can_be_the_default_written_bare(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "default_profile: 2024\nprofiles:\n  '2024': {url: http://h}\n  '2025': {url: http://k}\n")
    profile, chosen = resolve(None, str(path), env={})
    assert profile.name == "2024" and "default_profile" in chosen


def test_a_payload_that_is_a_json_list_loads_so_payload_schema_can_name_it(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "version: 1\nprofiles:\n  p:\n    url: http://h\n    payload: [{batch_size: 5}]\n")
    profile, _ = resolve("p", str(path), env={})
    assert profile.payload == [{"batch_size": 5}]
