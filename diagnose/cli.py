"""The typer app: parses arguments, maps errors to exit codes, and hands off. No diagnostic logic here."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Callable, List, Optional

import typer
from typer.core import TyperCommand

from airflow_doctor import __version__
from airflow_doctor.model import ExitCode, Report

EXIT_CODE_MEANINGS = {
    ExitCode.OK: "no check failed",
    ExitCode.CHECK_FAILED: "a check failed",
    ExitCode.USAGE: "usage or profile error (no check ran)",
    ExitCode.INTERNAL: "internal error (run again with --debug)",
    ExitCode.INTERRUPTED: "interrupted",
}

EXIT_CODES_HELP = "\b\nExit codes:\n" + "".join(f"  {int(code):<4} {meaning}\n"
                                                  for code, meaning in EXIT_CODE_MEANINGS.items())

EPILOG = """\
\b
Examples:
  airflow-doctor demo                          real Airflow in a local sandbox, checked end to end
  airflow-doctor check --profile prod          a profile from ~/.config/airflow-doctor/profiles.yml
  airflow-doctor check --profile ./af3.yml -v  a single-profile file, with explanations
  airflow-doctor check -p prod --format markdown -o report.md    a report to attach to a ticket

""" + EXIT_CODES_HELP

app = typer.Typer(
    name="airflow-doctor",
    help="Explains why an Airflow DAG triggers from the UI but not from your script.",
    epilog=EPILOG,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
profiles_app = typer.Typer(help="List and show profiles (secrets masked).", no_args_is_help=True,
                           pretty_exceptions_enable=False, rich_markup_mode=None)
sandbox_app = typer.Typer(help="A real local Airflow (installed from PyPI into a cached venv) to try the doctor on.",
                          no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None)
app.add_typer(profiles_app, name="profiles")
app.add_typer(sandbox_app, name="sandbox")


class OutputFormat(str, Enum):
    text = "text"
    markdown = "markdown"
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
    from airflow_doctor.profiles import ProfileError
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
        code = _internal_error(exc, debug, json_errors)
    raise typer.Exit(int(code))


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
        typer.echo(f"airflow-doctor {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", "-V", help="Print the version and exit.",
                                      callback=_version_callback, is_eager=True)) -> None:
    """Explains why an Airflow DAG triggers from the UI but not from your script."""


# --- check ------------------------------------------------------------------------------------------

@app.command(cls=_JsonErrorsCommand, epilog=EXIT_CODES_HELP)
def check(
    profile: Optional[str] = typer.Option(None, "--profile", "-p", help="Profile name, or path to a single-profile YAML file."),
    profiles_file: Optional[str] = typer.Option(None, "--profiles-file", help="The profiles file (default: $AIRFLOW_DOCTOR_PROFILES, then ~/.config/airflow-doctor/profiles.yml)."),
    only: List[str] = typer.Option([], "--only", help="Run only this check (and what it needs). Repeatable."),
    skip: List[str] = typer.Option([], "--skip", help="Skip this check. Repeatable."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="-v: explanations and details; -vv: also the HTTP evidence."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text, markdown (for tickets) or json."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file (atomically) instead of stdout."),
    payload: Optional[Path] = typer.Option(None, "--payload", help="A JSON file with the body your script posts (replaces the profile's payload)."),
    conf: Optional[str] = typer.Option(None, "--conf", help="The conf your script sends, as JSON (replaces payload.conf)."),
    trigger: bool = typer.Option(False, "--trigger", help="After the checks, create a real test run and follow it (asks first)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --trigger: do not ask before creating the run."),
    wait: Optional[float] = typer.Option(None, "--wait", min=0, max=3600, help="With --trigger: seconds to follow the run (default 60; 0: do not follow)."),
    cleanup: bool = typer.Option(False, "--cleanup", help="With --trigger: delete the test run afterwards (only that run)."),
    all_profiles: bool = typer.Option(False, "--all", help="Check every profile in the profiles file at once; ends with a profile × check matrix."),
    debug: bool = typer.Option(False, "--debug", help="Show traces of internal errors (secrets masked)."),
) -> None:
    """Run the checks against a profile's Airflow and explain the first real cause."""
    json_errors = output_format is OutputFormat.json
    if all_profiles:
        if profile or trigger:
            guarded(debug, lambda: _raise(UsageError("--all checks every profile of the profiles file; drop --profile "
                                                     "and --trigger (test runs are made one profile at a time).")),
                    json_errors)
        guarded(debug, lambda: run_fleet_check(profiles_file, only, skip, output_format, output, payload, conf, debug),
                json_errors)
    guarded(debug, lambda: run_check(profile, profiles_file, only, skip, verbose, output_format, output, debug,
                                     payload, conf, TriggerRequest(trigger, yes, wait, cleanup)), json_errors)


def _raise(error: Exception) -> ExitCode:
    raise error


