"""Run "the request that works" as a user would: both printed snippets, as printed, with only the secrets in the
environment. Every scenario whose cause is in the request proves its fix this way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.integration.conftest import Server


def run_printed_snippets(server: Server, data: dict[str, Any], dag_id: str, user: str = "admin",
                         **secrets: str) -> list[dict[str, Any]]:
    """Both snippets of the JSON report `data` must create a new run of `dag_id`; returns those runs as the server
    reads them back, deleted before returning. The password of `user` is AIRFLOW_PASSWORD; `secrets` adds others
    (e.g. GW_KEY for a gateway's own key)."""
    code = {s["label"]: s["code"] for s in data["working_request"]["snippets"]}
    env = {**os.environ, "AIRFLOW_PASSWORD": server.password(user), "LC_ALL": "C.UTF-8", **secrets}
    before = set(server.run_ids(dag_id))
    created: list[str] = []
    try:
        shell = subprocess.run(["bash", "-c", code["curl"]], env=env, capture_output=True, text=True, timeout=120)
        assert shell.returncode == 0, shell.stdout + shell.stderr
        created.append(json.loads(shell.stdout)["dag_run_id"])
        python = subprocess.run([sys.executable, "-c", code["Python (requests)"]], env=env, capture_output=True,
                                text=True, timeout=120)
        assert python.returncode == 0, python.stdout + python.stderr
        created.append(python.stdout.strip())
        assert set(created) <= set(server.run_ids(dag_id)) - before
        return [server.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json() for run_id in created]
    finally:
        for run_id in created:
            server.delete_run(dag_id, run_id)
