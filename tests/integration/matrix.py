"""The opt-in release matrix: the scenario suite against the releases managed platforms pin, as a README table.

Never in CI. `AIRFLOW_DOCTOR_MATRIX=1` runs every release of MATRIX_VERSIONS (one at a time), a comma-separated
list (`AIRFLOW_DOCTOR_MATRIX=2.7.3,3.0.6`) runs those. Each run adds its versions' columns to a results file kept
between runs, and rewrites the marked block of README.md from it: a version × scenario table, the date, the Python
and the notes that explain each cell that is not a plain pass.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Callable, Mapping, Sequence

MATRIX_ENV = "AIRFLOW_DOCTOR_MATRIX"
RESULTS_ENV = "AIRFLOW_DOCTOR_MATRIX_RESULTS"
MATRIX_VERSIONS = ("2.7.3", "2.8.4", "2.9.3", "3.0.6")
"""The newest patch on PyPI of each release line managed platforms still pin (MWAA, Cloud Composer, Astro)."""
README = Path(__file__).resolve().parents[2] / "README.md"
START = "<!-- matrix:start -->"
END = "<!-- matrix:end -->"


def matrix_versions(env: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The releases this session runs: none unless opted in; "1" means all of MATRIX_VERSIONS."""
    value = env.get(MATRIX_ENV, "").strip()
    if value in ("", "0"):
        return ()
    if value == "1":
        return MATRIX_VERSIONS
    return tuple(v.strip() for v in value.split(",") if v.strip())


def results_path(env: Mapping[str, str] = os.environ) -> Path:
    from airflow_doctor.sandbox import doctor_home

    return Path(env[RESULTS_ENV]) if env.get(RESULTS_ENV) else doctor_home(env) / "matrix" / "results.json"


class Outcome(Enum):
    PASSED = "pass"
    FAILED = "fail"
    NOT_APPLICABLE = "n/a"
    """The scenario's situation cannot be set up on this release (the note says why)."""
    OTHER_MAJOR = "—"
    """The scenario belongs to the other major version (an Airflow 3 scenario on Airflow 2)."""


@dataclass(frozen=True)
class Cell:
    outcome: Outcome
    first_failure: str | None = None
    """On a failure: the check that failed first in the doctor's report (None: none failed)."""
    note: str = ""

    def text(self) -> str:
        if self.outcome is Outcome.FAILED:
            return f"fail: `{self.first_failure}`" if self.first_failure else "fail: no check failed"
        return self.outcome.value


@dataclass
class Column:
    """One release's run: when, on which Python, what the server said it is, and each scenario's cell."""

    date: str
    python: str
    reported: str = ""
    """The version the server itself reported (the doctor's `airflow` fact)."""
    pins: list[str] = field(default_factory=list)
    """Requirements installed over the release's own (PINS), each with why."""
    not_started: str = ""
    """Why the release did not install or start, in the error's own words (then there are no cells)."""
    cells: dict[str, Cell] = field(default_factory=dict)


