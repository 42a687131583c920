"""The typer app: parses arguments, maps errors to exit codes, and hands off. No diagnostic logic here."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Optional

import typer
from typer.core import TyperCommand

from airflow_doctor import __version__
from airflow_doctor import output_modes
from airflow_doctor.completion import complete_check_id, complete_profile
from airflow_doctor.model import ExitCode, Report

if TYPE_CHECKING:
    from airflow_doctor.sources.profile import Profile

EXIT_CODE_MEANINGS = {
    ExitCode.OK: "no check failed",
    ExitCode.CHECK_FAILED: "a check failed (sandbox, demo: the local Airflow could not start)",
    ExitCode.USAGE: "usage or profile error (no check ran, or only reachability: a secret's variable is unset)",
    ExitCode.INTERNAL: "internal error (run again with --debug)",
    ExitCode.INTERRUPTED: "interrupted",
}

EXIT_CODES_HELP = "\b\nExit codes:\n" + "".join(f"  {int(code):<4} {meaning}\n"
                                                  for code, meaning in EXIT_CODE_MEANINGS.items())

EPILOG = """\
\b
Examples:
  airflow-doctor demo                          real Airflow in a local sandbox, checked end to end
  airflow-doctor check --url https://airflow.example.com --user admin --password-env AIRFLOW_PASSWORD --dag etl
                                               no profile needed: the auth type is what the server announces
  airflow-doctor check --from-curl 'curl -u admin:... -X POST https://.../api/v1/dags/etl/dagRuns -d {}'
                                               exactly the request your failing command sends
  airflow-doctor init prod                     asks for the URL, probes it, writes the profile, checks it
  airflow-doctor check --profile prod          a profile from ~/.config/airflow-doctor/profiles.yml
  airflow-doctor check --profile ./af3.yml -v  a single-profile file, with explanations
  airflow-doctor check -p prod --format markdown -o report.md    a report to attach to a ticket

""" + EXIT_CODES_HELP

app = typer.Typer(
    name="airflow-doctor",
    help="Explains why an Airflow DAG triggers from the UI but not from your script.",
    epilog=EPILOG,
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
profiles_app = typer.Typer(help="List, show, add, import, remove and choose profiles; print examples (secrets masked).", no_args_is_help=True,
                           pretty_exceptions_enable=False, rich_markup_mode=None)
sandbox_app = typer.Typer(help="A real local Airflow (installed from PyPI into a cached venv) to try the doctor on.",
                          no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None)
app.add_typer(profiles_app, name="profiles")
app.add_typer(sandbox_app, name="sandbox")


class OutputFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"
    junit = "junit"


class ListFormat(str, Enum):
    text = "text"
    json = "json"


class UsageError(Exception):
    """Bad arguments: one sentence, exit 2."""


def _err(message: str) -> None:
    """A line on stderr, through the redaction policy (secrets the tool registered and those it never saw)."""
    from airflow_doctor.redact import redact_text

    sys.stderr.write(redact_text(f"airflow-doctor: {message}") + "\n")
    sys.stderr.flush()


def _fail(sentence: str, code: ExitCode, json_errors: bool, shown: str | None = None) -> ExitCode:
    """The sentence (or `shown`) on stderr and, for --format json, a JSON document on stdout: consumers always get JSON."""
    from airflow_doctor.redact import redact_text
    from airflow_doctor.report import emit, render_error_json

    _err(shown or f"error: {sentence}")
    if json_errors:
        emit(render_error_json(redact_text(sentence), code), sys.stdout)
    return code


def guarded(debug: bool, action: Callable[[], ExitCode], json_errors: bool = False) -> None:
    """Run a command body; turn every known failure into one sentence and a documented exit code."""
    from airflow_doctor.sources.profile import ProfileError
    from airflow_doctor.redact import one_line
    from airflow_doctor.report import OutputRefused
    from airflow_doctor.runner import UnknownCheck

    try:
        code = action()
    except (ProfileError, UnknownCheck, UsageError) as exc:
        code = _fail(one_line(str(exc)), ExitCode.USAGE, json_errors)
    except OutputRefused as exc:
        code = _fail(one_line(str(exc)), ExitCode.INTERNAL, json_errors)
    except KeyboardInterrupt:
        _err("interrupted.")
        code = ExitCode.INTERRUPTED
    except typer.Exit:
        raise
    except Exception as exc:
        code = _sandbox_failure(exc, json_errors) or _internal_error(exc, debug, json_errors)
    raise typer.Exit(int(code))


def _sandbox_failure(exc: Exception, json_errors: bool) -> ExitCode | None:
    """A local Airflow that could not start is no bug of the doctor: its message names the log to read."""
    from airflow_doctor.sandbox import SandboxError  # imported only on this error path: it is not on the start-up path

    if not isinstance(exc, SandboxError):
        return None
    return _fail(str(exc).splitlines()[0], ExitCode.CHECK_FAILED, json_errors, shown=f"error: {exc}")


def _internal_error(exc: Exception, debug: bool, json_errors: bool) -> ExitCode:
    import traceback

    name = type(exc).__name__
    if debug:
        return _fail(f"internal error ({name}); the trace is on stderr.", ExitCode.INTERNAL, json_errors,
                     shown="internal error:\n" + "".join(traceback.format_exception(exc)))
    sentence = f"internal error ({name}); run again with --debug to see the trace, and please report it."
    return _fail(sentence, ExitCode.INTERNAL, json_errors, shown=sentence)


_CLICK_USAGE_ERROR = typer.BadParameter.__mro__[1]
"""click's UsageError, wherever this typer keeps click (vendored since typer 0.2x)."""


