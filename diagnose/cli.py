"""The typer app: parses arguments and hands off to sources (the profile), doctor (the run), output (the report) and
sandbox; `guarded` is the one error handler, mapping each DoctorError to its exit code. No diagnostic logic here."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Optional

import typer
from typer.core import TyperCommand

from airflow_doctor import __version__
from airflow_doctor.cli_profiles import profiles_app, resolve
from airflow_doctor.errors import UsageError
from airflow_doctor.guard import guarded
from airflow_doctor import output_modes
from airflow_doctor.completion import complete_check_id, complete_profile
from airflow_doctor.model import ExitCode, Report
from airflow_doctor.output import OutputFormat, Spinner, check_output_path, publish, say_on_stderr

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
sandbox_app = typer.Typer(help="A real local Airflow (installed from PyPI into a cached venv) to try the doctor on.",
                          no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None)
app.add_typer(profiles_app, name="profiles")
app.add_typer(sandbox_app, name="sandbox")


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
    origin: Optional[str] = typer.Option(None, "--origin", help="With --url: the origin (scheme://host[:port]) of a web page that triggers from a browser (CORS)."),
    from_curl: Optional[str] = typer.Option(None, "--from-curl", help="No profile: check exactly the request this curl command sends (paste it in single quotes)."),
    header: List[str] = typer.Option([], "--header", "-H", help="With --url: an extra header on every request, 'Name: value' (value may be ${VAR}; masked everywhere). Repeatable."),
    cacert: Optional[str] = typer.Option(None, "--cacert", help="With --url: verify the server against this CA bundle (PEM), as curl --cacert."),
    ca_native: bool = typer.Option(False, "--ca-native", help="With --url: verify against the operating system's trust store, as a browser does (curl --ca-native)."),
    insecure: bool = typer.Option(False, "--insecure", "-k", help="With --url: do not verify the server's certificate (the report says what that hides)."),
    client_cert: Optional[str] = typer.Option(None, "--client-cert", help="With --url: the client certificate (PEM) for mutual TLS."),
    client_key: Optional[str] = typer.Option(None, "--client-key", help="With --url: the client certificate's key (PEM)."),
    proxy: Optional[str] = typer.Option(None, "--proxy", help="With --url: the proxy URL, or none for no proxy (default: HTTP(S)_PROXY)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="With --url: seconds to wait to connect and for each answer (as requests' timeout=)."),
    debug: bool = typer.Option(False, "--debug", help="Show traces of internal errors (secrets masked)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the headline; the exit code says the rest."),
    no_color: bool = typer.Option(False, "--no-color", help="No colour (as NO_COLOR=1 does)."),
) -> None:
    """Run the checks against a profile's Airflow (or --url / --from-curl, no profile needed) and explain the first real cause."""
    from airflow_doctor.sources.url import NetworkFlags, ServerArgs

    flags = NetworkFlags(tuple(header) or None, cacert, ca_native or None, insecure or None, client_cert, client_key,
                         proxy, timeout)
    server = ServerArgs(url, user, password_env, password_file, token_env, auth, dag, from_curl, flags, origin=origin)

    output_modes.without_color(no_color, ctx.call_on_close)

    def body() -> ExitCode:
        if problem := output_modes.flag_problem(quiet, verbose, output_format, output):
            raise UsageError(problem)
        request = TriggerRequest(trigger, yes, wait, cleanup)
        shown = output_modes.verbosity(quiet, verbose)
        if server.given:
            return run_check(profile, profiles_file, only, skip, shown, output_format, output, debug, payload, conf,
                             request, build=lambda: server.profile(profile, profiles_file, all_profiles, say=say_on_stderr))
        if all_profiles and (profile or trigger):
            raise UsageError("--all checks every profile of the profiles file; drop --profile and --trigger (test "
                             "runs are made one profile at a time).")
        if all_profiles:
            return run_fleet_check(profiles_file, only, skip, output_format, output, payload, conf, debug, quiet=quiet)
        return run_check(profile, profiles_file, only, skip, shown, output_format, output, debug, payload, conf,
                         request)

    guarded(debug, body, json_errors=output_format is OutputFormat.json)


def run_fleet_check(profiles_file: str | None, only: list[str], skip: list[str], output_format: OutputFormat,
                    output: Path | None, payload: Path | None, conf: str | None, debug: bool,
                    quiet: bool = False) -> ExitCode:
    """`check --all`: every profile of the profiles file at once; a profile that cannot be loaded is its row's error."""
    from airflow_doctor import fleet
    from airflow_doctor.checks import CHECK_IDS
    from airflow_doctor.doctor import diagnose_profile
    from airflow_doctor.errors import MissingExtra, ProfileError
    from airflow_doctor.output import publish_fleet
    from airflow_doctor.runner import Selection
    from airflow_doctor.sources.payload import with_payload
    from airflow_doctor.sources.profiles_file import load_all, load_profile

    pf = load_all(profiles_file)
    selection = Selection(tuple(only), tuple(skip))
    selection.validate(CHECK_IDS)
    if output is not None:
        check_output_path(output)

    def job(name: str):  # type: ignore[no-untyped-def]
        def run() -> "Report | fleet.Partial":
            profile = with_payload(load_profile(pf, name, allow_unset=True), payload, conf)
            missing = profile.missing_secret_sentence()
            if missing is None:
                return diagnose_profile(profile, selection, debug=debug)
            return fleet.Partial(diagnose_profile(profile, Selection(("reachability",), ()), debug=debug), missing)
        return run

    with fleet.LiveTable(pf.names, output_format is OutputFormat.text or output is not None) as display:
        report = fleet.run_fleet({name: job(name) for name in pf.names}, (ProfileError, MissingExtra), __version__,
                                 on_done=display.done)
    publish_fleet(report, output_format, output, quiet)
    return report.exit_code


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
    from airflow_doctor.runner import Selection
    from airflow_doctor.sources.payload import with_payload

    profile = build() if build is not None else resolve(profile_arg, profiles_file, allow_unset=True)[0]
    profile = with_payload(profile, payload, conf)
    selection = Selection(tuple(only), tuple(skip))
    selection.validate(CHECK_IDS)
    missing = profile.missing_secret_sentence()
    if missing:
        selection = Selection(("reachability",), ())
    if output is not None:
        check_output_path(output)
    if (trigger.yes or trigger.cleanup or trigger.wait is not None) and not trigger.wanted:
        raise UsageError("--yes, --wait and --cleanup only apply with --trigger; add --trigger to create a test run.")
    if trigger.wanted and not trigger.yes and not _can_ask():
        raise UsageError("--trigger creates a real DAG run and asks first, but there is no terminal to ask on; "
                         "add --yes to confirm in advance.")
    with Spinner(output_format is OutputFormat.text or output is not None) as progress:
        options = _trigger_options(trigger, progress) if trigger.wanted else None
        report = diagnose_profile(profile, selection, trigger=options, on_progress=progress.update if progress else None,
                                  debug=debug)
    publish(report, output_format, output, verbose)
    if missing:
        say_on_stderr(missing)
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
            say_on_stderr(f"{problem} Nothing was written.")
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
        from airflow_doctor.doctor import diagnose_profile
        from airflow_doctor.runner import Selection

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
    from airflow_doctor.explain import explain as explain_pasted, read_pasted

    def body() -> ExitCode:
        report = explain_pasted(read_pasted(pasted, sys.stdin))
        publish(report, output_format, None, verbose)
        return report.exit_code

    guarded(False, body, json_errors=output_format is OutputFormat.json)


def run() -> None:
    app()
