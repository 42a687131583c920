"""Answers that are not Airflow's, on real Airflow 2.10.5 and 3.3.2 behind a gateway the doctor has never heard of
(tests/gateway_proxy.py, 'ferrous-gate'): its 502 for a closed upstream, its 504 for a stalled one, its 503
maintenance page, its 429 with Retry-After, its login wall. Each scenario asserts the headline names the component
and the cause, and applies the fix where a test can (the gateway pointed at the live Airflow: the check passes).

Plus what real Airflow answers itself: Airflow 2's own 429 on its login form (FAB's rate limit, on the shared
'webserver-default' of 2.10.5, limited to '2 per 60 second'), and Airflow 3's answer to the Airflow 2 API (/api/v1).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from airflow_doctor.checks.readers.gateway import rate_limited
from airflow_doctor.cli import app
from airflow_doctor.probe import Layer, Probe, TransportError
from tests.gateway_proxy import NAME, Gateway, Stalled
from tests.integration.conftest import KEYS, OLD3, Server, settled
from tests.integration.test_scenarios_auth import check, fix_text, result_of
from tests.servers import LocalServer, closed_port

pytestmark = pytest.mark.integration


def reachability(server: Server, tmp_path: Path, url: str) -> tuple[int, dict]:
    code, data = check(server.profile(tmp_path, url=url), "--only", "reachability")
    return code, result_of(data, "reachability")


# --- 502 / 503 / 504: the gateway's own pages ---------------------------------------------------------

def test_a_gateway_with_nothing_behind_it_answers_502_and_pointing_it_at_airflow_fixes_it(airflow: Server,
                                                                                         tmp_path: Path) -> None:
    gateway = Gateway({"": f"http://127.0.0.1:{closed_port()}"})
    with LocalServer(gateway) as front:
        code, reach = reachability(airflow, tmp_path, front.url)
        assert code == 1 and reach["summary"].startswith(f"the gateway answered 502 (Bad Gateway), not Airflow: "
                                                         f"'{NAME}'"), reach["summary"]
        assert "nothing behind it answered" in reach["summary"]
        assert "api-server" in fix_text(reach) and "upstream" in fix_text(reach)
        assert reach["why_ui_works"].startswith("It may not") and "502" in reach["why_ui_works"]
        assert reach["code"] == "gateway-502"

        gateway.upstreams[""] = airflow.url
        code, reach = reachability(airflow, tmp_path, front.url)
        assert code == 0 and reach["status"] == "pass", "the gateway pointed at the live Airflow is all it takes"


def test_a_gateway_whose_api_route_is_dead_says_airflow_itself_is_up(airflow: Server, tmp_path: Path) -> None:
    gateway = Gateway({"": airflow.url, "/api/": f"http://127.0.0.1:{closed_port()}"})
    with LocalServer(gateway) as front:
        code, reach = reachability(airflow, tmp_path, front.url)
        assert code == 1 and "the gateway answered 502" in reach["summary"], reach["summary"]
        assert "Airflow itself is up" in reach["summary"] and "GET /health" in reach["why_ui_works"]
        assert "point it at the same Airflow server" in fix_text(reach)

        gateway.upstreams["/api/"] = airflow.url
        code, reach = reachability(airflow, tmp_path, front.url)
        assert code == 0 and reach["status"] == "pass"


def test_a_stalled_upstream_is_the_gateways_504_not_a_slow_airflow(airflow: Server, tmp_path: Path) -> None:
    with Stalled() as hung:
        gateway = Gateway({"": hung.url})
        with LocalServer(gateway) as front:
            code, reach = reachability(airflow, tmp_path, front.url)
            assert code == 1 and reach["summary"].startswith("the gateway answered 504 (Gateway Timeout), not Airflow"), \
                reach["summary"]
            assert "did not answer within the gateway's timeout" in reach["explanation"]
            assert "upstream timeout" in fix_text(reach)

            gateway.upstreams[""] = airflow.url
            code, reach = reachability(airflow, tmp_path, front.url)
            assert code == 0 and reach["status"] == "pass"


def test_a_maintenance_page_is_the_gateways_503(airflow: Server, tmp_path: Path) -> None:
    gateway = Gateway({"": airflow.url}, mode="maintenance")
    with LocalServer(gateway) as front:
        code, reach = reachability(airflow, tmp_path, front.url)
        assert code == 1 and "the gateway answered 503 (Service Unavailable), not Airflow" in reach["summary"]
        assert "no healthy server" in reach["explanation"] and "Down for maintenance" in reach["explanation"]
        assert "health check" in fix_text(reach)

        gateway.mode = "forward"
        code, reach = reachability(airflow, tmp_path, front.url)
        assert code == 0 and reach["status"] == "pass"


# --- 429: who limits, how long, and no hammering -------------------------------------------------------

def test_a_gateways_rate_limit_names_it_and_the_wait_and_nothing_more_is_sent(airflow: Server, tmp_path: Path) -> None:
    gateway = Gateway({"": airflow.url}, allowed=0)
    with LocalServer(gateway) as front:
        code, data = check(airflow.profile(tmp_path, url=front.url))
    reach = result_of(data, "reachability")
    assert code == 1 and reach["summary"].startswith(f"rate limited: '{NAME}' answered 429 Too Many Requests"), \
        reach["summary"]
    assert "Retry-After: 120 (wait 120 s)" in reach["summary"] and "sleep 120" in reach["fix"]["commands"]
    assert "Airflow never saw this one" in reach["explanation"] and "request quota exhausted" in reach["explanation"]
    assert gateway.seen == ["GET /api/v2/version"], "one request, and nothing sent into the 429"


@pytest.mark.parametrize("allowed", [2, 4, 6])
def test_a_rate_limit_met_in_the_middle_of_a_run_stops_the_doctor_sending(airflow: Server, tmp_path: Path,
                                                                         allowed: int) -> None:
    """Whichever check's request meets the limit (health, token, DAG details, the schema probe), the run ends
    with the limit as its headline, and nothing is sent after it."""
    gateway = Gateway({"": airflow.url}, allowed=allowed)
    with LocalServer(gateway) as front:
        code, data = check(airflow.profile(tmp_path, url=front.url))
    assert code == 1 and gateway.limited_at == allowed
    assert gateway.seen[gateway.limited_at + 1:] == [], "no request after the first 429"
    assert data["diagnosis"]["summary"].startswith(f"rate limited: '{NAME}' answered 429"), data["diagnosis"]
    assert not any(r["status"] == "pass" and any(e["status"] == 429 for e in r["evidence"]) for r in data["results"])


def test_airflows_own_login_rate_limit_is_named_as_airflows(airflow2: Server) -> None:
    """The shared 2.10.5's 'webserver-default' limits its login form to '2 per 60 second' (conftest.NO_AUTH_BACKEND)."""
    probe = Probe(airflow2.webserver("webserver-default"), connect_timeout=5, read_timeout=20)
    answer = None
    for _ in range(3):
        page = probe.get("/login/")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
        answer = probe.post("/login/", data={"csrf_token": token, "username": "nobody", "password": "wrong"},
                            cookies=page.cookies)
        if answer.status == 429:
            break
    assert answer is not None and answer.status == 429, "FAB's limit of 2 login attempts per 60 s"
    finding = rate_limited(answer)
    assert finding.summary.startswith("rate limited: Airflow itself answered 429"), finding.summary
    assert "did not say how long to wait (no Retry-After)" in finding.summary
    assert "2 per 60 second" in finding.explanation and "auth_rate_limit" in finding.explanation
    with pytest.raises(TransportError) as held:
        probe.post("/login/", data={"csrf_token": token, "username": "nobody", "password": "wrong"}, cookies=page.cookies)
    assert held.value.layer is Layer.HELD_BACK, "the doctor never repeats a request into a 429"