def _asks_for_json(args: list[str]) -> bool:
    pairs = zip(args, [*args[1:], ""])
    return any(a in ("--format=json", "-fjson") or (a in ("--format", "-f") and b == "json") for a, b in pairs)


class _JsonErrorsCommand(TyperCommand):
    """A command whose argument errors are also a JSON document on stdout when --format json was asked for."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        try:
            return super().parse_args(ctx, list(args))
        except _CLICK_USAGE_ERROR as exc:
            if _asks_for_json(list(args)):
                from airflow_doctor.redact import one_line, redact_text
                from airflow_doctor.report import emit, render_error_json

                emit(render_error_json(redact_text(one_line(exc.format_message())), ExitCode.USAGE), sys.stdout)
            raise


def _version_callback(value: bool) -> None:
    if value:
        from airflow_doctor.version import version_text

        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", "-V", help="Print the version and exit.",
                                      callback=_version_callback, is_eager=True)) -> None:
    """Explains why an Airflow DAG triggers from the UI but not from your script."""


# --- check ------------------------------------------------------------------------------------------

@app.command(cls=_JsonErrorsCommand, epilog=EXIT_CODES_HELP)
def check(
    ctx: typer.Context,
    profile: Optional[str] = typer.Option(None, "--profile", "-p", help="Profile name, or path to a single-profile YAML file.", autocompletion=complete_profile),
    profiles_file: Optional[str] = typer.Option(None, "--profiles-file", help="The profiles file (default: $AIRFLOW_DOCTOR_PROFILES, then ~/.config/airflow-doctor/profiles.yml)."),
    only: List[str] = typer.Option([], "--only", help="Run only this check (and what it needs). Repeatable.", autocompletion=complete_check_id),
    skip: List[str] = typer.Option([], "--skip", help="Skip this check. Repeatable.", autocompletion=complete_check_id),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="-v: explanations and details; -vv: also the HTTP evidence."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text, markdown (for tickets), json, or junit (for CI: a testsuite per profile)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file (atomically) instead of stdout."),
    payload: Optional[Path] = typer.Option(None, "--payload", help="A JSON file with the body your script posts (replaces the profile's payload)."),
    conf: Optional[str] = typer.Option(None, "--conf", help="The conf your script sends, as JSON (replaces payload.conf)."),
    trigger: bool = typer.Option(False, "--trigger", help="After the checks, create a real test run and follow it (asks first)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --trigger: do not ask before creating the run."),
    wait: Optional[float] = typer.Option(None, "--wait", min=0, max=3600, help="With --trigger: seconds to follow the run (default 60; 0: do not follow)."),
    cleanup: bool = typer.Option(False, "--cleanup", help="With --trigger: delete the test run afterwards (only that run)."),
    all_profiles: bool = typer.Option(False, "--all", help="Check every profile in the profiles file at once; ends with a profile × check matrix."),
    url: Optional[str] = typer.Option(None, "--url", help="No profile: the Airflow address you open in the browser."),
    user: Optional[str] = typer.Option(None, "--user", help="With --url: the user name."),
    password_env: Optional[str] = typer.Option(None, "--password-env", help="With --url: the environment variable holding the password (asked for on a terminal when missing)."),
    password_file: Optional[Path] = typer.Option(None, "--password-file", help="With --url: a file holding the password."),
    token_env: Optional[str] = typer.Option(None, "--token-env", help="With --url: the environment variable holding an API token."),
    auth: Optional[str] = typer.Option(None, "--auth", help="With --url: basic, jwt, token or none (default: what the server announces)."),
    dag: Optional[str] = typer.Option(None, "--dag", help="With --url: the DAG id to check."),
    from_curl: Optional[str] = typer.Option(None, "--from-curl", help="No profile: check exactly the request this curl command sends (paste it in single quotes)."),
    debug: bool = typer.Option(False, "--debug", help="Show traces of internal errors (secrets masked)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the headline; the exit code says the rest."),
    no_color: bool = typer.Option(False, "--no-color", help="No colour (as NO_COLOR=1 does)."),
) -> None:
    """Run the checks against a profile's Airflow (or --url / --from-curl, no profile needed) and explain the first real cause."""
    json_errors = output_format is OutputFormat.json
    output_modes.without_color(no_color, ctx.call_on_close)
    flags_problem = output_modes.flag_problem(quiet, verbose, output_format, output)
    if flags_problem:
        guarded(debug, lambda: _raise(UsageError(flags_problem)), json_errors)
    verbose = output_modes.verbosity(quiet, verbose)
    server = ServerArgs(url, user, password_env, password_file, token_env, auth, dag, from_curl)
    if server.given:
        guarded(debug, lambda: run_check(profile, profiles_file, only, skip, verbose, output_format, output, debug,
                                         payload, conf, TriggerRequest(trigger, yes, wait, cleanup),
                                         build=lambda: server.profile(profile, profiles_file, all_profiles)),
                json_errors)
    if all_profiles:
        if profile or trigger:
            guarded(debug, lambda: _raise(UsageError("--all checks every profile of the profiles file; drop --profile "
                                                     "and --trigger (test runs are made one profile at a time).")),
                    json_errors)
        guarded(debug, lambda: run_fleet_check(profiles_file, only, skip, output_format, output, payload, conf, debug,
                                               quiet=quiet),
                json_errors)
    guarded(debug, lambda: run_check(profile, profiles_file, only, skip, verbose, output_format, output, debug,
                                     payload, conf, TriggerRequest(trigger, yes, wait, cleanup)), json_errors)


