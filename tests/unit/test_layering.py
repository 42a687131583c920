"""The generic core (runner, failures, HTTP recorder, model, redaction, renderers) knows nothing about Airflow: it
imports nothing from the checks, not even inside a function; what it needs of them comes in as hooks from doctor.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DIAGNOSE = Path(__file__).resolve().parents[2] / "diagnose"
GENERIC = ["runner.py", "failures.py", "probe.py", "model.py", "redact.py", "report.py"]


def imported_modules(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


@pytest.mark.parametrize("module", GENERIC)
def test_the_generic_core_imports_nothing_from_the_checks(module: str) -> None:
    imports = imported_modules((DIAGNOSE / module).read_text(encoding="utf-8"))
    assert not {m for m in imports if m.startswith("airflow_doctor.checks")}
