"""Re-record the real answers the unit tests replay:  AIRFLOW_DOCTOR_RECORD=1 pytest tests/integration/test_record.py

Skipped otherwise. Only non-volatile headers are kept (tests/recorded/record.py), so nothing live lands in git.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import requests

from tests.integration.conftest import PASSWORDS, Server
from tests.integration.test_scenarios import forge_jwt
from tests.recorded.record import KEPT_HEADERS

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not os.environ.get("AIRFLOW_DOCTOR_RECORD"), reason="set AIRFLOW_DOCTOR_RECORD=1 to re-record")]

RECORDED = Path(__file__).parents[1] / "recorded"


def save(server: Server, name: str, response: requests.Response, request_body: object = None) -> None:
    label = RECORDED / f"airflow-{server.version}"
    label.mkdir(exist_ok=True)
    path = response.request.path_url
    data = {"method": response.request.method, "path": path, "request_body": request_body, "status": response.status_code,
            "headers": {k: v for k, v in response.headers.items() if k.lower() in KEPT_HEADERS},
            "body": response.content.decode("utf-8", errors="replace")}
    (label / f"{name}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def test_record_airflow_2(airflow2: Server) -> None:
    s, base = airflow2, airflow2.url
    admin = ("admin", s.password("admin"))
    get = lambda path, **kw: requests.get(base + path, allow_redirects=False, timeout=10, **kw)  # noqa: E731
    save(s, "dags_basic_admin", get("/api/v1/dags?limit=1", auth=admin))
    save(s, "dags_basic_wrong", get("/api/v1/dags?limit=1", auth=("admin", "wrong")))
    save(s, "dags_basic_utf8_user1", get("/api/v1/dags?limit=1", auth=(b"user1", PASSWORDS["user1"].encode())))
    save(s, "details_demo", get("/api/v1/dags/doctor_demo/details", auth=admin))
    save(s, "details_paused", get("/api/v1/dags/doctor_paused/details", auth=admin))
    save(s, "details_missing", get("/api/v1/dags/no_such_dag/details", auth=admin))
    save(s, "details_broken", get("/api/v1/dags/doctor_becomes_broken/details", auth=admin))
    save(s, "dag_stale", get("/api/v1/dags/doctor_stale", auth=admin))
    save(s, "details_stale", get("/api/v1/dags/doctor_stale/details", auth=admin))
    save(s, "dags_list", get("/api/v1/dags?limit=100&order_by=dag_id", auth=admin))
    save(s, "import_errors", get("/api/v1/importErrors?limit=100", auth=admin))
    save(s, "dagruns_running", get("/api/v1/dags/doctor_demo/dagRuns?state=running&limit=1", auth=admin))
    probe = {"logical_date": "2000-01-01T00:00:00+00:00", "execution_date": "2000-01-02T00:00:00+00:00"}
    save(s, "probe_admin", requests.post(base + "/api/v1/dags/doctor_demo/dagRuns", json=probe, auth=admin, timeout=10), probe)
    save(s, "probe_viewer", requests.post(base + "/api/v1/dags/doctor_demo/dagRuns", json=probe,
                                          auth=("viewer", PASSWORDS["viewer"]), timeout=10), probe)
    session_only = s.session_only_url
    browser = requests.Session()
    page = browser.get(session_only + "/login/", timeout=10)
    save(s, "login_page", page)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    form = {"csrf_token": token, "username": "admin", "password": "wrong"}
    save(s, "login_post_rejected", browser.post(session_only + "/login/", data=form, allow_redirects=False, timeout=10))
    form["password"] = s.password("admin")
    save(s, "login_post_ok", browser.post(session_only + "/login/", data=form, allow_redirects=False, timeout=10))
    save(s, "dags_session", browser.get(session_only + "/api/v1/dags?limit=1", timeout=10))
    save(s, "login_page_sso", requests.get(s.sso_url + "/login/", timeout=10))
    limited, hammer = s.webserver("webserver-default"), requests.Session()
    for _ in range(4):
        form = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', hammer.get(limited + "/login/", timeout=10).text)
        throttled = hammer.post(limited + "/login/", data={"csrf_token": form.group(1), "username": "x", "password": "y"},
                                allow_redirects=False, timeout=10)
    save(s, "login_post_rate_limited", throttled)


def test_record_airflow_3(airflow3: Server) -> None:
    s, base = airflow3, airflow3.url
    post = lambda path, body, **kw: requests.post(base + path, json=body, timeout=10, **kw)  # noqa: E731
    credentials = {"username": "admin", "password": s.password("admin")}
    token_response = post("/auth/token", credentials)
    save(s, "token_admin", token_response, {"username": "admin", "password": "***"})
    save(s, "token_wrong", post("/auth/token", {"username": "admin", "password": "wrong"}), {"username": "admin", "password": "***"})
    bearer = {"Authorization": f"Bearer {token_response.json()['access_token']}"}
    viewer = post("/auth/token", {"username": "viewer", "password": PASSWORDS["viewer"]}).json()["access_token"]
    get = lambda path, headers=bearer: requests.get(base + path, headers=headers, timeout=10, allow_redirects=False)  # noqa: E731
    save(s, "dags_bearer", get("/api/v2/dags?limit=1"))
    save(s, "dags_basic", requests.get(base + "/api/v2/dags?limit=1", auth=("admin", s.password("admin")), timeout=10))
    save(s, "dags_garbage", get("/api/v2/dags?limit=1", {"Authorization": "Bearer not-a-real-token"}))
    save(s, "dags_expired", get("/api/v2/dags?limit=1", {"Authorization": f"Bearer {forge_jwt(s, expires_in=-600)}"}))
    save(s, "dags_anonymous", get("/api/v2/dags?limit=1", {}))
    for name, dag in (("details_demo", "doctor_demo"), ("details_paused", "doctor_paused"), ("details_missing", "no_such_dag"),
                      ("details_broken", "doctor_becomes_broken"), ("details_stale", "doctor_stale"),
                      ("details_no_manual", "doctor_no_manual")):
        save(s, name, get(f"/api/v2/dags/{dag}/details"))
    save(s, "dags_list", get("/api/v2/dags?limit=100&order_by=dag_id"))
    save(s, "import_errors", get("/api/v2/importErrors?limit=100"))
    probe = {"logical_date": None, "conf": "airflow-doctor-probe"}
    save(s, "probe_admin", post("/api/v2/dags/doctor_demo/dagRuns", probe, headers=bearer), probe)
    save(s, "probe_viewer", post("/api/v2/dags/doctor_demo/dagRuns", probe, headers={"Authorization": f"Bearer {viewer}"}), probe)
    duplicate = {"logical_date": None, "dag_run_id": "doctor_recorded_duplicate"}
    post("/api/v2/dags/doctor_display_id/dagRuns", duplicate, headers=bearer)
    save(s, "trigger_duplicate", post("/api/v2/dags/doctor_display_id/dagRuns", duplicate, headers=bearer), duplicate)