def _raise(error: Exception) -> ExitCode:
    raise error


def run_fleet_check(profiles_file: str | None, only: list[str], skip: list[str], output_format: OutputFormat,
                    output: Path | None, payload: Path | None, conf: str | None, debug: bool,
                    quiet: bool = False) -> ExitCode:
    from airflow_doctor.checks import CHECK_IDS
    from airflow_doctor import fleet
    from airflow_doctor.doctor import diagnose_profile
    from airflow_doctor.sources.profile import ProfileError, load_all, load_profile
    from airflow_doctor.report import (emit, render_fleet_json, render_fleet_markdown, render_fleet_terminal, use_color,
                                       write_atomic)
    from airflow_doctor.runner import Selection

    pf = load_all(profiles_file)
    selection = Selection(tuple(only), tuple(skip))
    selection.validate(CHECK_IDS)
    if output is not None:
        _check_output_path(output)

    def job(name: str):  # type: ignore[no-untyped-def]
        def run() -> "Report | fleet.Partial":
            profile = with_payload(load_profile(pf, name, allow_unset=True), payload, conf)
            missing = profile.missing_secret_sentence()
            if missing is None:
                return diagnose_profile(profile, selection, debug=debug)
            return fleet.Partial(diagnose_profile(profile, Selection(("reachability",), ()), debug=debug), missing)
        return run

    with _FleetDisplay(pf.names, output_format is OutputFormat.text or output is not None) as display:
        report = fleet.run_fleet({name: job(name) for name in pf.names}, (ProfileError,), __version__,
                                 on_done=display.done)
    if output_modes.publish_fleet_special(report, output_format, output, quiet):
        return report.exit_code
    if output_format is OutputFormat.json:
        text = render_fleet_json(report)
    elif output_format is OutputFormat.markdown:
        text = render_fleet_markdown(report)
    else:
        color = use_color(output is not None, sys.stdout, os.environ)
        text = render_fleet_terminal(report, color=color, width=_terminal_width() if output is None else 140)
    if output is not None:
        write_atomic(output, text)
        _err(f"wrote the fleet report to {output}")
    else:
        emit(text, sys.stdout)
    return report.exit_code


