"""`--version` for support tickets (issue 19): tool, where it runs from, Python, platform and the extras installed."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from airflow_doctor import __version__
from airflow_doctor import version as version_module
from airflow_doctor.cli import app


def test_version_names_python_platform_and_each_extra_with_its_version() -> None:
    text = version_module.version_text()
    assert text.startswith(f"airflow-doctor {__version__} from ")
    assert f"Python {platform.python_version()}" in text and platform.system() in text and platform.machine() in text
    assert f"[aws] boto3 {version('boto3')}" in text and f"[gcp] google-auth {version('google-auth')}" in text
    assert "\n" not in text


def test_an_extra_that_is_not_installed_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(version_module, "installed_version", lambda name: None if name == "boto3" else "2.0")
    assert version_module.extras_text() == "[aws] not installed, [gcp] google-auth 2.0"


def test_a_distribution_that_does_not_exist_is_none() -> None:
    assert version_module.installed_version("airflow-doctor-no-such-distribution") is None


def test_the_typer_path_prints_the_same_line() -> None:
    """`--version` reached through typer (e.g. after other words) says the same as the fast path."""
    assert CliRunner().invoke(app, ["--version"]).stdout.strip() == version_module.version_text()


def test_the_cold_path_imports_neither_the_extras_nor_the_cli_stack() -> None:
    probe = ("import sys; sys.argv = ['airflow-doctor', '--version']\n"
             "from airflow_doctor.__main__ import main; main()\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'google', 'typer', "
             "'rich', 'requests', 'yaml', 'click'}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    first, modules = result.stdout.splitlines()
    assert "[aws] boto3" in first and modules == "[]", result.stderr
