"""Secrets the doctor never registered: a server's own words carry credentials, and no output may repeat them.

A local server answers like Airflow 2.10.5 or 3.3.2 (recorded real answers, served over a real socket) and
puts credentials the profile never held where real servers do: an import error's traceback, a redirect's
Location, a JSON error body and a list body past 4 KB, a failed task's log. Every output of `check` is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.conftest import recorded, write_profile
from tests.servers import LocalServer, Reply

CANARIES = {
    "postgres URL in a traceback": "leak-canary-pg-51c7",
    "api_key in a traceback": "leak-canary-apikey-82d0",
    "client_secret in a Location": "leak-canary-client-secret-3e9a",
    "password key of an error body over 4 KB": "leak-canary-error-body-7b21",
    "password key past 4 KB in a list body": "leak-canary-list-body-c4f8",
    "connection URL in an Airflow 3 log event": "leak-canary-log-event-19ab",
    "token in an Airflow 3 log error": "leak-canary-log-error-5f60",
    "api_key in an Airflow 2 text log": "leak-canary-log-text-6d2e",
    "AWS key in an Airflow 2 text log": "LEAKCANARY7Q3X9Z",
    "Authorization line in a log": "leak-canary-log-bearer-0c3d9e",
}
DAG = "orders_etl"
FILELOC = f"/opt/airflow/dags/{DAG}.py"
TRACE = (
    "Traceback (most recent call last):\n"
    f'  File "{FILELOC}", line 9, in <module>\n'
    f"    engine = create_engine('postgresql://etl:{CANARIES['postgres URL in a traceback']}@db/orders')\n"
    '  File "/home/airflow/.local/lib/python3.12/site-packages/orders/client.py", line 41, in connect\n'
    f'    api_key = "{CANARIES["api_key in a traceback"]}"\n'
    f"ConnectionError: postgresql://etl:{CANARIES['postgres URL in a traceback']}@db/orders refused "
    f"api_key = \"{CANARIES['api_key in a traceback']}\"\n")
PADDING = "x" * 4500
"""Grows a body past the 4 KB it was once cut at before it was parsed (so its keys were never masked)."""


class FakeAirflow:
    """Airflow 2.10.5 or 3.3.2 as recorded, under /<scenario>/ prefixes, with a server's leaks added.

    Scenarios: `import-error` (the DAG's file fails to import), `trigger` (the DAG is fine; a --trigger run
    fails and its log leaks), `redirect` (an SSO proxy redirects with a client secret in the Location).
    """

    def __init__(self, major: int) -> None:
        self.major = major
        self.label = "airflow-3.3.2" if major >= 3 else "airflow-2.10.5"
        self.api = "/api/v2" if major >= 3 else "/api/v1"
        self.unanswered: list[str] = []

    def __call__(self, handler) -> Reply:  # type: ignore[no-untyped-def]
        _, scenario, rest = handler.path.split("/", 2)
        path, _, _ = ("/" + rest).partition("?")
        reply = self.answer(handler.command, scenario, path, handler.request_body)
        if reply is None:
            self.unanswered.append(f"{handler.command} {handler.path}")
            return _json(404, {"detail": "Not Found"})
        return reply

    def answer(self, method: str, scenario: str, path: str, body: bytes) -> Reply | None:
        if scenario == "redirect" and path.endswith("/version"):
            return Reply(302, {"Location": "https://login.microsoftonline.com/tenant/oauth2/v2.0/authorize?client_id="
                                           f"airflow&client_secret={CANARIES['client_secret in a Location']}&state=1"})
        if path in ("/api/v2/version", "/api/v1/version", "/api/v1/health", "/api/v2/monitor/health"):
            name = {"/api/v1/health": "health", "/api/v2/monitor/health": "health"}.get(path)
            return self.recorded(name or ("v2_version" if path.startswith("/api/v2") else "v1_version"))
        if method == "POST" and path == "/auth/token":
            return self.recorded("token_admin")
        if path == f"{self.api}/dags":
            return self.recorded("dags_bearer" if self.major >= 3 else "dags_basic_admin")
        if path.startswith(f"{self.api}/dags/"):
            return self.dag_answer(method, scenario, path[len(f"{self.api}/dags/"):], body)
        if path == f"{self.api}/importErrors":
            return self.import_errors()
        return None

    def dag_answer(self, method: str, scenario: str, rest: str, body: bytes) -> Reply | None:
        dag_id, _, sub = rest.partition("/")
        if sub == "details":
            return self.details(dag_id, broken=scenario == "import-error")
        if sub == "dagRuns" and method == "POST":
            sent = json.loads(body)
            return self.trigger(sent) if "dag_run_id" in sent else self.permission_probe()
        if sub == "dagRuns":
            return _json(200, {"dag_runs": [], "total_entries": 0})
        run_id = sub.split("/")[1]
        if sub.endswith("/taskInstances"):
            return _json(200, {"task_instances": [{"task_id": "load_orders", "state": "failed", "try_number": 1,
                                                   "end_date": "2026-01-01T00:00:02+00:00"}], "total_entries": 1})
        if "/logs/" in sub:
            return self.task_log()
        return _json(200, {"dag_run_id": run_id, "dag_id": dag_id, "state": "failed", "logical_date": None})

    def recorded(self, name: str) -> Reply:
        data = recorded(self.label, name)
        return Reply(data["status"], dict(data["headers"]), data["body"].encode())

    def details(self, dag_id: str, broken: bool) -> Reply:
        data = recorded(self.label, "details_broken" if broken else "details_demo")
        body = {**json.loads(data["body"]), "dag_id": dag_id, "dag_display_name": dag_id,
                "fileloc": f"/opt/airflow/dags/{dag_id}.py",
                "relative_fileloc": f"{dag_id}.py", "is_paused": False}
        return _json(200, body)

    def import_errors(self) -> Reply:
        """A list body: other files' errors first, so the leaking entry and its password key sit past 4 KB."""
        others = [{"import_error_id": i, "filename": f"/opt/airflow/dags/other_{i}.py", "timestamp": "2026-01-01",
                   "stack_trace": "Traceback (most recent call last):\nModuleNotFoundError: No module named 'x'\n"}
                  for i in range(40)]
        leaking = {"import_error_id": 99, "filename": FILELOC, "timestamp": "2026-01-01", "stack_trace": TRACE,
                   "password": CANARIES["password key past 4 KB in a list body"]}
        return _json(200, {"import_errors": [*others, leaking], "total_entries": 41})

    def permission_probe(self) -> Reply:
        """The recorded answer that proves authorization passed, grown past 4 KB, with a password key up front."""
        data = recorded(self.label, "probe_admin")
        leak = CANARIES["password key of an error body over 4 KB"]
        return _json(data["status"], {"password": leak, **json.loads(data["body"]), "padding": PADDING})

    def trigger(self, sent: dict[str, Any]) -> Reply:
        return _json(200, {"dag_run_id": sent["dag_run_id"], "state": "queued", "logical_date": None, "conf": {}})

    def task_log(self) -> Reply:
        bearer = CANARIES["Authorization line in a log"]
        if self.major >= 3:
            url = f"postgresql://etl:{CANARIES['connection URL in an Airflow 3 log event']}@db/orders"
            refused = f"token={CANARIES['token in an Airflow 3 log error']} was refused"
            return _json(200, {"content": [
                {"timestamp": "2026-01-01T00:00:01Z", "level": "info", "event": f"connecting to {url}"},
                {"timestamp": "2026-01-01T00:00:01Z", "level": "info", "event": f"Authorization: Bearer {bearer}"},
                {"timestamp": "2026-01-01T00:00:02Z", "level": "error", "event": "Task failed with exception",
                 "error_detail": [{"exc_type": "PermissionError", "exc_value": refused}]},
            ], "continuation_token": None})
        at = "[2026-01-01, 00:00:01 UTC]"
        text = (f"{at} {{taskinstance.py:3311}} INFO - loading orders\n"
                f"{at} {{client.py:41}} INFO - api_key = \"{CANARIES['api_key in an Airflow 2 text log']}\"\n"
                f"{at} {{client.py:42}} INFO - Authorization: Bearer {bearer}\n"
                f"{at} {{taskinstance.py:3311}} ERROR - aws key AKIA{CANARIES['AWS key in an Airflow 2 text log']} "
                "was rejected\n")
        return Reply(200, {"Content-Type": "text/plain"}, text.encode())