class _FleetDisplay:
    """A live table on stderr, one row per profile, while the fleet runs (only on a terminal)."""

    def __init__(self, names: tuple[str, ...], enabled: bool) -> None:
        self.names = names
        self.enabled = enabled and sys.stderr.isatty()
        self.state = {name: "running…" for name in names}
        self._live = None

    def _table(self):  # type: ignore[no-untyped-def]
        from rich.table import Table

        table = Table(show_header=False, box=None)
        for name in self.names:
            table.add_row(name, self.state[name])
        return table

    def __enter__(self) -> "_FleetDisplay":
        if self.enabled:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._table(), console=Console(stderr=True), refresh_per_second=8, transient=True)
            self._live.start()
        return self

    def done(self, entry) -> None:  # type: ignore[no-untyped-def]
        if entry.report is None:
            self.state[entry.name] = "profile error"
        else:
            self.state[entry.name] = {ExitCode.OK: "✓ no failure", ExitCode.CHECK_FAILED: "✗ failed"}.get(entry.exit_code, "?")
        if self._live is not None:
            self._live.update(self._table())

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()


@dataclass(frozen=True)
class ServerArgs:
    """The options that describe a server without a profile file: --url ... or --from-curl."""

    url: str | None = None
    user: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    token_env: str | None = None
    auth: str | None = None
    dag: str | None = None
    from_curl: str | None = None

    @property
    def given(self) -> bool:
        return any(value is not None for value in vars(self).values())

    def profile(self, profile_arg: str | None, profiles_file: str | None, all_profiles: bool):  # type: ignore[no-untyped-def]
        from airflow_doctor.sources.url import ServerOptions, profile_from_options

        if profile_arg or profiles_file or all_profiles:
            raise UsageError("--url and --from-curl describe the server themselves; drop --profile, --profiles-file "
                             "and --all (or drop --url/--from-curl to use a profile).")
        if self.from_curl is not None:
            return self._from_curl()
        if self.url is None:
            raise UsageError("--user, --password-env, --password-file, --token-env, --auth and --dag describe a server "
                             "given with --url; add --url (the address you open in the browser).")
        options = ServerOptions(self.url, self.user, self.password_env, self.password_file, self.token_env,
                                self.auth, self.dag)
        return profile_from_options(options, ask_secret)

    def _from_curl(self):  # type: ignore[no-untyped-def]
        import dataclasses

        from airflow_doctor.sources import curl

        if self.url or self.token_env or self.auth:
            raise UsageError("--from-curl takes the URL and credentials from the command; drop --url, --token-env "
                             "and --auth.")
        imported = curl.to_profile(curl.parse(self.from_curl or ""))
        profile = imported.profile
        if self.dag:
            profile = dataclasses.replace(profile, dag_id=self.dag, sources={**profile.sources, "dag_id": "--dag"})
        if profile.auth.type.value == "basic" and profile.auth.password is None:
            profile = _with_asked_password(profile, self.password_env)
        _err(f"checking the request of: {imported.shown_command}")
        warnings = [w for w in (imported.secret_warning(),) if w]
        for line in warnings:
            _err(f"warning: {line}")
        return dataclasses.replace(profile, warnings=(*warnings, *imported.notes, *profile.warnings))