# --- a login wall ------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, said", [("login", "was redirected (302) to a login page by"),
                                        ("login-page", "answered with an HTML login page (Ferrous Gate - Sign in) by")])
def test_a_login_wall_in_front_of_airflow_is_named(airflow: Server, tmp_path: Path, mode: str, said: str) -> None:
    gateway = Gateway({"": airflow.url}, mode=mode)
    with LocalServer(gateway) as front:
        code, reach = reachability(airflow, tmp_path, front.url)
    assert code == 1 and f"{said} '{NAME}'" in reach["summary"], reach["summary"]
    assert "bypasses the proxy" in fix_text(reach) or "accepts tokens" in fix_text(reach)
    assert "log" in reach["why_ui_works"]


# --- Airflow 3 answering the Airflow 2 API -----------------------------------------------------------

REMOVED = "/api/v1 has been removed in Airflow 3, please use its upgraded version /api/v2 instead."


@pytest.mark.parametrize("key", [k for k in KEYS if not k.startswith("2.")])
def test_airflow_3_answering_api_v1_is_read_as_the_airflow_2_api_not_a_missing_dag(airflow_servers: dict[str, Server],
                                                                                  key: str) -> None:
    server = settled(airflow_servers[key])
    answer = requests.get(server.url + "/api/v1/dags/doctor_demo", timeout=20)
    assert (answer.status_code, answer.json()) == (404, {"error": REMOVED}), "Airflow 3's own words"
    pasted = (f"GET {server.url}/api/v1/dags/doctor_demo\nHTTP/1.1 {answer.status_code} Not Found\n"
              + "".join(f"{k}: {v}\n" for k, v in answer.headers.items()) + "\n" + answer.text)
    result = CliRunner().invoke(app, ["explain", "-", "--format", "json"], input=pasted)
    diagnosis = json.loads(result.stdout)["results"][0]
    assert diagnosis["summary"].startswith("this is Airflow 3 and the request uses the Airflow 2 API"), diagnosis
    assert REMOVED in diagnosis["summary"] and "dag" not in diagnosis["check_id"]
    assert "/auth/token" in fix_text(diagnosis) and "logical_date" in fix_text(diagnosis)

    if key == OLD3:
        return  # a bare 3.1.3 issues no tokens with today's PyJWT (conftest.OLD3); the words are what it shows
    run = json.loads(run_as_printed(server, "\n".join(diagnosis["fix"]["commands"])))
    try:
        assert run["dag_id"] == "doctor_demo" and run["state"] == "queued", f"the printed fix triggers: {run}"
    finally:
        server.delete_run("doctor_demo", run["dag_run_id"])