def _json(status: int, body: object) -> Reply:
    return Reply(status, {"Content-Type": "application/json", "Server": "fake-airflow"}, json.dumps(body).encode())


def assert_no_canary(text: str, where: str) -> None:
    leaked = [name for name, canary in CANARIES.items() if canary in text]
    assert not leaked, f"{where} leaks: {', '.join(leaked)}"


def profile_for(tmp_path: Path, server: LocalServer, major: int, scenario: str, name: str = "leaky") -> Path:
    auth_type = "jwt" if major >= 3 else "basic"
    return write_profile(tmp_path, f"url: {server.url}/{scenario}\nauth:\n  type: {auth_type}\n  username: admin\n"
                                   f"  password: ${{LEAKY_PW}}\ndag_id: {DAG}\ntimeout: {{connect: 5, read: 20}}\n",
                         name=f"{name}.yml")


ENV = {"LEAKY_PW": "Str0ng-profile-pw"}
OUTPUTS = [["-f", "text", "-vv"], ["-f", "markdown"], ["-f", "json"], ["-f", "text", "-vv", "--debug"]]
SCENARIOS = [("import-error", [], "dag-exists"), ("trigger", ["--trigger", "--yes", "--wait", "20"], "test-trigger"),
             ("redirect", [], "reachability")]