def ask_secret(prompt: str) -> str | None:
    """A secret typed on the terminal, never echoed; None when there is no terminal to ask on."""
    import getpass

    if not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass(prompt, stream=sys.stderr) or None
    except EOFError:
        return None


def _with_asked_password(profile, variable: str | None):  # type: ignore[no-untyped-def]
    """`curl -u admin` makes curl ask for the password; so does the doctor (or it reads --password-env)."""
    import dataclasses

    from airflow_doctor.sources.profile import UnsetSecret
    from airflow_doctor.secrets import REGISTRY, Secret

    value = os.environ.get(variable) if variable else None
    value = value or ask_secret(f"Password of {profile.auth.username} (hidden, not stored): ")
    if not value:
        if variable:
            return dataclasses.replace(profile, unset=(UnsetSecret("auth.password", variable),))
        raise UsageError(f"the command has -u {profile.auth.username} without a password and there is no terminal "
                         f"to ask on; add --password-env VAR (an environment variable that holds it).")
    REGISTRY.add_basic(profile.auth.username or "", value)
    return dataclasses.replace(profile, auth=dataclasses.replace(profile.auth, password=Secret(value)))


@dataclass(frozen=True)
class TriggerRequest:
    wanted: bool = False
    yes: bool = False
    wait: float | None = None
    cleanup: bool = False


def run_check(profile_arg: str | None, profiles_file: str | None, only: list[str], skip: list[str], verbose: int,
              output_format: OutputFormat, output: Path | None, debug: bool, payload: Path | None = None,
              conf: str | None = None, trigger: TriggerRequest = TriggerRequest(),
              build: Callable[[], Profile] | None = None) -> ExitCode:
    """Check one profile: the one named (or found), or the one `build` makes from command-line options."""
    from airflow_doctor.checks import CHECK_IDS
    from airflow_doctor.doctor import diagnose_profile
    from airflow_doctor.sources.profile import resolve
    from airflow_doctor.runner import Selection

    profile = build() if build is not None else resolve(profile_arg, profiles_file, allow_unset=True)[0]
    profile = with_payload(profile, payload, conf)
    selection = Selection(tuple(only), tuple(skip))
    selection.validate(CHECK_IDS)
    missing = profile.missing_secret_sentence()
    if missing:
        selection = Selection(("reachability",), ())
    if output is not None:
        _check_output_path(output)
    if (trigger.yes or trigger.cleanup or trigger.wait is not None) and not trigger.wanted:
        raise UsageError("--yes, --wait and --cleanup only apply with --trigger; add --trigger to create a test run.")
    if trigger.wanted and not trigger.yes and not _can_ask():
        raise UsageError("--trigger creates a real DAG run and asks first, but there is no terminal to ask on; "
                         "add --yes to confirm in advance.")
    with _progress(output_format is OutputFormat.text or output is not None) as progress:
        options = _trigger_options(trigger, progress) if trigger.wanted else None
        report = diagnose_profile(profile, selection, trigger=options, on_progress=progress.update if progress else None,
                                  debug=debug)
    publish(report, output_format, output, verbose)
    if missing:
        _err(missing)
        return ExitCode.USAGE if report.exit_code is ExitCode.OK else report.exit_code
    return report.exit_code


def _can_ask() -> bool:
    """Whether there is a terminal to ask "Create this run?" on."""
    return sys.stdin.isatty()