def run_fleet_check(profiles_file: str | None, only: list[str], skip: list[str], output_format: OutputFormat,
                    output: Path | None, payload: Path | None, conf: str | None, debug: bool) -> ExitCode:
    from airflow_doctor.checks import CHECK_IDS
    from airflow_doctor import fleet
    from airflow_doctor.doctor import diagnose_profile
    from airflow_doctor.profiles import ProfileError, load_all, load_profile
    from airflow_doctor.report import (emit, render_fleet_json, render_fleet_markdown, render_fleet_terminal, use_color,
                                       write_atomic)
    from airflow_doctor.runner import Selection

    pf = load_all(profiles_file)
    selection = Selection(tuple(only), tuple(skip))
    selection.validate(CHECK_IDS)
    if output is not None:
        _check_output_path(output)

    def job(name: str):  # type: ignore[no-untyped-def]
        return lambda: diagnose_profile(with_payload(load_profile(pf, name), payload, conf), selection, debug=debug)

    with _FleetDisplay(pf.names, output_format is OutputFormat.text or output is not None) as display:
        report = fleet.run_fleet({name: job(name) for name in pf.names}, (ProfileError,), __version__,
                                 on_done=display.done)
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
class TriggerRequest:
    wanted: bool = False
    yes: bool = False
    wait: float | None = None
    cleanup: bool = False


def run_check(profile_arg: str | None, profiles_file: str | None, only: list[str], skip: list[str], verbose: int,
              output_format: OutputFormat, output: Path | None, debug: bool, payload: Path | None = None,
              conf: str | None = None, trigger: TriggerRequest = TriggerRequest()) -> ExitCode:
    from airflow_doctor.checks import CHECK_IDS
    from airflow_doctor.doctor import diagnose_profile
    from airflow_doctor.profiles import resolve
    from airflow_doctor.runner import Selection

    profile, chosen = resolve(profile_arg, profiles_file)
    profile = with_payload(profile, payload, conf)
    selection = Selection(tuple(only), tuple(skip))
    selection.validate(CHECK_IDS)
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
        body = {**(body or {}), "conf": parsed}
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
def profiles_list(profiles_file: Optional[str] = typer.Option(None, "--profiles-file", help="The profiles file.")) -> None:
    """List the profiles in the profiles file."""

    def body() -> int:
        from airflow_doctor.profiles import load_all

        pf = load_all(profiles_file)
        typer.echo(f"{pf.path} (chosen by {pf.chosen_by})")
        for name in pf.names:
            typer.echo(f"  {name}{'  (default)' if name == pf.default_profile else ''}")
        return ExitCode.OK

    guarded(False, body)


@profiles_app.command("show")
def profiles_show(name: str = typer.Argument(..., help="Profile name, or path to a single-profile file."),
                  profiles_file: Optional[str] = typer.Option(None, "--profiles-file", help="The profiles file.")) -> None:
    """Show every field of a profile, where its value came from, with secrets masked."""

    def body() -> int:
        from airflow_doctor.profiles import resolve

        profile, chosen = resolve(name, profiles_file)
        rows = profile.shown_fields()
        width = max(len(r[0]) for r in rows)
        lines = [f"profile {profile.name} ({chosen})"]
        lines += [f"  {key.ljust(width)}  {value}    [{source}]" for key, value, source in rows]
        lines += [f"  warning: {w}" for w in profile.warnings]
        from airflow_doctor.report import emit

        emit("\n".join(lines) + "\n", sys.stdout)
        return ExitCode.OK

    guarded(False, body)


# --- sandbox, demo ----------------------------------------------------------------------------------

AIRFLOW_OPTION = typer.Option(None, "--airflow", help="Airflow release to run (default: the newest Airflow 3 known to work here).")


@sandbox_app.command("up")
def sandbox_up(airflow: Optional[str] = AIRFLOW_OPTION) -> None:
    """Install (first time only) and start a real Airflow on 127.0.0.1; write a profile for it."""

    def body() -> int:
        from airflow_doctor import sandbox

        info = sandbox.up(airflow, progress=sandbox.ConsoleProgress())
        typer.echo(f"Airflow {info.version} is running at {info.url} (pids {', '.join(map(str, info.pids))}).")
        typer.echo(f"Profile: {info.profile_path}")
        typer.echo(f"Try:     airflow-doctor check --profile {info.profile_path}")
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
        from airflow_doctor.profiles import resolve
        from airflow_doctor.runner import Selection

        from airflow_doctor.doctor import diagnose_profile

        info = sandbox.up(airflow, progress=sandbox.ConsoleProgress())
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
            if not keep:
                sandbox.down(info.version)
                typer.echo(f"Stopped the sandbox (Airflow {info.version}); `airflow-doctor sandbox up` starts it again.")

    guarded(False, body)


def _script_from_the_other_version(profile, major: int):  # type: ignore[no-untyped-def]
    """The demo's second profile: Airflow 2 habits against Airflow 3 (Basic auth, no logical_date), or the reverse."""
    import dataclasses

    from airflow_doctor.profiles import Auth, AuthType

    conf = (profile.payload or {}).get("conf", {})
    if major >= 3:
        auth = Auth(AuthType.BASIC, profile.auth.username, profile.auth.password)
        payload = {"conf": conf}
    else:
        auth = Auth(AuthType.JWT, profile.auth.username, profile.auth.password)
        payload = {"logical_date": None, "conf": conf}
    return dataclasses.replace(profile, name=f"{profile.name} (as a script for Airflow {2 if major >= 3 else 3})",
                               auth=auth, payload=payload)


def run() -> None:
    app()
