"""Shell completion as a user meets it (issue 19): the script the CLI prints, sourced in a real bash, completing
profile names and check ids through click's protocol (_AIRFLOW_DOCTOR_COMPLETE=complete_bash, COMP_WORDS, COMP_CWORD).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_doctor.checks import CHECK_IDS
from airflow_doctor.cli import app
from tests.conftest import write_profile

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")

PROFILES = "version: 1\nprofiles:\n  prod: {url: 'http://127.0.0.1:9'}\n  prod-eu: {url: 'http://127.0.0.1:9'}\n" \
           "  staging: {url: 'http://127.0.0.1:9'}\n"


@pytest.fixture()
def shell(tmp_path: Path) -> dict[str, str]:
    """A PATH whose `airflow-doctor` is this package (as the installed console script calls it), and a profiles file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    command = bin_dir / "airflow-doctor"
    command.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'import sys; sys.argv[0] = \"airflow-doctor\"; "
                       f"from airflow_doctor.__main__ import main; main()' \"$@\"\n")
    command.chmod(0o755)
    profiles = write_profile(tmp_path, PROFILES, name="profiles.yml")
    return {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path), "AIRFLOW_DOCTOR_PROFILES": str(profiles),
            "PYTHONPATH": os.pathsep.join(sys.path)}


def completion_script(env: dict[str, str]) -> str:
    done = subprocess.run(["airflow-doctor", "--show-completion", "bash"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def complete(env: dict[str, str], script: Path, *words: str) -> list[str]:
    """What bash offers after `words` (the last one is being typed), through the sourced completion function."""
    quoted = " ".join(f"'{word}'" for word in words)
    program = (f"source {script}\nCOMP_WORDS=({quoted})\nCOMP_CWORD={len(words) - 1}\n"
               "_airflow_doctor_completion airflow-doctor\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


@pytest.fixture()
def script(shell: dict[str, str], tmp_path: Path) -> Path:
    path = tmp_path / "airflow-doctor.bash"
    text = completion_script(shell)
    assert "_AIRFLOW_DOCTOR_COMPLETE=complete_bash" in text and "complete -o default -F" in text
    path.write_text(text)
    return path


def test_profile_names_complete_after_profile(shell: dict[str, str], script: Path) -> None:
    assert complete(shell, script, "airflow-doctor", "check", "--profile", "pro") == ["prod", "prod-eu"]
    assert complete(shell, script, "airflow-doctor", "check", "-p", "") == ["prod", "prod-eu", "staging"]


def test_profile_names_complete_for_profiles_show_remove_and_use(shell: dict[str, str], script: Path) -> None:
    for command in ("show", "remove", "use"):
        assert complete(shell, script, "airflow-doctor", "profiles", command, "st") == ["staging"], command


def test_a_profiles_file_given_on_the_line_is_the_one_completed(shell: dict[str, str], script: Path, tmp_path: Path) -> None:
    other = write_profile(tmp_path, "profiles:\n  elsewhere: {url: 'http://h'}\n", name="other.yml")
    words = ("airflow-doctor", "check", "--profiles-file", str(other), "--profile", "")
    assert complete(shell, script, *words) == ["elsewhere"]


def test_check_ids_complete_after_only_and_skip(shell: dict[str, str], script: Path) -> None:
    assert complete(shell, script, "airflow-doctor", "check", "--only", "pay") == ["payload-schema"]
    offered = complete(shell, script, "airflow-doctor", "check", "--only", "reachability", "--skip", "")
    assert offered == [c for c in CHECK_IDS if c != "reachability"]


def test_a_broken_profiles_file_completes_to_nothing_quietly(shell: dict[str, str], script: Path, tmp_path: Path) -> None:
    Path(shell["AIRFLOW_DOCTOR_PROFILES"]).write_text("profiles: [unclosed\n")
    assert complete(shell, script, "airflow-doctor", "check", "--profile", "") == []


def test_clicks_protocol_directly(shell: dict[str, str]) -> None:
    """What the sourced function runs: the tool itself answers the completion request."""
    env = {**shell, "_AIRFLOW_DOCTOR_COMPLETE": "complete_bash", "COMP_WORDS": "airflow-doctor check --skip dag",
           "COMP_CWORD": "3"}
    done = subprocess.run(["airflow-doctor"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and done.stdout.split() == ["dag-exists"], done.stderr


def test_help_offers_install_and_show_completion() -> None:
    text = CliRunner().invoke(app, ["--help"]).output
    assert "--install-completion" in text and "--show-completion" in text