def _trigger_options(trigger: TriggerRequest, progress):  # type: ignore[no-untyped-def]
    from airflow_doctor.checks.base import TriggerOptions

    def confirm(plan: str) -> bool:
        if trigger.yes:
            return True
        if progress:
            progress.pause()
        from airflow_doctor.redact import redact_text

        sys.stderr.write(redact_text(f"\nairflow-doctor is about to send:\n{plan}\n"))
        try:
            answer = typer.confirm("Create this run?", default=False, err=True)
        except (typer.Abort, EOFError):
            sys.stderr.write("\n")
            raise KeyboardInterrupt from None
        if progress:
            progress.resume()
        return answer

    def say(text: str) -> None:
        if progress:
            progress.say(text)

    return TriggerOptions(wait=60.0 if trigger.wait is None else trigger.wait, cleanup=trigger.cleanup, confirm=confirm,
                          progress=say)


def with_payload(profile, payload: Path | None, conf: str | None):  # type: ignore[no-untyped-def]
    """The profile with the payload given on the command line, if any."""
    import dataclasses
    import json

    body = profile.payload
    if payload is not None:
        try:
            body = json.loads(payload.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"--payload {payload} cannot be read ({exc.strerror or exc}); check the path.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise UsageError(f"--payload {payload} is not valid JSON ({exc}); fix the file.") from None
        if not isinstance(body, dict):
            raise UsageError(f"--payload {payload} must hold a JSON object (the body your script posts).")
    if conf is not None:
        try:
            parsed = json.loads(conf)
        except ValueError as exc:
            raise UsageError(f"--conf is not valid JSON ({exc}); quote it, e.g. --conf '{{\"x\": 1}}'.") from None
        body = {**(body if isinstance(body, dict) else {}), "conf": parsed}
    sources = dict(profile.sources)
    if body is not profile.payload:
        sources["payload"] = "--payload" if conf is None else "--conf"
    return dataclasses.replace(profile, payload=body, sources=sources)


def _check_output_path(output: Path) -> None:
    directory = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise UsageError(f"-o {output} is a directory; give a file name, e.g. -o {output / 'report.md'}")
    if not directory.is_dir():
        raise UsageError(f"-o {output}: the directory {directory} does not exist; create it or choose another path.")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"-o {output}: the directory {directory} is not writable; choose another path.")


