"""Fixtures for the platform stand-ins (imported by the test modules that use them; no conftest is edited)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from tests.servers import closed_port
from tests.standins.google import GoogleOAuth, GooglePrincipal

ADC_VARIABLES = ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "GCE_METADATA_HOST", "GCE_METADATA_IP",
                 "GOOGLE_CLOUD_PROJECT")


def isolate_adc(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """ADC as on a machine with nothing configured: no variable, an empty gcloud folder, no metadata server (a
    closed local port, so google-auth's probe of it is refused at once instead of timing out)."""
    for name in ADC_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    gcloud = home / "gcloud"
    gcloud.mkdir(exist_ok=True)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(gcloud))
    dead = f"127.0.0.1:{closed_port()}"
    monkeypatch.setenv("GCE_METADATA_HOST", dead)
    monkeypatch.setenv("GCE_METADATA_IP", dead)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


PERSON = GooglePrincipal("ana@example.com", "104955463298271738432")
ROBOT = GooglePrincipal("etl-trigger@example-project.iam.gserviceaccount.com", "113377058562346985512",
                        service_account=True)


@pytest.fixture
def google_oauth() -> Iterator[GoogleOAuth]:
    """Google's token endpoint and tokeninfo, knowing a person and a service account (fresh tokens per test)."""
    people = [GooglePrincipal(PERSON.email, PERSON.sub), GooglePrincipal(ROBOT.email, ROBOT.sub, service_account=True)]
    with GoogleOAuth(people) as server:
        yield server


BACKEND_FOLDER = Path(__file__).parent / "airflow_backend"
"""Holds composer_auth_backend.py alone: the webserver's PYTHONPATH must not see this package's google.py."""


@contextmanager
def composer_webserver(sandbox, tokeninfo_url: str, folder: Path,  # type: ignore[no-untyped-def]
                       registration_role: str = "Op", timeout: float = 600.0) -> Iterator[str]:
    """One more Airflow 2 webserver on `sandbox`'s database and DAGs, with the Composer stand-in backend as its only
    [api] auth_backends; yields its URL and stops it by its process group (started here) when done."""
    import os
    import signal
    import subprocess
    import time

    import requests

    from airflow_doctor.sandbox import free_port

    port = free_port()
    home = folder / "composer-webserver"
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    env = {**sandbox.environment(), "HOME": str(home), "XDG_RUNTIME_DIR": str(home), "TMPDIR": str(home / "tmp"),
           "PYTHONPATH": str(BACKEND_FOLDER), "COMPOSER_STANDIN_TOKENINFO": tokeninfo_url,
           "AIRFLOW__API__AUTH_BACKENDS": "composer_auth_backend",
           "AIRFLOW__API__COMPOSER_AUTH_USER_REGISTRATION_ROLE": registration_role}
    argv = [str(sandbox.airflow()), "webserver", "-H", "127.0.0.1", "-p", str(port), "-w", "1",
            "--pid", str(home / "webserver.pid")]
    log = home / "webserver.log"
    with log.open("w") as out:
        process = subprocess.Popen(argv, env=env, cwd=home, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the Composer-backend webserver exited ({process.returncode}): {log.read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/api/v1/version", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Composer-backend webserver did not answer in {timeout:.0f} s: {log.read_text()[-2000:]}")
            time.sleep(1)  # polling a starting server, with a deadline
        yield url
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
