"""Finding codes: every finding carries one from its module's `Code(FindingCode)` table; codes are kebab-case and
unique across the project; the JSON schema documents exactly the codes the tables declare."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from airflow_doctor.codes import code_tables, finding_codes, table_modules
from airflow_doctor.model import CheckResult, Finding, FindingCode, Status
from airflow_doctor.report import report_schema
from tests.finding_codes import registry_table, rendered, schema_table

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "checks").rglob("*.py"), *(ROOT / "diagnose").rglob("*.py")])
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
CONVERTED_ELSEWHERE: set[str] = set()


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def finding_calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and (getattr(node.func, "id", None) == "Finding" or getattr(node.func, "attr", None) == "Finding")]


def passes_a_code(call: ast.Call) -> bool:
    """code= given, and not as a literal string: a member of a table (or a code carried over from another finding)."""
    return any(k.arg == "code" and not isinstance(k.value, (ast.Constant, ast.JoinedStr)) for k in call.keywords)


def declares_a_table(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.ClassDef) and any(getattr(b, "id", getattr(b, "attr", None)) == "FindingCode"
                                                      for b in node.bases) for node in ast.walk(tree))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    parts[0] = "airflow_doctor" if parts[0] == "diagnose" else "airflow_doctor.checks"
    return ".".join(part for part in parts if part != "__init__")


def test_every_code_is_kebab_case() -> None:
    assert finding_codes(), "the registry found no table"
    assert [c.value for c in finding_codes() if not KEBAB.match(c.value)] == []


def test_every_code_is_unique_across_the_project() -> None:
    seen: dict[str, str] = {}
    for table in code_tables():
        for code in table:
            owner = f"{table.__module__}.{table.__qualname__}.{code.name}"
            assert code.value not in seen, f"{code.value!r} is declared by {seen.get(code.value)} and {owner}"
            seen[code.value] = owner


def test_every_code_says_what_it_means() -> None:
    assert [c.value for c in finding_codes() if not c.meaning.strip()] == []


@pytest.mark.parametrize("path", [p for p in SOURCES if finding_calls(p)], ids=relative)
def test_every_finding_passes_a_code(path: Path) -> None:
    if relative(path) in CONVERTED_ELSEWHERE:
        pytest.skip("its codes are given on another branch (CONVERTED_ELSEWHERE)")
    missing = [call.lineno for call in finding_calls(path) if not passes_a_code(call)]
    assert missing == [], f"Finding(...) without code=Code.X at lines {missing} of {relative(path)}"


def test_the_exemptions_name_modules_that_build_findings() -> None:
    """An exemption outlives its reason only until the lead merges: it must name a module that still exists."""
    existing = {relative(p) for p in SOURCES}
    assert CONVERTED_ELSEWHERE <= existing


def test_the_registry_imports_every_module_that_declares_a_table() -> None:
    imported = set(table_modules())
    assert [module_name(p) for p in SOURCES if declares_a_table(p) and module_name(p) not in imported] == []


def test_the_schema_lists_exactly_the_codes_of_the_tables() -> None:
    """Out of date: run `.venv/bin/python -m tests.finding_codes` to write the tables into the schema."""
    assert schema_table(report_schema()) == registry_table()


def test_the_schema_keeps_code_nullable_for_results_no_check_concluded() -> None:
    code = report_schema()["$defs"]["code"]
    assert code["type"] == ["string", "null"] and "enum" not in code


def test_the_schema_writer_renders_one_code_a_line() -> None:
    text = rendered({"dag-found": "found", "dag-paused": "paused"}, "    ")
    assert text.splitlines()[1:3] == ['      "dag-found": "found",', '      "dag-paused": "paused"']
    assert json.loads("{" + text + "}") == {"x-codes": {"dag-found": "found", "dag-paused": "paused"}}


def test_a_code_reaches_the_json_as_its_plain_value() -> None:
    class Example(FindingCode):
        SAMPLE = "sample-code", "for this test"

    result = CheckResult.from_finding("paused", "Runs will start", Finding(Status.PASS, "ok", code=Example.SAMPLE),
                                      (), 0.0)
    assert json.dumps({"code": result.code}) == '{"code": "sample-code"}' and f"{result.code}" == "sample-code"
    assert Example.SAMPLE not in finding_codes(), "a table a test declares is not one of the project's"
