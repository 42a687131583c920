"""Permissions that look granted, on real FAB servers (Airflow 2.10.5, Airflow 3.3.2 with the FAB auth manager): a
user whose role gives DAG-level access to the DAG (what a DAG's access_control grants: can read and can edit on
DAG:<id>) next to Viewer, but not 'can create' on DAG Runs. The doctor must name that permission, say the UI refuses
the trigger too, and print the grant that, run on the Airflow host, makes the check pass. The role and user are
created here and deleted after."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.integration.conftest import FAB3, PASSWORDS, Server, settled
from tests.integration.test_scenarios_queued import diagnose, result_of, run_on_host, until

pytestmark = pytest.mark.integration

DAG_ID = "doctor_demo"


@pytest.fixture(params=["2.10.5", FAB3], ids=lambda key: f"airflow-{key}")
def fab_server(request: pytest.FixtureRequest, airflow_servers: dict[str, Server]) -> Server:
    server = settled(airflow_servers[request.param])
    if "fab" in server.sandbox.extras:  # a reused shared server's Sandbox is rebuilt without its auth manager
        server = Server(dataclasses.replace(server.sandbox, auth_manager="fab"))
    return server


def security_api(server: Server, method: str, path: str, **kwargs: Any) -> requests.Response:
    """FAB's roles and users endpoints: /api/v1 on Airflow 2, /auth/fab/v1 on Airflow 3."""
    prefix = "/auth/fab/v1" if server.major >= 3 else "/api/v1"
    return requests.request(method, server.url + prefix + path, headers=server.admin_headers(), timeout=20, **kwargs)


@contextmanager
def dag_level_user(server: Server) -> Iterator[tuple[str, str, str]]:
    """(user, password, role): Viewer plus a role with can read and can edit on DAG:doctor_demo only."""
    tag = uuid.uuid4().hex[:8]
    user, password, role = f"doctor_dag_level_{tag}", f"dag-level-{tag}", f"doctor_dag_level_role_{tag}"
    actions = [{"action": {"name": a}, "resource": {"name": f"DAG:{DAG_ID}"}} for a in ("can_read", "can_edit")]
    created = security_api(server, "POST", "/roles", json={"name": role, "actions": actions})
    assert created.status_code in (200, 201), created.text
    try:
        added = security_api(server, "POST", "/users", json={
            "username": user, "password": password, "email": f"{user}@example.invalid", "first_name": "dag",
            "last_name": "level", "roles": [{"name": "Viewer"}, {"name": role}]})
        assert added.status_code in (200, 201), added.text
        yield user, password, role
    finally:
        security_api(server, "DELETE", f"/users/{user}")
        security_api(server, "DELETE", f"/roles/{role}")