class _progress:
    """A transient spinner on stderr while checks run, only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._status = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        if not self.enabled:
            return None
        from rich.console import Console

        self._status = Console(stderr=True).status("checking…")
        self._status.start()
        return self

    def update(self, check_id: str, title: str, result: object) -> None:
        if result is None and self._status is not None:
            self._status.update(f"checking {check_id}: {title}…")

    def say(self, text: str) -> None:
        if self._status is not None:
            from airflow_doctor.redact import redact_text

            self._status.update(redact_text(text))

    def pause(self) -> None:
        if self._status is not None:
            self._status.stop()

    def resume(self) -> None:
        if self._status is not None:
            self._status.start()

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()


def publish(report: Report, output_format: OutputFormat, output: Path | None, verbose: int) -> None:
    from airflow_doctor.report import emit, render_json, render_markdown, render_terminal, use_color, write_atomic

    if output_modes.publish_special(report, output_format, output, verbose):
        return
    if output_format is OutputFormat.json:
        text = render_json(report)
    elif output_format is OutputFormat.markdown:
        text = render_markdown(report)
    else:
        color = use_color(output is not None, sys.stdout, os.environ)
        width = 100 if output is not None else None
        text = render_terminal(report, verbose, color=color, width=width or _terminal_width())
    if output is not None:
        write_atomic(output, text)
        _err(f"wrote the report to {output}")
    else:
        emit(text, sys.stdout)


def _terminal_width() -> int:
    import shutil

    return max(60, min(shutil.get_terminal_size((100, 24)).columns, 140))


# --- checks, profiles -------------------------------------------------------------------------------

@app.command("checks")
def list_checks() -> None:
    """List the checks in the order they run, and what each needs."""
    from airflow_doctor.checks import CHECKS
    from airflow_doctor.runner import in_dependency_order, producers, upstream

    provided_by = producers(CHECKS)
    width = max(len(c.id) for c in CHECKS)
    for c in in_dependency_order(CHECKS):
        needs = ", ".join(upstream(c, provided_by)) or "nothing before it"
        typer.echo(f"{c.id.ljust(width)}  {c.title}\n{' ' * width}  needs: {c.needs}; runs after: {needs}")


@profiles_app.command("list")
def profiles_list(profiles_file: Optional[str] = typer.Option(None, "--profiles-file", help="The profiles file."),
                  output_format: ListFormat = typer.Option(ListFormat.text, "--format", "-f", help="text or json.")) -> None:
    """List the profiles in the profiles file."""

    def body() -> int:
        from airflow_doctor.sources.profile import load_all

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
        from airflow_doctor.sources.profile import resolve

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
            _err(f"warning: {warning}")
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


# --- init -------------------------------------------------------------------------------------------

@app.command()
def init(name: str = typer.Argument("default", help="The profile's name."),
         profiles_file: Optional[str] = typer.Option(None, "--profiles-file", help="The profiles file to write (default: $AIRFLOW_DOCTOR_PROFILES, then ~/.config/airflow-doctor/profiles.yml)."),
         verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="Verbosity of the first check."),
         ) -> None:
    """Ask for your Airflow's URL, probe it, ask only what it needs, save the profile (references, never secrets), check it."""

    def body() -> int:
        from airflow_doctor.sources.init import ServerUnreachable, run_init

        def ask(question: str, default: str) -> str:
            return typer.prompt(question, default=default, show_default=bool(default))

        try:
            done = run_init(name, profiles_file, ask, typer.echo)
        except ServerUnreachable as problem:
            _err(f"{problem} Nothing was written.")
            return ExitCode.CHECK_FAILED
        except (typer.Abort, EOFError):
            raise KeyboardInterrupt from None
        typer.echo(f"\nChecking: airflow-doctor check --profile {name} --profiles-file {done.saved.path}\n")
        return run_check(name, str(done.saved.path), [], [], verbose, OutputFormat.text, None, False)

    guarded(False, body)


# --- sandbox, demo ----------------------------------------------------------------------------------

AIRFLOW_OPTION = typer.Option(None, "--airflow", help="Airflow release to run; 2 or 3: the newest of that major known to work here (default: 3).")


@sandbox_app.command("up")
def sandbox_up(airflow: Optional[str] = AIRFLOW_OPTION) -> None:
    """Install (first time only) and start a real Airflow on 127.0.0.1; write a profile for it."""

    def body() -> int:
        from airflow_doctor import sandbox

        info = sandbox.up(airflow, progress=sandbox.ConsoleProgress())
        typer.echo(f"Airflow {info.version} is running at {info.url} (pids {', '.join(map(str, info.pids))}).")
        typer.echo(f"Profile: {info.profile_path}")
        typer.echo(f"Password of {sandbox.ADMIN_USER}: generated, kept in {info.password_file} (mode 600)")
        typer.echo("Try:     airflow-doctor check --profile sandbox")
        typer.echo(f"Stop:    airflow-doctor sandbox down --airflow {info.version}")
        return ExitCode.OK

    guarded(False, body)


@sandbox_app.command("down")
def sandbox_down(airflow: Optional[str] = typer.Option(None, "--airflow", help="Stop only this release's sandbox (default: all).")) -> None:
    """Stop sandbox servers (by PID)."""

    def body() -> int:
        from airflow_doctor import sandbox

        stopped = sandbox.down(airflow)
        typer.echo("\n".join(f"stopped Airflow {v}" for v in stopped) if stopped else "no sandbox was running")
        return ExitCode.OK

    guarded(False, body)


