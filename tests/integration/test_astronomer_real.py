"""Astronomer through a stand-in front (its own API tokens, the deployment's sub-path), with a real Airflow 2.10.5
and 3.3.2 behind: the deployment URL shape, a token of another deployment, a DAG-level Viewer token, and Astro
Private Cloud / Software's bare key. The printed curl is executed through the same front and creates a run."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import PASSWORDS, Server
from tests.integration.test_scenarios import result_of, run_check_with_output
from tests.standins.astronomer import AstronomerFront, AstroToken

pytestmark = pytest.mark.integration
HOST = "clq52c95r000208i8c7wahwxt.astronomer.run"
DEPLOYMENT = "dz3uu847"
GOOD, FOREIGN, VIEWER = "astro-token-good-4f1c9", "astro-token-other-deployment-77ab", "astro-token-dag-viewer-19e2"
TOKENS = {GOOD: AstroToken(DEPLOYMENT), FOREIGN: AstroToken("k0other1"), VIEWER: AstroToken(DEPLOYMENT, "DAG_VIEWER")}


def front_for(server: Server, bare_keys: bool = False) -> AstronomerFront:
    return AstronomerFront(HOST, DEPLOYMENT, server.url, server.major, {**PASSWORDS, "admin": server.password("admin")},
                           TOKENS, bare_keys)


def through(front: AstronomerFront, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment's host reached through the front as the HTTP proxy (requests reads these variables)."""
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, front.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


def astro_profile(tmp_path: Path, token: str, scheme: str = "bearer") -> Path:
    secret = tmp_path / "astro.token"
    secret.write_text(token)
    secret.chmod(0o600)
    path = tmp_path / "astro.yml"
    path.write_text(f"url: http://{HOST}/{DEPLOYMENT}\nauth:\n  type: token\n  token_file: {secret}\n"
                    f"  scheme: {scheme}\ndag_id: doctor_demo\ntimeout: {{connect: 2, read: 30}}\n")
    return path




@pytest.mark.parametrize("scheme", ["bearer", "none"])
def test_a_deployment_token_passes_every_check_and_the_printed_curl_creates_a_run(
        airflow: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scheme: str) -> None:
    with front_for(airflow, bare_keys=scheme == "none") as front:
        through(front, monkeypatch)
        code, data, output = run_check_with_output(astro_profile(tmp_path, GOOD, scheme))
        assert code == 0, {r["check_id"]: (r["status"], r["summary"]) for r in data["results"]}
        assert data["target"] == f"http://{HOST}/{DEPLOYMENT}" and GOOD not in output
        sent = [e["url"] for r in data["results"] for e in r["evidence"]]
        assert sent and not any("/auth/token" in url for url in sent)  # no JWT login is tried with a token profile
        curl = next(s["code"] for s in data["working_request"]["snippets"] if s["label"] == "curl")
        assert ("Bearer" in curl) == (scheme == "bearer")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update({"AIRFLOW_TOKEN": GOOD, "http_proxy": front.url, "no_proxy": "127.0.0.1,localhost"})
        ran = subprocess.run(["bash", "-c", curl], env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr + curl
    run_id = json.loads(ran.stdout)["dag_run_id"]
    try:
        assert run_id in airflow.run_ids("doctor_demo")
    finally:
        airflow.delete_run("doctor_demo", run_id)


def test_a_token_of_another_deployment_is_refused_by_the_front_not_by_airflow(
        airflow3: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with front_for(airflow3) as front:
        through(front, monkeypatch)
        code, data, output = run_check_with_output(astro_profile(tmp_path, FOREIGN))
    auth = result_of(data, "auth-backend")
    assert code == 1 and auth["code"] == "astronomer-token-refused", auth
    assert "before Airflow saw it" in auth["summary"] and "astro deployment token create" in auth["fix"]["commands"][0]
    assert FOREIGN not in output


def test_a_dag_viewer_token_may_read_but_not_trigger(airflow2: Server, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with front_for(airflow2) as front:
        through(front, monkeypatch)
        code, data, _ = run_check_with_output(astro_profile(tmp_path, VIEWER))
    assert result_of(data, "auth-backend")["status"] == "pass"
    denied = result_of(data, "permissions")
    assert code == 1 and denied["code"] == "astronomer-token-role", denied
    assert re.search(r"may not trigger 'doctor_demo' \(403\)", denied["summary"]) and denied["why_ui_works"]
