from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_doctor.sources.profiles_file import resolve

SAMPLES = sorted((Path(__file__).parents[2] / "sample-profiles").glob("*.yml"))


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_every_sample_profile_loads(sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for secret in (".secrets/airflow3-admin-password", ".cache/airflow-doctor/sandbox/3.3.2/admin-password"):
        (tmp_path / secret).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / secret).write_text("pw")
    env = {"AIRFLOW_PASSWORD": "pw", "ASTRO_API_TOKEN": "tok", "AIRFLOW_DOCTOR_SANDBOX_URL": "http://127.0.0.1:8080"}
    profile, _ = resolve(str(sample), None, env=env)
    assert (profile.url.startswith("http") or profile.auth.aws is not None) and profile.dag_id
    assert json.loads(json.dumps(profile.payload)) == profile.payload


def test_the_basic_sample_shows_an_unquoted_date_sent_as_typed() -> None:
    profile, _ = resolve(str(SAMPLES[0].with_name("airflow2-basic.yml")), None, env={"AIRFLOW_PASSWORD": "pw"})
    assert profile.payload == {"conf": {"batch_size": 10, "run_date": "2026-01-01"}}


def test_there_is_a_sample_for_each_auth_style() -> None:
    assert {p.name for p in SAMPLES} >= {"airflow2-basic.yml", "airflow3-jwt.yml", "astronomer-token.yml", "sandbox.yml"}


def test_the_sample_profiles_ship_in_the_wheel_for_profiles_example(tmp_path: Path) -> None:
    """`pip install` users have no git checkout: `airflow-doctor profiles example` reads them from the package."""
    import subprocess
    import sys
    import zipfile

    root = Path(__file__).parents[2]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
                    str(root)], check=True, capture_output=True, cwd=tmp_path)
    names = zipfile.ZipFile(next(tmp_path.glob("airflow_doctor-*.whl"))).namelist()
    assert {f"airflow_doctor/sample_profiles/{sample.name}" for sample in SAMPLES} <= set(names)
