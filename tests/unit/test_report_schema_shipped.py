"""The JSON Schema of --format json is part of the package, not only of the git checkout."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_the_json_schema_of_the_report(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True, cwd=tmp_path)
    wheel = zipfile.ZipFile(next(tmp_path.glob("airflow_doctor-*.whl")))
    schema = json.loads(wheel.read("airflow_doctor/report.schema.json"))
    assert {"report", "fleet", "error"} <= set(schema["$defs"])
