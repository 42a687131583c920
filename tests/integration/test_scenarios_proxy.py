"""A forward proxy from the script's environment in front of the real Airflow 2.10.5 and 3.3.2 (tests/proxies.py,
'brackenwall', a name no source knows): its 403 for the host, its 407 on the only route to an internal host name, its
502 when it cannot reach the host, a refused CONNECT for https (a TLS front from tests/fronts.py), a rule against
POST that only a later check meets, and a proxy that forwards fine. Each asserts the cause's code and words, the
control (the same request without the proxy answered by the real Airflow), why the UI works, and that applying the
printed fix (NO_PROXY, proxy credentials) makes the check pass; proxy passwords never appear in the output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_doctor.checks.readers.proxy import Code
from airflow_doctor.cli import app
from tests.fronts import Pki, TlsFront
from tests.integration.conftest import Server
from tests.integration.test_scenarios_auth import result_of
from tests.proxies import REALM, ForwardProxy, Policy, Squid

pytestmark = pytest.mark.integration

VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
             "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
PASSWORD = "Canary-Proxy-Pass-8812"
INTERNAL = "airflow.corp.invalid"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def check(profile: Path, *extra: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json", *extra])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout), result.output


def reachability(server: Server, tmp_path: Path, url: str, extra: str = "") -> tuple[dict, str]:
    profile = server.profile(tmp_path, url=url)
    if extra:
        profile.write_text(profile.read_text() + extra)
    _, data, output = check(profile, "--only", "reachability")
    return result_of(data, "reachability"), output


def apply(commands: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The printed `export NAME=value` lines, as a shell runs them (${VAR} expanded; USER and PROXY_PASSWORD given)."""
    for command in commands:
        if command.startswith("export "):
            name, _, value = command[len("export "):].partition("=")
            value = value.strip('"').replace("${PROXY_PASSWORD}", PASSWORD).replace("USER", "doctor")
            for var in list(os.environ):
                value = value.replace(f"${{{var}}}", os.environ[var])
            monkeypatch.setenv(name, value)