@pytest.mark.parametrize("major", [2, 3], ids=["airflow-2.10.5", "airflow-3.3.2"])
@pytest.mark.parametrize("scenario, extra, failing", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_no_secret_from_the_server_reaches_any_output(tmp_path: Path, major: int, scenario: str, extra: list[str],
                                                      failing: str) -> None:
    fake = FakeAirflow(major)
    with LocalServer(fake) as server:
        profile = profile_for(tmp_path, server, major, scenario)
        for number, output in enumerate(OUTPUTS):
            args = ["check", "--profile", str(profile), *output, *extra]
            result = CliRunner().invoke(app, args, env=ENV)
            assert result.exit_code == 1, result.output
            assert_no_canary(result.output, " ".join(output))
            report = tmp_path / f"report-{number}"
            written = CliRunner().invoke(app, [*args, "-o", str(report)], env=ENV)
            assert written.exit_code == 1, written.output
            assert_no_canary(report.read_text() + written.output, f"-o with {' '.join(output)}")
        shown = json.loads(CliRunner().invoke(app, ["check", "--profile", str(profile), "-f", "json", *extra],
                                              env=ENV).stdout)
    assert fake.unanswered == [], "the fake server was asked something it does not answer"
    assert shown["diagnosis"]["check_id"] == failing, shown["diagnosis"]


@pytest.mark.parametrize("major", [2, 3], ids=["airflow-2.10.5", "airflow-3.3.2"])
def test_the_import_error_is_explained_with_its_secrets_masked(tmp_path: Path, major: int) -> None:
    with LocalServer(FakeAirflow(major)) as server:
        result = CliRunner().invoke(app, ["check", "--profile", str(profile_for(tmp_path, server, major, "import-error")),
                                          "-f", "json"], env=ENV)
    dag_exists = next(r for r in json.loads(result.stdout)["results"] if r["check_id"] == "dag-exists")
    assert "fails to import" in dag_exists["summary"]
    assert "create_engine('postgresql://etl:***@db/orders')" in dag_exists["explanation"]
    assert 'api_key = "***"' in dag_exists["explanation"]
    import_errors = next(e for e in dag_exists["evidence"] if "importErrors" in e["url"])
    assert import_errors["body_truncated"] and len(import_errors["response_body"]) <= 2000


@pytest.mark.parametrize("major", [2, 3], ids=["airflow-2.10.5", "airflow-3.3.2"])
def test_the_failed_runs_log_tail_is_shown_with_its_secrets_masked(tmp_path: Path, major: int) -> None:
    with LocalServer(FakeAirflow(major)) as server:
        result = CliRunner().invoke(app, ["check", "--profile", str(profile_for(tmp_path, server, major, "trigger")),
                                          "-f", "json", "--trigger", "--yes", "--wait", "20"], env=ENV)
    trial = next(r for r in json.loads(result.stdout)["results"] if r["check_id"] == "test-trigger")
    assert "task 'load_orders' failed" in trial["summary"]
    expected = ("postgresql://etl:***@db/orders", "token=*** was refused") if major >= 3 else \
        ('api_key = "***"', "aws key AKIA*** was rejected")
    for fragment in (*expected, "Authorization: Bearer ***"):
        assert fragment in trial["explanation"]


def test_no_secret_from_the_server_reaches_the_fleet_outputs(tmp_path: Path) -> None:
    servers = {major: LocalServer(FakeAirflow(major)) for major in (2, 3)}
    with servers[2], servers[3]:
        entries = [f"  af{major}-{scenario}: {{url: '{servers[major].url}/{scenario}', auth: {{type: "
                   f"{'jwt' if major >= 3 else 'basic'}, username: admin, password: '${{LEAKY_PW}}'}}, dag_id: {DAG}}}"
                   for major in (2, 3) for scenario in ("import-error", "redirect")]
        profiles = write_profile(tmp_path, "profiles:\n" + "\n".join(entries) + "\n", name="fleet.yml")
        for output_format in ("text", "markdown", "json"):
            args = ["check", "--all", "--profiles-file", str(profiles), "-f", output_format]
            result = CliRunner().invoke(app, args, env=ENV)
            assert result.exit_code == 1, result.output
            assert_no_canary(result.output, f"--all -f {output_format}")
            report = tmp_path / f"fleet.{output_format}"
            CliRunner().invoke(app, [*args, "-o", str(report)], env=ENV)
            assert_no_canary(report.read_text(), f"--all -o -f {output_format}")


def test_no_secret_from_the_server_reaches_a_debug_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_doctor.checks import dag_exists

    def crash_quoting_the_server(self, ctx):  # type: ignore[no-untyped-def]
        response = ctx.probe.get(ctx.facts.api_path("/importErrors"), auth=ctx.facts.credentials.auth())
        raise RuntimeError(f"could not read the import errors: {response.text}")

    monkeypatch.setattr(dag_exists.Check, "run", crash_quoting_the_server)
    with LocalServer(FakeAirflow(2)) as server:
        profile = profile_for(tmp_path, server, 2, "import-error")
        for output_format in ("text", "markdown", "json"):
            result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--debug", "-f", output_format],
                                        env=ENV)
            assert result.exit_code == 1 and "RuntimeError: could not read the import errors" in result.output
            assert_no_canary(result.output, f"--debug -f {output_format}")