@sandbox_app.command("status")
def sandbox_status() -> None:
    """Show which sandboxes are running."""

    def body() -> int:
        from airflow_doctor import sandbox

        states = sandbox.status()
        if not states:
            typer.echo("no sandbox has been started")
        for state in states:
            typer.echo(f"Airflow {state.version}: {'running' if state.running else 'stopped'} at {state.url}"
                       f"  profile {state.profile_path}")
        return ExitCode.OK

    guarded(False, body)


@app.command()
def demo(
    airflow: Optional[str] = AIRFLOW_OPTION,
    keep: bool = typer.Option(False, "--keep", help="Leave the sandbox running afterwards."),
    verbose: int = typer.Option(1, "--verbose", "-v", count=True, help="Verbosity of the report (default -v)."),
) -> None:
    """Start a sandbox Airflow, run `check` against it, show the report, stop the sandbox."""

    def body() -> int:
        from airflow_doctor import sandbox
        from airflow_doctor.sources.profile import resolve
        from airflow_doctor.runner import Selection

        from airflow_doctor.doctor import diagnose_profile

        already_running = sandbox.running(airflow or sandbox.DEFAULT_AIRFLOW)
        info = sandbox.up(airflow, progress=sandbox.ConsoleProgress())
        typer.echo(f"The generated password of {sandbox.ADMIN_USER} is kept in {info.password_file}.")
        try:
            typer.echo(f"\nChecking the sandbox: airflow-doctor check --profile {info.profile_path}\n")
            profile, _ = resolve(str(info.profile_path), None)
            report = diagnose_profile(profile, Selection())
            publish(report, OutputFormat.text, None, verbose)
            typer.echo(f"\nNow the same Airflow {info.version}, called the way a script written for the other major "
                       "version would call it:\n")
            publish(diagnose_profile(_script_from_the_other_version(profile, info.major), Selection()),
                    OutputFormat.text, None, 0)
            return report.exit_code
        finally:
            if already_running is not None:
                typer.echo(f"The sandbox (Airflow {info.version}) was already running before demo; it is left running.")
            elif not keep:
                sandbox.down(info.version)
                typer.echo(f"Stopped the sandbox (Airflow {info.version}); `airflow-doctor sandbox up` starts it again.")

    guarded(False, body)


def _script_from_the_other_version(profile, major: int):  # type: ignore[no-untyped-def]
    """The demo's second profile: Airflow 2 habits against Airflow 3 (Basic auth, no logical_date), or the reverse."""
    import dataclasses

    from airflow_doctor.sources.profile import Auth, AuthType

    conf = profile.payload.get("conf", {}) if isinstance(profile.payload, dict) else {}
    if major >= 3:
        auth = Auth(AuthType.BASIC, profile.auth.username, profile.auth.password)
        payload = {"conf": conf}
    else:
        auth = Auth(AuthType.JWT, profile.auth.username, profile.auth.password)
        payload = {"logical_date": None, "conf": conf}
    return dataclasses.replace(profile, name=f"{profile.name} (as a script for Airflow {2 if major >= 3 else 3})",
                               auth=auth, payload=payload)


@app.command(epilog=EXIT_CODES_HELP)
def explain(
    pasted: str = typer.Argument(..., help="An HTTP answer (status line, headers, body), a requests traceback or an "
                                           "Airflow error page; '-' reads it from stdin."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text, markdown or json."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="-v adds the details."),
) -> None:
    """Explain a failing answer offline, the way `check` would, and say what to run to confirm it."""
    from airflow_doctor.explain import NotUnderstood, explain as explain_pasted, read_pasted

    def body() -> ExitCode:
        try:
            report = explain_pasted(read_pasted(pasted, sys.stdin))
        except NotUnderstood as exc:
            raise UsageError(str(exc)) from None
        publish(report, output_format, None, verbose)
        return report.exit_code

    guarded(False, body, json_errors=output_format is OutputFormat.json)


def run() -> None:
    app()


# --- profiles housekeeping (issue 19) ----------------------------------------------------------------

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
        _err(line)
    return ExitCode.OK
