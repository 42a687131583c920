"""One errors module: each failure the user can fix carries its own exit code, so the CLI's one handler maps it
without knowing each kind; and reading a profile never imports the sandbox."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from airflow_doctor import errors
from airflow_doctor.cli import app
from airflow_doctor.model import ExitCode
from tests.unit.test_layering import MODULES, import_graph


@pytest.mark.parametrize("error, code", [
    (errors.UsageError, ExitCode.USAGE), (errors.ProfileError, ExitCode.USAGE), (errors.CurlError, ExitCode.USAGE),
    (errors.MissingExtra, ExitCode.USAGE), (errors.UnknownCheck, ExitCode.USAGE),
    (errors.SandboxError, ExitCode.CHECK_FAILED), (errors.StartupFailure, ExitCode.CHECK_FAILED),
    (errors.OptionsError, ExitCode.USAGE), (errors.NotUnderstood, ExitCode.USAGE),
    (errors.ServerUnreachable, ExitCode.CHECK_FAILED), (errors.OutputRefused, ExitCode.INTERNAL),
])
def test_each_error_carries_its_documented_exit_code(error: type[errors.DoctorError], code: ExitCode) -> None:
    assert error.exit_code is code and issubclass(error, errors.DoctorError)


def test_the_old_homes_still_name_the_same_classes() -> None:
    from airflow_doctor import sandbox
    from airflow_doctor.platforms.composer.client import MissingExtra
    from airflow_doctor.report import OutputRefused
    from airflow_doctor.runner import UnknownCheck
    from airflow_doctor.sources.curl import CurlError

    assert (sandbox.SandboxError, sandbox.StartupFailure) == (errors.SandboxError, errors.StartupFailure)
    assert (UnknownCheck, CurlError, MissingExtra) == (errors.UnknownCheck, errors.CurlError, errors.MissingExtra)
    assert OutputRefused.exit_code is ExitCode.INTERNAL and issubclass(UnknownCheck, ValueError)


def test_a_sandbox_error_is_its_first_line_in_json_and_whole_on_stderr() -> None:
    failure = errors.StartupFailure("Airflow did not become ready; the last lines of api-server.log:\nOSError: 98",
                                    "api-server")
    assert failure.sentence == "Airflow did not become ready; the last lines of api-server.log:"
    assert failure.shown.endswith("OSError: 98") and failure.process == "api-server"


def test_a_profile_error_is_one_line_even_when_its_input_held_a_line_break() -> None:
    assert errors.ProfileError("the value a\nb is not known").sentence == "the value a\\nb is not known"


def test_check_with_two_wrong_things_answers_with_one_json_document() -> None:
    result = CliRunner().invoke(app, ["check", "--all", "--profile", "p", "--format", "json"])
    assert result.exit_code == 2 and json.loads(result.stdout)["exit_code"] == 2
    assert "drop --profile and --trigger" in result.stderr


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("airflow_doctor.sources")))
def test_reading_profiles_never_imports_the_sandbox(module: str) -> None:
    assert not {m for m in import_graph()[module] if m.startswith("airflow_doctor.sandbox")}