def test_a_proxy_that_denies_the_host_is_the_cause_and_no_proxy_fixes_it(airflow: Server, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with ForwardProxy(Policy(mode="deny")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url_with("corpuser", PASSWORD))
        reach, output = reachability(airflow, tmp_path, airflow.url)
        assert reach["code"] == Code.DENIED, reach
        assert "(from $HTTP_PROXY) answered 403 Forbidden" in reach["summary"]
        assert f"answered 200 from Airflow {airflow.version}" in reach["explanation"]
        assert "PAC file" in reach["why_ui_works"] and "front-demands-credentials" not in output
        assert PASSWORD not in output and "corpuser" not in output
        before = len(proxy.seen)
        apply(reach["fix"]["commands"], monkeypatch)
        code, data, _ = check(airflow.profile(tmp_path))
        assert code == 0, [(r["check_id"], r["summary"]) for r in data["results"] if r["status"] == "fail"]
        assert len(proxy.seen) == before, "after the fix nothing goes through the proxy"


def test_the_only_route_through_a_proxy_that_demands_credentials(airflow: Server, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    port = airflow.url.rsplit(":", 1)[1]
    url = f"http://{INTERNAL}:{port}"
    with ForwardProxy(Policy(credentials=("doctor", PASSWORD), hosts={INTERNAL: "127.0.0.1"})) as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        reach, _ = reachability(airflow, tmp_path, url)
        assert reach["code"] == Code.AUTH_REQUIRED, reach
        assert "answered 407 Proxy Authentication Required" in reach["summary"] and REALM in reach["explanation"]
        assert "could not connect either" in reach["explanation"] and "desktop login" in reach["why_ui_works"]
        apply(reach["fix"]["commands"], monkeypatch)
        code, data, output = check(airflow.profile(tmp_path, url=url))
        assert code == 0, [(r["check_id"], r["summary"]) for r in data["results"] if r["status"] == "fail"]
        assert PASSWORD not in output
        assert any(seen.startswith("POST") for seen in proxy.seen) or airflow.major < 3, "every check went through it"


def test_a_proxy_that_cannot_reach_the_host_is_not_airflows_gateway(airflow: Server, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with ForwardProxy(Policy(mode="unreachable", unreachable_status=502)) as proxy:
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        reach, _ = reachability(airflow, tmp_path, airflow.url)
        assert reach["code"] == Code.CANNOT_REACH, reach
        assert "(from $ALL_PROXY) answered 502" in reach["summary"]
        assert f"answered 200 from Airflow {airflow.version}" in reach["explanation"]
        apply(reach["fix"]["commands"], monkeypatch)
        assert reachability(airflow, tmp_path, airflow.url)[0]["status"] == "pass"


def test_a_refused_connect_for_https_is_named_and_no_proxy_fixes_it(airflow: Server, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pki = Pki(tmp_path / "pki")
    verify = f"tls:\n  verify: {pki.root_pem}\n"
    with TlsFront(airflow.url, pki.leaf()) as front, ForwardProxy(Policy(tunnel_ports=(443,))) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        reach, _ = reachability(airflow, tmp_path, front.url, verify)
        assert reach["code"] == Code.TUNNEL_REFUSED, reach
        assert "answered 403 Forbidden" in reach["summary"] and "port 443" in reach["explanation"]
        assert f"answered 200 from Airflow {airflow.version}" in reach["explanation"]
        apply(reach["fix"]["commands"], monkeypatch)
        assert reachability(airflow, tmp_path, front.url, verify)[0]["status"] == "pass"


def test_a_proxy_rule_against_post_is_named_in_the_check_that_meets_it(airflow3: Server, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow 3's token comes from POST /auth/token: reachability (GETs) passes, the token exchange meets the rule."""
    with ForwardProxy(Policy(deny_methods=("POST", "PATCH"))) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        code, data, _ = check(airflow3.profile(tmp_path))
        assert code == 1 and result_of(data, "reachability")["status"] == "pass"
        failed = next(r for r in data["results"] if r["status"] == "fail")
        assert failed["code"] == Code.DENIED, failed
        assert "POST" in failed["summary"] and "(from $HTTP_PROXY) answered 403" in failed["summary"]
        assert "most likely the proxy is the cause" in failed["explanation"] and f"Airflow {airflow3.version}" in failed["explanation"]
        before = len(proxy.seen)
        apply(failed["fix"]["commands"], monkeypatch)
        code, data, _ = check(airflow3.profile(tmp_path))
        assert code == 0, [(r["check_id"], r["summary"]) for r in data["results"] if r["status"] == "fail"]
        assert len(proxy.seen) == before, "after the fix nothing goes through the proxy"


def test_a_proxy_that_forwards_fine_costs_no_extra_request(airflow: Server, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _, direct, _ = check(airflow.profile(tmp_path))
    with ForwardProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        code, proxied, _ = check(airflow.profile(tmp_path))
    assert [r["status"] for r in proxied["results"]] == [r["status"] for r in direct["results"]]
    assert proxied["requests_made"] == direct["requests_made"], "no control when nothing fails"
    assert len(proxy.seen) in (proxied["requests_made"], proxied["requests_made"] + 1), \
        "the doctor's count, or one GET more: a kept-alive connection closed unanswered is asked again (probe._send)"


# --- a real squid (where the machine has one): what a real proxy answers ----------------------------------

needs_squid = pytest.mark.skipif(not Squid.available(), reason="no squid on this machine (apt-get install squid)")


@needs_squid
def test_a_real_squid_that_denies_is_named_from_its_own_answer(airflow: Server, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with Squid("deny") as squid:
        monkeypatch.setenv("HTTP_PROXY", squid.url)
        reach, _ = reachability(airflow, tmp_path, airflow.url)
        assert reach["code"] == Code.DENIED, reach
        assert "answered 403 Forbidden" in reach["summary"] and "X-Squid-Error: ERR_ACCESS_DENIED" in reach["summary"]
        assert f"answered 200 from Airflow {airflow.version}" in reach["explanation"]
        apply(reach["fix"]["commands"], monkeypatch)
        assert reachability(airflow, tmp_path, airflow.url)[0]["status"] == "pass"


@needs_squid
def test_a_real_squid_demanding_credentials_passes_with_them(airflow: Server, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with Squid("auth", ("doctor", PASSWORD), realm="Corp Squid Gateway") as squid:
        monkeypatch.setenv("HTTP_PROXY", f"http://doctor:wrong-{PASSWORD}@127.0.0.1:{squid.port}")
        reach, output = reachability(airflow, tmp_path, airflow.url)
        assert reach["code"] == Code.AUTH_REQUIRED, reach
        assert 'realm="Corp Squid Gateway"' in reach["summary"] and "refused the credentials" in reach["fix"]["text"]
        assert PASSWORD not in output
        monkeypatch.delenv("HTTP_PROXY")
        apply([c for c in reach["fix"]["commands"] if "PROXY_PASSWORD" in c], monkeypatch)
        code, data, output = check(airflow.profile(tmp_path))
        assert code == 0, [(r["check_id"], r["summary"]) for r in data["results"] if r["status"] == "fail"]
        assert PASSWORD not in output


@needs_squid
def test_a_real_squid_refuses_connect_to_a_port_other_than_443(airflow: Server, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pki = Pki(tmp_path / "pki")
    verify = f"tls:\n  verify: {pki.root_pem}\n"
    with TlsFront(airflow.url, pki.leaf()) as front, Squid("allow") as squid:
        monkeypatch.setenv("HTTPS_PROXY", squid.url)
        reach, _ = reachability(airflow, tmp_path, front.url, verify)
        assert reach["code"] == Code.TUNNEL_REFUSED, reach
        assert "X-Squid-Error: ERR_ACCESS_DENIED" in reach["summary"] and "port 443" in reach["explanation"]
        assert f"answered 200 from Airflow {airflow.version}" in reach["explanation"]
        apply(reach["fix"]["commands"], monkeypatch)
        assert reachability(airflow, tmp_path, front.url, verify)[0]["status"] == "pass"


@needs_squid
def test_a_real_squid_that_cannot_connect_says_so_and_the_direct_route_is_named(airflow: Server, tmp_path: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.servers import closed_port

    with Squid("allow") as squid:
        monkeypatch.setenv("HTTP_PROXY", squid.url)
        url = f"http://127.0.0.1:{closed_port()}"
        reach, _ = reachability(airflow, tmp_path, url)
        assert reach["code"] == Code.CANNOT_REACH, reach
        assert "answered 503 Service Unavailable" in reach["summary"] and "ERR_CONNECT_FAIL" in reach["summary"]
        assert "could not connect either" in reach["explanation"] and "most likely" in reach["explanation"]
