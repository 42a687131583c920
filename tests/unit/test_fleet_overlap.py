"""`check --all` checks its profiles at the same time: proven by a server that sees their requests overlap."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.conftest import write_profile
from tests.servers import LocalServer, Rendezvous, Reply


def test_all_profiles_are_checked_at_the_same_time(tmp_path: Path) -> None:
    gateway = Rendezvous(3, Reply(502, {"Content-Type": "text/plain"}, b"bad gateway"), timeout=30)
    with LocalServer(gateway) as server:
        profile = f"{{url: '{server.url}', timeout: {{read: 120}}}}"  # the client outwaits the rendezvous
        path = write_profile(tmp_path, "profiles:\n" + "".join(f"  {name}: {profile}\n" for name in ("eu", "us", "asia")))
        result = CliRunner().invoke(app, ["check", "--all", "--profiles-file", str(path), "--format", "json"])
    assert [p["exit_code"] for p in json.loads(result.stdout)["profiles"]] == [1, 1, 1]
    assert gateway.peak == 3, "the three profiles' first requests were never in flight together"
