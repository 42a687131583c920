"""One installed namespace: nothing but airflow_doctor in site-packages, so other packages cannot shadow the doctor."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_installs_only_the_airflow_doctor_package(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True, cwd=tmp_path)
    wheel = next(tmp_path.glob("airflow_doctor-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"airflow_doctor"}
    assert "airflow_doctor/checks/payload_schema.py" in names and "airflow_doctor/cli.py" in names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "airflow-doctor = airflow_doctor.__main__:main" in entry_points


def test_packages_named_checks_and_diagnose_on_the_path_do_not_shadow_the_doctor(tmp_path: Path) -> None:
    """Airflow puts the DAGs folder on sys.path, and PyPI has packages named `checks` and `diagnose`."""
    for name in ("checks", "diagnose"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('the unrelated {name} package was imported')\n")
    result = subprocess.run([sys.executable, "-m", "airflow_doctor", "checks"], capture_output=True, text=True,
                            cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "payload-schema" in result.stdout and "unrelated" not in result.stderr