def run_as_printed(server: Server, commands: str) -> str:
    """The fix's commands in bash, as printed, with only the user and password in the environment."""
    import subprocess

    env = {**os.environ, "AIRFLOW_USER": "admin", "AIRFLOW_PASSWORD": server.password("admin")}
    return subprocess.run(["bash", "-c", commands], env=env, capture_output=True, text=True, timeout=60,
                          check=True).stdout


# --- the answers the unit tests replay (AIRFLOW_DOCTOR_RECORD=1) --------------------------------------

VOLATILE = {"date", "set-cookie", "content-length", "connection", "transfer-encoding", "content-encoding"}


@pytest.mark.skipif(not os.environ.get("AIRFLOW_DOCTOR_RECORD"), reason="set AIRFLOW_DOCTOR_RECORD=1 to re-record")
def test_record_gateway_and_retired_api_answers(airflow_servers: dict[str, Server]) -> None:
    recorded = Path(__file__).parents[1] / "recorded"

    def save(folder: str, name: str, response: requests.Response) -> None:
        (recorded / folder).mkdir(exist_ok=True)
        data = {"method": response.request.method, "path": response.request.path_url, "request_body": None,
                "status": response.status_code,
                "headers": {k: v for k, v in response.headers.items() if k.lower() not in VOLATILE},
                "body": response.content.decode("utf-8", errors="replace")}
        (recorded / folder / f"{name}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    airflow3, airflow2 = airflow_servers["3.3.2"], airflow_servers["2.10.5"]
    get = lambda url: requests.get(url, allow_redirects=False, timeout=30)  # noqa: E731
    for key in (OLD3, "3.3.2"):
        save(f"airflow-{airflow_servers[key].version}", "v1_removed", get(airflow_servers[key].url + "/api/v1/dags/doctor_demo"))
        save(f"airflow-{airflow_servers[key].version}", "root_health", get(airflow_servers[key].url + "/health"))
    with Stalled() as hung:
        gateway = Gateway({"": f"http://127.0.0.1:{closed_port()}", "/health": airflow2.url, "/slow/": hung.url})
        with LocalServer(gateway) as front:
            save("gateway", "bad_gateway", get(front.url + "/api/v2/version"))
            save("gateway", "timeout", get(front.url + "/slow/api/v2/version"))
            save("gateway", "health_through_gateway", get(front.url + "/health"))
            gateway.mode = "maintenance"
            save("gateway", "maintenance", get(front.url + "/api/v2/version"))
            gateway.mode = "login"
            save("gateway", "login_redirect", get(front.url + "/api/v2/version"))
            gateway.mode = "login-page"
            save("gateway", "login_page", get(front.url + "/api/v2/version"))
            gateway.mode, gateway.allowed = "forward", 0
            save("gateway", "rate_limited", get(front.url + "/api/v2/version"))


def test_a_front_that_routes_only_api_v1_to_airflow_3_is_named_and_routing_api_v2_fixes_it(airflow3: Server,
                                                                                          tmp_path: Path) -> None:
    gateway = Gateway({"": f"http://127.0.0.1:{closed_port()}", "/api/v1/": airflow3.url})
    with LocalServer(gateway) as front:
        code, reach = reachability(airflow3, tmp_path, front.url)
        assert code == 1 and reach["summary"].startswith("Airflow 3 is behind this address, but /api/v2 does not reach "
                                                         "it"), reach["summary"]
        assert REMOVED in reach["summary"] and f"'{NAME}'" in reach["summary"]
        assert "Route /api/v2" in fix_text(reach)

        gateway.upstreams[""] = airflow3.url
        code, reach = reachability(airflow3, tmp_path, front.url)
        assert code == 0 and reach["status"] == "pass"


def test_a_gateway_502_met_in_the_middle_of_a_run_is_the_gateways_not_the_checks_guess(airflow: Server,
                                                                                      tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    gateway = Gateway({"": airflow.url, "/auth/": dead, "/api/v1/dags": dead, "/api/v2/dags": dead})
    with LocalServer(gateway) as front:
        code, data = check(airflow.profile(tmp_path, url=front.url))
        assert code == 1 and result_of(data, "reachability")["status"] in ("pass", "warn"), result_of(data, "reachability")
        assert data["diagnosis"]["summary"].startswith("the gateway answered 502 (Bad Gateway), not Airflow: "
                                                       f"'{NAME}'"), data["diagnosis"]
        assert data["diagnosis"]["code"] == "gateway-502"

        gateway.upstreams.update({"/auth/": airflow.url, "/api/v1/dags": airflow.url, "/api/v2/dags": airflow.url})
        code, data = check(airflow.profile(tmp_path, url=front.url))
        assert code == 0, data["diagnosis"]