def test_no_secret_from_the_server_reaches_an_internal_error_message(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_doctor import report

    def crash_while_rendering(rendered, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise ValueError(f"cannot render {rendered.results[3].explanation!r} {TRACE}")

    monkeypatch.setattr(report, "render_terminal", crash_while_rendering)
    with LocalServer(FakeAirflow(2)) as server:
        profile = profile_for(tmp_path, server, 2, "import-error")
        for debug in ([], ["--debug"]):
            result = CliRunner().invoke(app, ["check", "--profile", str(profile), *debug], env=ENV)
            assert result.exit_code == 3 and "ValueError" in result.output
            assert_no_canary(result.output, f"internal error {debug}")


# --- the weak password of the official docker-compose ----------------------------------------------

def test_the_password_airflow_leaves_the_dag_id_and_the_prose_readable(tmp_path: Path) -> None:
    with LocalServer(FakeAirflow(2)) as server:
        profile = write_profile(tmp_path, f"url: {server.url}/trigger\nauth:\n  type: basic\n  username: admin\n"
                                          "  password: ${COMPOSE_PW}\ndag_id: lab_airflow\n", name="compose.yml")
        report = tmp_path / "compose.md"
        result = CliRunner().invoke(app, ["check", "--profile", str(profile), "-f", "markdown", "-o", str(report)],
                                    env={"COMPOSE_PW": "airflow"})
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert "'lab_airflow'" in text and "lab_***" not in text
    assert "airflow-doctor report" in text and "/opt/airflow/dags/lab_airflow.py" in text
