"""profiles remove / use / list --format json / import (issue 19): atomic writes, the file's mode kept, comments
kept by `use` (a .bak before a rewrite that drops them), secrets only ever as ${VAR} references."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from airflow_doctor.cli import app
from airflow_doctor.sources.profiles_file import resolve
from tests.conftest import write_profile

COMMENTED = """\
# team profiles: ask #ops before changing
version: 1
default_profile: prod   # what check uses
profiles:
  prod: {url: 'https://prod.example'}   # the one that pages
  staging: {url: 'https://staging.example'}
  '2024': {url: 'https://old.example'}
"""


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env or {})


@pytest.fixture()
def profiles(tmp_path: Path) -> Path:
    return write_profile(tmp_path, COMMENTED, name="profiles.yml", mode=0o640)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_use_sets_the_default_in_place_keeping_comments_and_mode(profiles: Path) -> None:
    result = invoke("profiles", "use", "staging", "--profiles-file", str(profiles))
    assert result.exit_code == 0 and "Default profile is now 'staging'" in result.stdout
    assert profiles.read_text() == COMMENTED.replace("default_profile: prod   # what check uses",
                                                     "default_profile: staging")
    assert mode(profiles) == 0o640 and not profiles.with_name("profiles.yml.bak").exists()
    assert resolve(None, str(profiles))[0].name == "staging"


def test_use_of_a_numeric_name_stays_a_name(profiles: Path) -> None:
    assert invoke("profiles", "use", "2024", "--profiles-file", str(profiles)).exit_code == 0
    assert resolve(None, str(profiles))[0].url == "https://old.example"


def test_use_adds_the_line_when_there_was_none(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "# mine\nprofiles:\n  a: {url: 'http://a'}\n  b: {url: 'http://b'}\n")
    assert invoke("profiles", "use", "b", "--profiles-file", str(path)).exit_code == 0
    assert path.read_text() == "# mine\ndefault_profile: b\nprofiles:\n  a: {url: 'http://a'}\n  b: {url: 'http://b'}\n"


def test_use_of_a_flow_style_file_rewrites_it(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "{profiles: {a: {url: 'http://a'}, b: {url: 'http://b'}}}\n")
    assert invoke("profiles", "use", "b", "--profiles-file", str(path)).exit_code == 0
    assert yaml.safe_load(path.read_text())["default_profile"] == "b"


@pytest.mark.parametrize("command", ["use", "remove"])
def test_an_unknown_name_is_one_sentence_exit_2_and_the_file_untouched(profiles: Path, command: str) -> None:
    result = invoke("profiles", command, "stagin", "--profiles-file", str(profiles))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "There is no profile 'stagin'" in result.stderr and "did you mean 'staging'?" in result.stderr
    assert profiles.read_text() == COMMENTED


def test_remove_keeps_the_others_a_backup_of_the_comments_and_the_mode(profiles: Path) -> None:
    result = invoke("profiles", "remove", "staging", "--profiles-file", str(profiles))
    assert result.exit_code == 0 and "Removed profile 'staging'" in result.stdout
    assert "profiles.yml.bak" in result.stderr
    data = yaml.safe_load(profiles.read_text())
    assert list(data["profiles"]) == ["prod", "2024"] and data["default_profile"] == "prod"
    assert profiles.with_name("profiles.yml.bak").read_text() == COMMENTED
    assert mode(profiles) == 0o640


def test_removing_the_default_removes_default_profile_too(profiles: Path) -> None:
    assert invoke("profiles", "remove", "prod", "--profiles-file", str(profiles)).exit_code == 0
    assert "default_profile" not in yaml.safe_load(profiles.read_text())


def test_the_last_profile_is_not_removed(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "profiles:\n  only: {url: 'http://a'}\n")
    result = invoke("profiles", "remove", "only", "--profiles-file", str(path))
    assert result.exit_code == 2 and "the only profile" in result.stderr
    assert "only" in yaml.safe_load(path.read_text())["profiles"]


def test_a_single_profile_file_is_not_edited(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "url: http://a\n", name="one.yml")
    result = invoke("profiles", "use", "one", "--profiles-file", str(path))
    assert result.exit_code == 2 and "single profile" in result.stderr


def test_list_format_json(profiles: Path) -> None:
    result = invoke("profiles", "list", "--format", "json", "--profiles-file", str(profiles))
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "schema_version": 1, "path": str(profiles), "chosen_by": "--profiles-file", "default_profile": "prod",
        "profiles": [{"name": "prod", "default": True}, {"name": "staging", "default": False},
                     {"name": "2024", "default": False}]}


def test_list_text_is_unchanged(profiles: Path) -> None:
    result = invoke("profiles", "list", "--profiles-file", str(profiles))
    assert result.stdout.splitlines()[1:] == ["  prod  (default)", "  staging", "  2024"]
