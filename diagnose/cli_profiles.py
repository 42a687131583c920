"""`airflow-doctor profiles ...`: list, show, add, example, remove, use, import. Wiring only: the work is in
sources/ (reading, the store, housekeeping, imports from other tools)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional

import typer

from airflow_doctor.completion import complete_profile
from airflow_doctor.errors import UsageError
from airflow_doctor.guard import guarded
from airflow_doctor.model import ExitCode
from airflow_doctor.output import ListFormat, say_on_stderr
from airflow_doctor.secrets import REGISTRY, SecretRegistry

if TYPE_CHECKING:
    from airflow_doctor.sources.profile import Profile

profiles_app = typer.Typer(help="List, show, add, import, remove and choose profiles; print examples (secrets masked).", no_args_is_help=True,
                           pretty_exceptions_enable=False, rich_markup_mode=None)

def resolve(profile_arg: str | None, profiles_file: str | None, env: Mapping[str, str] = os.environ,
            registry: SecretRegistry = REGISTRY, allow_unset: bool = False) -> tuple[Profile, str]:
    """The profile a command asked for and how it was chosen; `--profile sandbox` is the running sandbox's, unless
    the profiles file has a profile of that name (the CLI asks the sandbox: reading profiles never imports it)."""
    from airflow_doctor.sources import profiles_file as profiles

    if profiles.names_the_sandbox(profile_arg, profiles_file, env):
        from airflow_doctor import sandbox

        running = [state for state in sandbox.status(env) if state.running]
        return profiles.sandbox_profile(running, env, registry)
    return profiles.resolve(profile_arg, profiles_file, env, registry, allow_unset)


@profiles_app.command("list")
def profiles_list(profiles_file: Optional[str] = typer.Option(None, "--profiles-file", help="The profiles file."),
                  output_format: ListFormat = typer.Option(ListFormat.text, "--format", "-f", help="text or json.")) -> None:
    """List the profiles in the profiles file."""

    def body() -> int:
        from airflow_doctor.sources.profiles_file import load_all

        if output_format is ListFormat.json:
            from airflow_doctor.sources.store import profiles_listing

            typer.echo(profiles_listing(profiles_file), nl=False)
            return ExitCode.OK
        pf = load_all(profiles_file)
        typer.echo(f"{pf.path} (chosen by {pf.chosen_by})")
        for name in pf.names:
            typer.echo(f"  {name}{'  (default)' if name == pf.default_profile else ''}")
        return ExitCode.OK

    guarded(False, body)


@profiles_app.command("show")
def profiles_show(name: Optional[str] = typer.Argument(None, help="Profile name, or path to a single-profile file (default: the one `check` would use).", autocompletion=complete_profile),
                  profiles_file: Optional[str] = typer.Option(None, "--profiles-file", help="The profiles file.")) -> None:
    """Show every field of a profile, where its value came from, with secrets masked; an unset ${VAR} shows as unset."""

    def body() -> int:
        profile, chosen = resolve(name, profiles_file, allow_unset=True)
        rows = profile.shown_fields()
        width = max(len(r[0]) for r in rows)
        lines = [f"profile {profile.name} ({chosen})"]
        lines += [f"  {key.ljust(width)}  {value}    [{source}]" for key, value, source in rows]
        lines += [f"  warning: {w}" for w in profile.warnings]
        from airflow_doctor.report import emit

        emit("\n".join(lines) + "\n", sys.stdout)
        return ExitCode.OK

    guarded(False, body)


@profiles_app.command("add")
def profiles_add(name: str = typer.Argument(..., help="The name to save the profile under."),
                 from_curl: str = typer.Option(..., "--from-curl", help="The curl command whose request the profile describes."),
                 profiles_file: Optional[str] = typer.Option(None, "--profiles-file", help="The profiles file.")) -> None:
    """Save the request of a curl command as a profile; its secrets become ${VAR} references, never values."""

    def body() -> int:
        from airflow_doctor.sources import curl
        from airflow_doctor.sources.store import save_profile

        command = curl.parse(from_curl)
        imported = curl.to_profile(command, name)
        saved = save_profile(name, curl.profile_yaml(imported, command), profiles_file)
        warning = imported.secret_warning()
        if warning:
            say_on_stderr(f"warning: {warning}")
        typer.echo(f"{'Updated' if saved.replaced else 'Saved'} profile '{name}' in {saved.path} "
                   f"(secrets as environment variable references).")
        typer.echo(f"Try:   airflow-doctor check --profile {name}" + (f" --profiles-file {profiles_file}" if profiles_file else ""))
        return ExitCode.OK

    guarded(False, body)


EXAMPLES = {"basic": "airflow2-basic.yml", "jwt": "airflow3-jwt.yml", "token": "astronomer-token.yml",
            "sandbox": "sandbox.yml", "aws": "aws-mwaa.yml"}


@profiles_app.command("example")
def profiles_example(kind: str = typer.Argument("basic", help="basic, jwt, token, aws or sandbox (google is not built yet).")) -> None:
    """Print a sample profile (shipped with the package): redirect it to a file and edit it."""

    def body() -> int:
        from importlib.resources import files

        if kind == "google":
            raise UsageError(f"there is no {kind} example yet: signing in through "
                             f"{'AWS IAM (MWAA)' if kind == 'aws' else 'Google (Cloud Composer)'} is not supported yet; "
                             f"for Composer, the token example works with an access token.")
        if kind not in EXAMPLES:
            raise UsageError(f"there is no example '{kind}'; choose one of {', '.join(EXAMPLES)}.")
        typer.echo(files("airflow_doctor.sample_profiles").joinpath(EXAMPLES[kind]).read_text(encoding="utf-8"), nl=False)
        return ExitCode.OK

    guarded(False, body)


PROFILES_FILE_OPTION = typer.Option(None, "--profiles-file", help="The profiles file.")


@profiles_app.command("remove")
def profiles_remove(name: str = typer.Argument(..., help="The profile to remove.", autocompletion=complete_profile),
                    profiles_file: Optional[str] = PROFILES_FILE_OPTION) -> None:
    """Remove a profile from the profiles file (atomically; a commented file is kept as <file>.bak first)."""
    from airflow_doctor.sources import housekeeping

    guarded(False, lambda: _said(housekeeping.remove(name, profiles_file)))


@profiles_app.command("use")
def profiles_use(name: str = typer.Argument(..., help="The profile `check` uses when none is named.",
                                            autocompletion=complete_profile),
                 profiles_file: Optional[str] = PROFILES_FILE_OPTION) -> None:
    """Make a profile the default (default_profile in the profiles file; its comments are kept)."""
    from airflow_doctor.sources import housekeeping

    guarded(False, lambda: _said(housekeeping.use(name, profiles_file)))


@profiles_app.command("import")
def profiles_import(
    source: str = typer.Argument(..., help="airflowctl (an environment it logged in to) or astro (a deployment)."),
    name: Optional[str] = typer.Option(None, "--name", help="Save under this name (default: the environment's or deployment's)."),
    env_name: Optional[str] = typer.Option(None, "--env", help="airflowctl: the environment (default: $AIRFLOW_CLI_ENVIRONMENT, then production)."),
    inspect_file: Optional[Path] = typer.Option(None, "--inspect", help="astro: the output of `astro deployment inspect <id> -o yaml`."),
    profiles_file: Optional[str] = PROFILES_FILE_OPTION,
) -> None:
    """Save another tool's Airflow as a profile, read-only: its URL, and its token as a ${VAR} reference (never copied)."""
    from airflow_doctor.sources import housekeeping

    guarded(False, lambda: _said(housekeeping.import_from(source, name, env_name, inspect_file, profiles_file)))


def _said(said) -> ExitCode:  # type: ignore[no-untyped-def]
    for line in said.out:
        typer.echo(line)
    for line in said.err:
        say_on_stderr(line)
    return ExitCode.OK
