"""The scenario suite on the releases managed platforms pin (opt-in: AIRFLOW_DOCTOR_MATRIX, never in CI).

One fresh server per release, started and stopped before the next (module-scoped parameter): the machine has two
cores. Each scenario's outcome and the check the doctor found failing first go into the results file and the README
table (tests/integration/matrix.py).
"""

from __future__ import annotations

import datetime
import json
import platform
import re
import traceback
from pathlib import Path
from typing import Any, Iterator

import pytest
from _pytest.outcomes import Skipped

from airflow_doctor.sandbox import install
from tests.integration import test_scenarios as suite
from tests.integration.conftest import Server
from tests.integration.matrix import (
    Cell,
    MatrixResults,
    Outcome,
    cannot_apply,
    matrix_versions,
    pins,
    results_path,
    scenario_order,
    write_readme,
)

try:  # the scenario servers by key (branch `versions`)
    from tests.integration.conftest import start_server
except ImportError:
    from tests.integration.conftest import _start as start_server

VERSIONS = matrix_versions()
pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not VERSIONS, reason="opt-in: AIRFLOW_DOCTOR_MATRIX=1 (or a list of versions)")]


@pytest.fixture(scope="session")
def matrix_results() -> Iterator[MatrixResults]:
    """The results of earlier runs plus this one's; saved, and written into README.md, when the session ends."""
    path = results_path()
    results = MatrixResults.load(path)
    yield results
    scenario_order([s.name for s in suite.SCENARIOS], results)
    results.save(path)
    write_readme(results)


@pytest.fixture(scope="module", params=VERSIONS or ("none",))
def matrix_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                  matrix_results: MatrixResults) -> Iterator[Server]:
    version = request.param
    column = matrix_results.column(version, datetime.date.today().isoformat(), platform.python_version())
    try:
        column.pins = list(pins(version))
        install(version)
        root = tmp_path_factory.mktemp(f"matrix-{version}")
        _slower_job_heartbeat(root, version)
        server = start_server(version, root)
    except Exception as exc:
        column.not_started = _first_words(exc)
        pytest.skip(f"Airflow {version} did not start: {exc}")
    try:
        yield server
    finally:
        server.sandbox.stop()


SLOWER_JOB_HEARTBEAT = "[scheduler]\njob_heartbeat_sec = 20\n"
"""Airflow 3.0 to 3.2 call the DAG processor unhealthy 2.1 job heartbeats (10.5 s by default) after its last one, which
a loaded 2-core machine missed on 3.0.6 (the doctor then rightly warned "no healthy dag-processor"); 3.3 has
[dag_processor] health_check_threshold, which the sandbox sets."""


def _slower_job_heartbeat(root: Path, version: str) -> None:
    if int(version.split(".")[0]) >= 3:
        (root / "home").mkdir(parents=True, exist_ok=True)
        (root / "home" / "airflow.cfg").write_text(SLOWER_JOB_HEARTBEAT)


def _first_words(exc: BaseException) -> str:
    """The error's own first line (a start-up failure carries a log tail after it)."""
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


@pytest.mark.parametrize("scenario", suite.SCENARIOS, ids=lambda s: s.name)
def test_matrix_scenario(scenario: suite.Scenario, matrix_server: Server, matrix_results: MatrixResults,
                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    column = matrix_results.columns[matrix_server.version]
    if matrix_server.major not in scenario.majors:
        column.cells[scenario.name] = Cell(Outcome.OTHER_MAJOR)
        pytest.skip(f"an Airflow {scenario.majors} scenario")
    reports: list[dict[str, Any]] = []

    def recording_run_check(profile: Path, *extra: str) -> tuple[int, dict[str, Any]]:
        code, data = original(profile, *extra)
        reports.append(data)
        return code, data

    original = suite.run_check
    monkeypatch.setattr(suite, "run_check", recording_run_check)
    try:
        suite.check_scenario(scenario, matrix_server, tmp_path)
    except Skipped:
        raise
    except BaseException as exc:
        cell = failed_cell(scenario, reports, exc, matrix_server)
        reason = cannot_apply(matrix_server.version, scenario.name)
        column.cells[scenario.name] = Cell(Outcome.NOT_APPLICABLE, cell.first_failure, reason) if reason else cell
        if reason:
            pytest.xfail(reason)
        raise
    column.cells[scenario.name] = Cell(Outcome.PASSED)
    if reports:
        column.reported = reports[-1]["facts"].get("airflow", column.reported)
    assert not cannot_apply(matrix_server.version, scenario.name), "listed in matrix.FIRST_RELEASE, yet it passes"


def failed_cell(scenario: suite.Scenario, reports: list[dict[str, Any]], exc: BaseException, server: Server) -> Cell:
    """The check that failed first in the doctor's report, and a note saying what differed from the scenario."""
    cell = _failed_cell(scenario, reports, exc)
    note = re.sub(r"/tmp/pytest-of-\S*?/(dags/[\w.]+)", r"<sandbox>/\1", cell.note.replace(str(server.sandbox.root), "<sandbox>"))
    return Cell(cell.outcome, cell.first_failure, re.sub(r"/tmp/pytest-of-\S*", "<sandbox>", note))


def _failed_cell(scenario: suite.Scenario, reports: list[dict[str, Any]], exc: BaseException) -> Cell:
    if not reports:
        return Cell(Outcome.FAILED, None, f"{scenario.name}: the doctor did not report ({_first_words(exc)})")
    data = reports[-1]
    first = suite.first_failure(data)
    diagnosis = data.get("diagnosis") or {}
    if first != scenario.failing:
        said = f"; headline: {diagnosis.get('summary', '')[:200]}" if diagnosis else ""
        note = f"{scenario.name}: expected `{scenario.failing}` to fail first, `{first}` did{said}"
    else:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        flagged = ", ".join(f"{r['check_id']} {r['status']}: {r['summary'][:120]}" for r in data["results"]
                            if r["status"] in ("fail", "warn") and r["check_id"] != first)
        note = (f"{scenario.name}: `{first}` failed first as expected, but {where.name}: {_first_words(exc)[:240]}"
                + (f" (also flagged: {flagged})" if flagged else ""))
    return Cell(Outcome.FAILED, first, note)


def test_matrix_a_null_conf_the_release_refuses_gets_a_fix_it_accepts(matrix_server: Server, tmp_path: Path) -> None:
    """Airflow 3.0.x refuses `"conf": null` (3.1+ takes it): the doctor says so in the server's words, and the body
    its fix prints creates a run (deleted after)."""
    if matrix_server.major < 3:
        pytest.skip("Airflow 2 has its own null-conf answer in the scenario suite")
    code, data = suite.run_check(matrix_server.profile(tmp_path, payload={"logical_date": None, "conf": None}))
    if suite.first_failure(data) is None:
        return
    fix = next(r for r in data["results"] if r["check_id"] == "payload-schema")["fix"]
    assert suite.first_failure(data) == "payload-schema" and "conf" in data["diagnosis"]["summary"], data["diagnosis"]
    created = matrix_server.api("POST", "/dags/doctor_demo/dagRuns", json=json.loads(fix["commands"][0]))
    assert created.status_code == 200, created.text
    matrix_server.delete_run("doctor_demo", created.json()["dag_run_id"])
