"""Real Airflow servers for the integration tier, provisioned by the sandbox code (installed on first use)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from diagnose.sandbox import DEFAULT_AIRFLOW, Sandbox, install

VERSIONS = ("2.10.5", DEFAULT_AIRFLOW)


def _start(version: str, root: Path) -> Sandbox:
    install(version)
    sandbox = Sandbox(version, root)
    sandbox.prepare()
    sandbox.start()
    try:
        sandbox.wait_ready()
    except BaseException:
        sandbox.stop()
        raise
    sandbox.write_profile()
    return sandbox


@pytest.fixture(scope="session")
def airflow_servers(tmp_path_factory: pytest.TempPathFactory):
    """Airflow 2 and 3 on 127.0.0.1, started side by side, stopped by PID when the session ends."""
    if os.environ.get("AIRFLOW_DOCTOR_SKIP_INTEGRATION"):
        pytest.skip("AIRFLOW_DOCTOR_SKIP_INTEGRATION is set")
    roots = {v: tmp_path_factory.mktemp(f"airflow-{v}") for v in VERSIONS}
    with ThreadPoolExecutor(len(VERSIONS)) as pool:
        futures = {v: pool.submit(_start, v, roots[v]) for v in VERSIONS}
        servers = {}
        errors = []
        for version, future in futures.items():
            try:
                servers[version] = future.result()
            except Exception as exc:  # keep going so every started server is stopped
                errors.append(f"{version}: {exc}")
    try:
        if errors:
            pytest.fail("could not start Airflow: " + "; ".join(errors))
        yield servers
    finally:
        for sandbox in servers.values():
            sandbox.stop()


@pytest.fixture(params=VERSIONS, ids=lambda v: f"airflow-{v}")
def airflow(request: pytest.FixtureRequest, airflow_servers: dict[str, Sandbox]) -> Sandbox:
    return airflow_servers[request.param]