@dataclass
class MatrixResults:
    columns: dict[str, Column] = field(default_factory=dict)

    def column(self, version: str, date: str, python: str) -> Column:
        """The column of a release about to run: the cells of an earlier run stay until a scenario runs again (a
        rerun of a few scenarios, `-k`, updates only theirs)."""
        earlier = self.columns.get(version)
        self.columns[version] = Column(date, python, earlier.reported if earlier else "",
                                       cells=earlier.cells if earlier else {})
        return self.columns[version]

    def to_json(self) -> str:
        def cell(c: Cell) -> dict[str, str | None]:
            return {**asdict(c), "outcome": c.outcome.value}

        return json.dumps({v: {**asdict(col), "cells": {s: cell(c) for s, c in col.cells.items()}}
                           for v, col in self.columns.items()}, indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> MatrixResults:
        columns = {}
        for version, raw in json.loads(text).items():
            cells = {s: Cell(Outcome(c["outcome"]), c["first_failure"], c["note"]) for s, c in raw.pop("cells").items()}
            columns[version] = Column(**raw, cells=cells)
        return cls(columns)

    @classmethod
    def load(cls, path: Path) -> MatrixResults:
        return cls.from_json(path.read_text()) if path.exists() else cls()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def render(results: MatrixResults) -> str:
    """The Markdown block: how it was run, the table (scenarios in the order first run), and numbered notes."""
    versions = sorted(results.columns, key=_version_key)
    scenarios = list(dict.fromkeys(s for v in versions for s in results.columns[v].cells))
    notes: list[str] = []

    def footnote(text: str) -> str:
        if text not in notes:
            notes.append(text)
        return f" [{notes.index(text) + 1}]"

    def shown(version: str, scenario: str) -> str:
        column = results.columns[version]
        if column.not_started:
            return "did not start" + footnote(f"Airflow {version}: {column.not_started}")
        cell = column.cells.get(scenario)
        if cell is None:
            return "not run"
        return cell.text() + (footnote(f"Airflow {version}: {cell.note}") if cell.note else "")

    runs = "; ".join(_run_line(v, results.columns[v], footnote) for v in versions)
    header = ["scenario", *versions]
    rows = [f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"]
    rows += [f"| {s} | {' | '.join(shown(v, s) for v in versions)} |" for s in scenarios]
    lines = [f"Runs: {runs}.", "", *rows]
    if notes:
        lines += ["", *(f"{i}. {text}" for i, text in enumerate(notes, 1))]
    return "\n".join(lines)


def _run_line(version: str, column: Column, footnote: Callable[[str], str]) -> str:
    reported = f", the server reported {column.reported}" if column.reported and column.reported != version else ""
    pinned = "".join(f", with {pin.split(':')[0]}{footnote(f'Airflow {version}: {pin}')}" for pin in column.pins)
    return f"apache-airflow {version} on {column.date} (Python {column.python}{reported}{pinned})"


def replace_block(text: str, block: str) -> str:
    """`text` with what lies between the matrix markers replaced by `block` (the markers are kept)."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README has no '{START}' … '{END}' block to write the matrix into")
    return f"{text[:start + len(START)]}\n{block}\n{text[end:]}"


def write_readme(results: MatrixResults, readme: Path = README) -> None:
    readme.write_text(replace_block(readme.read_text(), render(results)))


def scenario_order(names: Sequence[str], results: MatrixResults) -> None:
    """Order every column's cells as the suite lists its scenarios (runs of single releases append out of order)."""
    rank = {name: i for i, name in enumerate(names)}
    for column in results.columns.values():
        column.cells = dict(sorted(column.cells.items(), key=lambda item: rank.get(item[0], len(rank))))


FIRST_RELEASE: dict[str, tuple[str, str]] = {
    "display-name-used-as-dag-id": (
        "2.9", "DAG display names arrived in 2.9: the scenario's DAG file does not import before it (\"TypeError: "
               "DAG.__init__() got an unexpected keyword argument 'dag_display_name'\"), and the doctor says that"),
    "required-param-missing-from-conf": (
        "2.8", "2.7.3 refuses to import a DAG with a param without a default, even with schedule None "
               "(\"ParamValidationError: Invalid input for param region: No value passed and Param has no default "
               "value\"); the doctor names that import error (`dag-exists`) instead of the missing conf key"),
    "dag-forbids-manual-runs": (
        "3.2", "DAG(allowed_run_types=...) arrived in 3.2: the scenario's DAG file does not import before it "
               "(3.0.6, 3.1.3: \"TypeError: DAG.__init__() got an unexpected keyword argument 'allowed_run_types'\"), "
               "which dag-file-never-imported covers, and the doctor says that"),
    "run-id-with-two-dots": ("3.3", "Airflow before 3.3 accepts '..' in a run id (3.2.2 creates the run)"),
}
"""Scenario: the first release it can apply to, and why not before it, as measured (the server's own words). The one
table: the scenario suite skips such a scenario on an older shared server; the release matrix still runs it, the cell
is n/a only while it fails, and a listed scenario that passes fails the test."""


def release_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def cannot_apply(version: str, scenario: str) -> str:
    """Why `scenario` cannot apply to `version` ("" when it can)."""
    first, why = FIRST_RELEASE.get(scenario, ("0", ""))
    return why if release_tuple(version) < release_tuple(first) else ""


def pins(version: str) -> tuple[str, ...]:
    """The requirements the sandbox installs over this release's own (sandbox.INSTALL_PINS), each with why."""
    from airflow_doctor.sandbox import pins_for

    return tuple(pin.text() for pin in pins_for(version))
