"""Finding codes of the auth readers, credential-encoding, token trust and the platforms: every finding these
modules build carries a member of its module's Code table, and no value is declared twice anywhere."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import airflow_doctor
import airflow_doctor.checks
from airflow_doctor.model import FindingCode

ROOT = Path(__file__).resolve().parents[2]
CODED = ["checks/auth_backend.py", "checks/readers/auth_common.py", "checks/readers/auth_airflow2.py",
         "checks/readers/auth_airflow3.py", "checks/credential_encoding.py", "checks/readers/token_trust.py",
         *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "diagnose" / "platforms").rglob("*.py"))]


def finding_calls(source: str) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Finding"]


def is_code(node: ast.expr) -> bool:
    """Code.X, Code.X if ... else Code.Y, AuthCode.X, or an attribute holding one (first.code)."""
    if isinstance(node, ast.IfExp):
        return is_code(node.body) and is_code(node.orelse)
    return isinstance(node, ast.Attribute) and (
        isinstance(node.value, ast.Name) and node.value.id.endswith("Code") or node.attr == "code")


@pytest.mark.parametrize("module", CODED)
def test_every_finding_carries_a_code_from_a_table(module: str) -> None:
    for call in finding_calls((ROOT / module).read_text(encoding="utf-8")):
        code = next((k.value for k in call.keywords if k.arg == "code"), None)
        assert code is not None and is_code(code), f"{module}:{call.lineno} builds a Finding without a Code member"


def all_code_tables() -> list[type[FindingCode]]:
    for package in (airflow_doctor, airflow_doctor.checks):  # two package dirs (pyproject's package-dir)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)
    tables, pending = [], list(FindingCode.__subclasses__())
    while pending:
        table = pending.pop()
        tables.append(table)
        pending += table.__subclasses__()
    return tables


def test_no_code_value_is_declared_twice() -> None:
    seen: dict[str, str] = {}
    for table in all_code_tables():
        for member in table:
            where = f"{table.__module__}.{table.__qualname__}.{member.name}"
            assert member.value not in seen, f"{member.value!r}: {seen.get(member.value)} and {where}"
            seen[member.value] = where


def test_codes_the_report_already_carried_keep_their_values() -> None:
    from airflow_doctor.checks.readers import auth_common, token_trust
    from airflow_doctor.platforms.composer import findings as composer

    assert auth_common.Code.REQUEST_AUTH_SCHEME == "request-auth-scheme"
    assert token_trust.Code.NOT_YET_VALID == "token-not-yet-valid"
    assert composer.Code.NO_ADC == "composer-no-adc"
