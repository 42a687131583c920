"""One installed namespace: nothing but airflow_doctor in site-packages, so other packages cannot shadow the doctor."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

from airflow_doctor import __version__

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


# --- installable the way ops tools are installed (issue 19) -----------------------------------------

CORE_DEPENDENCIES = {"typer", "requests", "rich", "pyyaml", "jsonschema", "cryptography", "truststore"}
"""The mandated five, and cryptography: reachability reads the certificates a server presents when TLS fails
(X.509 is not a format to parse by hand), and names the fault from them; and truststore (pure Python, no
dependencies): tls.verify: system / --ca-native verify with the OS store as a browser does, the fix the TLS reader
prints for a company CA or an inspecting proxy, so it works without a second install step."""


def _built_wheel(directory: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(directory), str(ROOT)], check=True, capture_output=True, cwd=directory)
    return next(directory.glob("airflow_doctor-*.whl"))


def _metadata(wheel: Path) -> list[tuple[str, str]]:
    archive = zipfile.ZipFile(wheel)
    text = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    header = text.split("\n\n", 1)[0]
    return [(key, value.strip()) for key, _, value in (line.partition(":") for line in header.splitlines()) if value]


def test_the_wheel_metadata_says_what_the_tool_is_for_and_pulls_only_the_core(tmp_path: Path) -> None:
    fields = _metadata(_built_wheel(tmp_path))
    values = lambda key: [value for name, value in fields if name == key]  # noqa: E731
    classifiers = values("Classifier")
    assert "Environment :: Console" in classifiers and "Programming Language :: Python :: 3 :: Only" in classifiers
    assert {"airflow", "diagnostics", "cli"} <= set(values("Keywords")[0].split(","))
    assert values("Requires-Python") == [">=3.10"]
    required = {re.split(r"[<>=!~ ;\[]", spec, maxsplit=1)[0].lower() for spec in values("Requires-Dist")
                if "extra ==" not in spec}
    assert required == CORE_DEPENDENCIES
    assert set(values("Provides-Extra")) >= {"aws", "gcp"}


def test_python_m_airflow_doctor_version_works_from_the_installed_wheel(tmp_path: Path) -> None:
    """Installed (not the source tree), run as `python -m airflow_doctor` from elsewhere: the version line."""
    wheel = _built_wheel(tmp_path)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run([sys.executable, "-m", "airflow_doctor", "--version"], capture_output=True, text=True,
                            cwd=elsewhere, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"airflow-doctor {__version__} from {target / 'airflow_doctor'} (")
    assert "extras: [aws]" in result.stdout