def record(server: Server, name: str, response: requests.Response, body: object = None) -> None:
    """With AIRFLOW_DOCTOR_RECORD=1: keep the answer for the unit tests (labelled by version and auth manager)."""
    if os.environ.get("AIRFLOW_DOCTOR_RECORD"):
        from tests.integration.test_record import RECORDED
        from tests.recorded.record import KEPT_HEADERS

        label = RECORDED / f"airflow-{server.version}{'-fab' if 'fab' in server.sandbox.extras else ''}"
        label.mkdir(exist_ok=True)
        data = {"method": response.request.method, "path": response.request.path_url, "request_body": body,
                "status": response.status_code,
                "headers": {k: v for k, v in response.headers.items() if k.lower() in KEPT_HEADERS},
                "body": response.content.decode("utf-8", errors="replace")}
        (label / f"{name}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def record_probes(server: Server, user: str, password: str) -> None:
    from airflow_doctor.checks import permissions

    if not os.environ.get("AIRFLOW_DOCTOR_RECORD"):
        return
    v2 = server.major >= 3
    auth = _auth(server, user, password)
    api = server.url + ("/api/v2" if v2 else "/api/v1")
    trigger = permissions.V2_PROBE if v2 else permissions.V1_PROBE
    record(server, "probe_dag_level", requests.post(f"{api}/dags/{DAG_ID}/dagRuns", json=trigger, timeout=10, **auth),
           trigger)
    edit: dict[str, Any] = permissions.EDIT_PROBE_V2 if v2 else {"is_paused": False}
    params = {} if v2 else {"update_mask": permissions.EDIT_PROBE_MASK}
    record(server, "edit_probe_dag_level", requests.patch(f"{api}/dags/{DAG_ID}", json=edit, params=params, timeout=10,
                                                          **auth), edit)
    record(server, "details_demo_dag_level", requests.get(f"{api}/dags/{DAG_ID}/details", timeout=10, **auth))
    viewer = _auth(server, "viewer", PASSWORDS["viewer"])
    record(server, "edit_probe_viewer", requests.patch(f"{api}/dags/{DAG_ID}", json=edit, params=params, timeout=10,
                                                       **viewer), edit)
    record(server, "probe_viewer", requests.post(f"{api}/dags/{DAG_ID}/dagRuns", json=trigger, timeout=10, **viewer),
           trigger)


def _auth(server: Server, user: str, password: str) -> dict[str, Any]:
    if server.major >= 3:
        token = requests.post(f"{server.url}/auth/token", json={"username": user, "password": password}, timeout=10)
        return {"headers": {"Authorization": f"Bearer {token.json()['access_token']}"}}
    return {"auth": (user, password)}


def test_dag_level_access_without_dag_run_create_is_named_and_the_printed_grant_fixes_it(
        fab_server: Server, tmp_path: Path) -> None:
    with dag_level_user(fab_server) as (user, password, role):
        profile = fab_server.profile(tmp_path, user=user, password=password, payload=None)
        record_probes(fab_server, user, password)
        data = diagnose(profile)
        found = result_of(data, "permissions")
        assert found["status"] == "fail", found
        assert found["summary"].startswith(user), found  # Airflow 3 with FAB shows "<user> (user id N)"
        assert found["summary"].endswith(f"may edit {DAG_ID!r} but may not trigger it (403): missing 'can create on DAG Runs'")
        assert "access_control" in found["explanation"] and "another user" in found["why_ui_works"]
        assert data["diagnosis"]["check_id"] == "permissions"
        if fab_server.major < 3:
            assert_ui_greys_out_trigger(fab_server, user, password)
        (command,) = found["fix"]["commands"]
        assert command == f"airflow roles add-perms \"$ROLE\" -r 'DAG Run:{DAG_ID}' -a can_create"
        run_on_host(fab_server, command, env={"ROLE": role})
        allowed = lambda: result_of(diagnose(profile), "permissions")["status"] == "pass"  # noqa: E731
        until(allowed, "the trigger permission taking effect ([fab] cache_ttl on Airflow 3)")


def assert_ui_greys_out_trigger(server: Server, user: str, password: str) -> None:
    """What the finding says of Airflow 2's UI for this user: the pause switch works, Trigger DAG is greyed out."""
    browser = requests.Session()
    page = browser.get(f"{server.url}/login/", timeout=10)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    login = browser.post(f"{server.url}/login/", data={"csrf_token": token, "username": user, "password": password},
                         allow_redirects=False, timeout=10)
    assert login.status_code == 302 and "/login" not in login.headers["Location"], login.text[:300]
    grid = browser.get(f"{server.url}/dags/{DAG_ID}/grid", timeout=20)
    assert grid.status_code == 200, grid.url
    triggers = re.findall(r'<a[^>]*aria-label="Trigger DAG"[^>]*>', grid.text)
    assert triggers and all("disabled" in t for t in triggers), triggers
    switch = re.search(r'<input[^>]*id="pause_resume"[^>]*>', grid.text)
    assert switch and "disabled" not in switch.group(0), switch
