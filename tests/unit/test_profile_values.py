"""A profile holds only JSON values: dates stay the text typed, other non-JSON YAML is named, alias bombs are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from typer.testing import CliRunner

from airflow_doctor.cli import app
from airflow_doctor.errors import ProfileError
from airflow_doctor.sources.profiles_file import resolve
from airflow_doctor.sources.yaml_safe import MAX_YAML_VALUES
from tests.conftest import replay, write_profile

BASE = "http://airflow.test"


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None):
    profile, _ = resolve(str(write_profile(tmp_path, text, name="p.yml")), None, env=env or {})
    return profile


def refusal(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ProfileError) as caught:
        load(tmp_path, text, env)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("typed", ["2026-01-01T00:00:00Z", "2026-01-01", "2026-01-01 00:00:00",
                                   "2026-01-01t00:00:00.25+02:00", "2026-1-1 1:02:03"])
def test_an_unquoted_date_in_the_payload_is_the_text_typed(tmp_path: Path, typed: str) -> None:
    profile = load(tmp_path, f"url: {BASE}\npayload:\n  logical_date: {typed}\n  conf: {{run_date: {typed}}}\n")
    assert profile.payload == {"logical_date": typed, "conf": {"run_date": typed}}
    assert json.loads(json.dumps(profile.payload)) == profile.payload


@pytest.mark.parametrize("typed", ["12:30", "1:02:03", "0755", "010"])
def test_times_and_leading_zero_numbers_stay_the_text_typed(tmp_path: Path, typed: str) -> None:
    """YAML 1.1 reads 12:30 as 750 and 0755 as 493; no one writing a payload means either."""
    assert load(tmp_path, f"url: {BASE}\npayload: {{conf: {{at: {typed}}}}}\n").payload == {"conf": {"at": typed}}


def test_plain_numbers_booleans_and_nulls_keep_their_json_types(tmp_path: Path) -> None:
    profile = load(tmp_path, f"url: {BASE}\npayload: {{conf: {{n: 10, x: 1.5, big: 0x1F, flag: true, none: null, zero: 0}}}}\n")
    assert profile.payload == {"conf": {"n": 10, "x": 1.5, "big": 31, "flag": True, "none": None, "zero": 0}}


@pytest.mark.parametrize("typed", ["0123", "1.10", "2026-01-01", "12:30"])
def test_a_password_or_dag_id_that_looks_like_a_number_or_date_is_the_text_typed(tmp_path: Path, typed: str) -> None:
    profile = load(tmp_path, f"url: {BASE}\ndag_id: {typed}\nauth: {{type: basic, username: {typed}, password: {typed}}}\n")
    assert profile.dag_id == typed and profile.auth.username == typed
    assert profile.auth.password is not None and profile.auth.password.reveal() == typed


def test_profiles_show_prints_unquoted_dates_as_typed(tmp_path: Path) -> None:
    path = write_profile(tmp_path, f"url: {BASE}\npayload: {{logical_date: 2026-01-01T00:00:00Z, "
                                   f"conf: {{run_date: 2026-01-01}}}}\n", name="p.yml")
    result = CliRunner().invoke(app, ["profiles", "show", str(path)])
    assert result.exit_code == 0, result.output
    assert '{"logical_date": "2026-01-01T00:00:00Z", "conf": {"run_date": "2026-01-01"}}' in result.output


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@responses.activate
def test_check_with_unquoted_dates_reports_them_as_typed_instead_of_crashing(tmp_path: Path) -> None:
    replay(responses, BASE, "airflow-3.3.2", "v2_version")
    replay(responses, BASE, "airflow-3.3.2", "health")
    path = write_profile(tmp_path, f"url: {BASE}\ndag_id: doctor_demo\npayload: {{logical_date: 2026-01-01T00:00:00Z, "
                                   f"conf: {{run_date: 2026-01-01}}}}\n", name="p.yml")
    result = CliRunner().invoke(app, ["check", "--profile", str(path), "--format", "json", "--only", "payload-schema"])
    assert result.exit_code in (0, 1), result.output
    texts = _strings(json.loads(result.stdout))
    assert any('"logical_date": "2026-01-01T00:00:00Z"' in t for t in texts)
    assert any('"run_date": "2026-01-01"' in t for t in texts)


def test_the_test_trigger_sends_conf_dates_exactly_as_typed(tmp_path: Path) -> None:
    from airflow_doctor.checks.trial_run import trigger_body

    profile = load(tmp_path, f"url: {BASE}\npayload: {{conf: {{run_date: 2026-01-01, at: 2026-01-01 00:00:00}}}}\n")
    assert profile.payload is not None
    body = json.loads(json.dumps(trigger_body(profile.payload, True, "3.3.2")))
    assert body["conf"] == {"run_date": "2026-01-01", "at": "2026-01-01 00:00:00"}


@pytest.mark.parametrize(
    "payload, expected",
    [
        ("{conf: {blob: !!binary aGVsbG8=}}", "line 3: the value aGVsbG8= is tagged !!binary, which has no JSON form"),
        ("{conf: {ids: !!set {a, b}}}", "line 3: the YAML tag !!set has no JSON form; remove it"),
        ("{conf: {steps: !!omap [a: 1]}}", "line 3: the YAML tag !!omap has no JSON form"),
        ("{conf: {ratio: .nan}}", "line 3: the value .nan is not a number JSON can carry; quote it"),
        ("{conf: {limit: .inf}}", "line 3: the value .inf is not a number JSON can carry; quote it"),
        ("{conf: {limit: -.Inf}}", "line 3: the value -.Inf is not a number JSON can carry"),
        ("{conf: {1: one}}", "line 3: the key 1 is a number to YAML, but names and keys must be text; quote it: '1'."),
        ("{conf: {true: x}}", "line 3: the key true is a boolean to YAML, but names and keys must be text; quote it: 'true'."),
        ("{conf: {~: x}}", "line 3: the key ~ is null to YAML"),
        ("{conf: {n: !!int ten}}", "line 3: the value ten cannot be read as !!int; quote it"),
        ("{conf: {n: !custom x}}", "line 3: the value x cannot be read as !custom; quote it"),
        ("{conf: !custom {a: 1}}", "line 3: the YAML tag !custom has no JSON form"),
    ],
)
def test_a_value_json_cannot_carry_is_named_at_its_line(tmp_path: Path, payload: str, expected: str) -> None:
    assert expected in refusal(tmp_path, f"url: {BASE}\ndag_id: d\npayload: {payload}\n")


@pytest.mark.parametrize("value", ["!!binary c2VjcmV0LWNhbmFyeQ==", ".NaN", "!canary-pw-7"])
def test_a_refused_password_value_is_not_echoed(tmp_path: Path, value: str) -> None:
    message = refusal(tmp_path, f"url: {BASE}\nauth:\n  type: basic\n  username: u\n  password: {value}\n")
    assert "line 5: the value here" in message
    assert "c2VjcmV0" not in message and "NaN" not in message and "canary" not in message


def _alias_bomb(levels: int) -> str:
    """Each anchor is nine aliases of the one before: nine levels expand to 9**9 (387 million) values."""
    names = [f"l{i}" for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]" for prev, name in zip(names, names[1:])]
    return "\n".join(lines) + f"\nurl: {BASE}\n"


def test_a_yaml_alias_bomb_is_refused_in_one_sentence(tmp_path: Path) -> None:
    message = refusal(tmp_path, _alias_bomb(9))
    assert message.endswith(f"uses YAML aliases that expand to more than {MAX_YAML_VALUES:,} values; "
                            f"remove the anchors (&name) and aliases (*name).")


def test_a_file_with_too_many_plain_values_is_refused_without_blaming_aliases(tmp_path: Path) -> None:
    message = refusal(tmp_path, f"url: {BASE}\npayload: {{conf: {{ids: [{', '.join(['0'] * MAX_YAML_VALUES)}]}}}}\n")
    assert f"holds more than {MAX_YAML_VALUES:,} values" in message and "aliases" not in message


def test_a_merge_key_shares_one_profiles_settings_with_another(tmp_path: Path) -> None:
    text = ("profiles:\n  prod: &prod\n    url: https://prod.example.com\n"
            "    auth: {type: basic, username: svc, password: '${PW}'}\n    dag_id: etl\n    timeout: {connect: 3}\n"
            "  stage:\n    <<: *prod\n    url: https://stage.example.com\n    dag_id: etl_stage\n")
    path = write_profile(tmp_path, text, name="p.yml")
    stage, _ = resolve("stage", str(path), env={"PW": "a-long-enough-pw"})
    assert (stage.url, stage.dag_id, stage.auth.username, stage.connect_timeout) == \
        ("https://stage.example.com", "etl_stage", "svc", 3.0)


def test_a_key_written_twice_is_named_with_both_lines(tmp_path: Path) -> None:
    message = refusal(tmp_path, f"url: {BASE}\ndag_id: a\ndag_id: b\n")
    assert "line 3: the key 'dag_id' appears twice in the same mapping (first on line 2)" in message


@pytest.mark.parametrize(
    "username, password, reason",
    [
        ("airflow", "airflow", "it equals the username"),
        ("svc-trigger", "airflow", "it is a common default password"),
        ("admin", "Admin", "it is a common default password"),
        ("svc-trigger", "x7#kq", "it is shorter than 8 characters"),
    ],
)
def test_a_weak_password_gets_a_warning_that_says_what_it_means(tmp_path: Path, username: str, password: str,
                                                                 reason: str) -> None:
    profile = load(tmp_path, f"url: {BASE}\nauth: {{type: basic, username: {username}, password: '${{PW}}'}}\n",
                   env={"PW": password})
    assert profile.warnings == (f"the password of '{username}' is weak ({reason}): anyone can guess it; "
                                f"the report masks it where it is a value (headers, bodies, URLs, password=...) but "
                                f"not where the same word appears in ordinary text; use a strong password",)


def test_a_strong_password_gets_no_warning(tmp_path: Path) -> None:
    profile = load(tmp_path, f"url: {BASE}\nauth: {{type: jwt, username: admin, password: '${{PW}}'}}\n",
                   env={"PW": "k3!Vq-8rTz"})
    assert profile.warnings == ()
