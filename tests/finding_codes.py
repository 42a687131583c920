"""The finding codes as report.schema.json documents them ($defs/code, `x-codes`: code -> meaning).

After a `Code(FindingCode)` table changes (or branches that add tables are merged), write them again with
    .venv/bin/python -m tests.finding_codes
tests/unit/test_finding_codes.py fails while the schema and the tables disagree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from airflow_doctor.codes import finding_codes

SCHEMA = Path(__file__).resolve().parents[1] / "diagnose" / "report.schema.json"
BLOCK = re.compile(r'^(?P<indent> *)"x-codes": \{.*?^(?P=indent)\}', re.M | re.S)
"""The x-codes object as this file writes it: one code a line, closed at its own indentation."""


def registry_table() -> dict[str, str]:
    """Code -> meaning, from the tables, in the order of the codes."""
    return {code.value: code.meaning for code in sorted(finding_codes(), key=lambda code: code.value)}


def schema_table(schema: dict) -> dict[str, str]:
    return schema["$defs"]["code"]["x-codes"]


def rendered(table: dict[str, str], indent: str) -> str:
    rows = [f"{indent}  {json.dumps(code)}: {json.dumps(meaning, ensure_ascii=False)}" for code, meaning in table.items()]
    return f'{indent}"x-codes": {{\n' + ",\n".join(rows) + f"\n{indent}}}"


def write_schema(path: Path = SCHEMA) -> int:
    """Rewrite the x-codes object of the schema from the tables; the rest of the file is left as it is."""
    text = path.read_text(encoding="utf-8")
    table = registry_table()
    written, count = BLOCK.subn(lambda match: rendered(table, match["indent"]), text, count=1)
    if count != 1:
        raise SystemExit(f"no \"x-codes\" object in {path}")
    assert schema_table(json.loads(written)) == table
    path.write_text(written, encoding="utf-8")
    return len(table)


if __name__ == "__main__":
    print(f"wrote {write_schema()} finding codes into {SCHEMA}")
