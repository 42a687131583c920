"""The README's first command: `airflow-doctor demo` on a machine with no Airflow of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_demo_starts_real_airflow_checks_it_and_stops_it(tmp_path: Path) -> None:
    if os.environ.get("AIRFLOW_DOCTOR_SKIP_INTEGRATION"):
        pytest.skip("AIRFLOW_DOCTOR_SKIP_INTEGRATION is set")
    env = {**os.environ, "AIRFLOW_DOCTOR_SANDBOX_DIR": str(tmp_path), "NO_COLOR": "1"}
    result = subprocess.run([sys.executable, "-m", "airflow_doctor", "demo"], env=env, capture_output=True, text=True,
                            timeout=1200, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[✓] reachability" in result.stdout and "Airflow 3.3.2" in result.stdout
    assert "Stopped the sandbox" in result.stdout
    status = subprocess.run([sys.executable, "-m", "airflow_doctor", "sandbox", "status"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert "stopped" in status.stdout and "running" not in status.stdout
