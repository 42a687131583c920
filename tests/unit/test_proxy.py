"""A forward proxy from the environment between the script and Airflow, through the real CLI: each of the proxy's
own answers (403, 407, 502/504, a refused CONNECT, no proxy at all) is named with the variable that set it, confirmed
by the same request without the proxy, and the printed fix (NO_PROXY, proxy credentials) makes the check pass. The
proxy (tests/proxies.py) and Airflow 3.3.2's recorded answers run on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_doctor.checks.readers.proxy import Code, route_for
from airflow_doctor.cli import app
from tests.conftest import write_profile
from tests.fronts import Pki, TlsFront, recorded_airflow
from tests.proxies import REALM, ForwardProxy, Policy
from tests.servers import closed_port

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                   "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "REQUEST_METHOD")
INTERNAL = "airflow.corp.invalid"
"""A host only the proxy resolves (its hosts map): this machine reaches it through the proxy or not at all."""
PASSWORD = "Canary-Proxy-Pass-4711"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def airflow():
    with recorded_airflow() as backend:
        yield backend


def run(tmp_path: Path, url: str, extra: str = "", form: str = "json") -> tuple[dict, str]:
    """reachability's result through the CLI (and the whole output, for canaries)."""
    profile = write_profile(tmp_path, f"url: {url}\n{extra}timeout: {{connect: 2, read: 5}}\n", name="proxy.yml")
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", form, "--only", "reachability"])
    assert result.exit_code in (0, 1), result.output
    if form != "json":
        return {}, result.output
    (first,) = json.loads(result.stdout)["results"]
    return first, result.output


def reach(tmp_path: Path, url: str, extra: str = "") -> dict:
    return run(tmp_path, url, extra)[0]


def passes(result: dict) -> bool:
    return result["status"] == "pass" and result["summary"].startswith("Airflow 3.3.2, API at")


def apply(commands: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the printed `export NAME=value` lines (shell ${VAR} expansion by hand)."""
    import os

    for command in commands:
        if not command.startswith("export "):
            continue
        name, _, value = command[len("export "):].partition("=")
        value = value.strip('"')
        for var in list(os.environ):
            value = value.replace(f"${{{var}}}", os.environ[var])
        monkeypatch.setenv(name, value.replace("${PROXY_PASSWORD}", PASSWORD).replace("USER", "doctor"))


# --- the proxy's own answers, with the direct control answering Airflow --------------------------------------

def test_a_proxy_that_denies_the_host_is_named_with_its_variable_and_no_proxy_fixes_it(
        tmp_path: Path, airflow, monkeypatch: pytest.MonkeyPatch) -> None:
    with ForwardProxy(Policy(mode="deny")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        result = reach(tmp_path, airflow.url)
        assert result["code"] == Code.DENIED, result
        assert f"the proxy {proxy.url} (from $HTTP_PROXY) answered 403 Forbidden" in result["summary"]
        assert "Access denied" in result["summary"] and "credentials are demanded" not in result["summary"]
        assert f"the same request without the proxy {proxy.url} (from $HTTP_PROXY) answered 200 from Airflow 3.3.2" \
            in result["explanation"]
        assert "PAC file" in result["why_ui_works"]
        fix = result["fix"]["commands"]
        assert fix == ["export NO_PROXY=127.0.0.1", "proxy: none"]
        apply(fix, monkeypatch)
        assert passes(reach(tmp_path, airflow.url))


def test_a_refused_connect_tunnel_for_https_is_read_from_the_proxy_itself(
        tmp_path: Path, airflow, monkeypatch: pytest.MonkeyPatch) -> None:
    pki = Pki(tmp_path / "pki")
    with TlsFront(airflow.url, pki.leaf()) as front, ForwardProxy(Policy(tunnel_ports=(443,))) as proxy:
        monkeypatch.setenv("https_proxy", proxy.url)
        monkeypatch.setenv("NO_PROXY", "metadata.internal")
        verify = f"tls:\n  verify: {pki.root_pem}\n"
        result = reach(tmp_path, front.url, verify)
        assert result["code"] == Code.TUNNEL_REFUSED, result
        assert "(from $https_proxy) answered 403 Forbidden" in result["summary"]
        assert "X-Brackenwall-Error: ERR_TUNNEL_PORT_DENIED" in result["summary"]
        assert f"CONNECT 127.0.0.1:{front.port}" in result["explanation"] and "port 443" in result["explanation"]
        assert "answered 200 from Airflow 3.3.2" in result["explanation"]
        fix = result["fix"]["commands"]
        assert fix[0] == 'export NO_PROXY="${NO_PROXY},127.0.0.1"', "appended to what NO_PROXY holds"
        apply(fix, monkeypatch)
        assert passes(reach(tmp_path, front.url, verify))
        assert front.seen[-2:] == ["GET /api/v2/version", "GET /api/v2/monitor/health"]


@pytest.mark.parametrize("status", [502, 504])
def test_a_proxy_that_cannot_reach_an_internal_host_is_not_read_as_airflows_gateway(
        tmp_path: Path, airflow, monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    with ForwardProxy(Policy(mode="unreachable", unreachable_status=status)) as proxy:
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        result = reach(tmp_path, airflow.url)
        assert result["code"] == Code.CANNOT_REACH, result
        assert f"(from $ALL_PROXY) answered {status}" in result["summary"] and "could not reach" in result["explanation"]
        assert "answered 200 from Airflow 3.3.2" in result["explanation"] and "PAC file" in result["why_ui_works"]
        apply(result["fix"]["commands"], monkeypatch)
        assert passes(reach(tmp_path, airflow.url))


def test_a_proxy_that_is_not_running_is_told_apart_from_airflow_not_running(
        tmp_path: Path, airflow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    result = reach(tmp_path, airflow.url)
    assert result["code"] == Code.UNREACHABLE, result
    assert "could not be reached" in result["summary"] and "no proxy listens there" in result["summary"]
    assert "Start the web server" not in json.dumps(result)
    assert "answered 200 from Airflow 3.3.2" in result["explanation"]
    apply(result["fix"]["commands"], monkeypatch)
    assert passes(reach(tmp_path, airflow.url))


# --- the proxy is the only route ---------------------------------------------------------------------------

def test_a_proxy_that_demands_credentials_on_the_only_route_gets_them(
        tmp_path: Path, airflow, monkeypatch: pytest.MonkeyPatch) -> None:
    port = int(airflow.url.rsplit(":", 1)[1])
    url = f"http://{INTERNAL}:{port}"
    policy = Policy(credentials=("doctor", PASSWORD), hosts={INTERNAL: "127.0.0.1"})
    with ForwardProxy(Policy(mode="deny")) as other, ForwardProxy(policy) as proxy:
        monkeypatch.setenv("HTTP_PROXY", other.url)  # requests reads the lower-case name first
        monkeypatch.setenv("http_proxy", proxy.url)
        result = reach(tmp_path, url)
        assert result["code"] == Code.AUTH_REQUIRED, result
        assert "(from $http_proxy) answered 407 Proxy Authentication Required" in result["summary"]
        assert f"realm: {REALM}" in result["explanation"] and "could not connect either" in result["explanation"]
        assert "desktop login" in result["why_ui_works"]
        fix = result["fix"]["commands"]
        assert fix[0] == f"export http_proxy=http://USER:${{PROXY_PASSWORD}}@127.0.0.1:{proxy.port}"
        assert f"proxy: http://USER:${{PROXY_PASSWORD}}@127.0.0.1:{proxy.port}" in fix
        apply(fix, monkeypatch)
        result, output = run(tmp_path, url)
        assert passes(result), result
        assert PASSWORD not in output


def test_wrong_proxy_credentials_are_named_and_never_printed(tmp_path: Path, airflow,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with ForwardProxy(Policy(credentials=("doctor", "the-right-one-99"))) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url_with("corpuser", PASSWORD))
        result, _ = run(tmp_path, airflow.url)
        assert result["code"] == Code.AUTH_REQUIRED and "refused the credentials" in result["fix"]["text"]
        for form in ("json", "text", "markdown"):
            _, output = run(tmp_path, airflow.url, form=form)
            assert PASSWORD not in output and "corpuser" not in output, form
            assert f"127.0.0.1:{proxy.port}" in output


def test_an_https_proxy_demanding_credentials_has_its_realm_read_from_connect(
        tmp_path: Path, airflow, monkeypatch: pytest.MonkeyPatch) -> None:
    pki = Pki(tmp_path / "pki")
    challenge = 'Negotiate, NTLM'
    with TlsFront(airflow.url, pki.leaf()) as front, ForwardProxy(Policy(credentials=("d", PASSWORD),
                                                                         challenge=challenge)) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url_with("corpuser", PASSWORD))
        result, output = run(tmp_path, front.url, f"tls:\n  verify: {pki.root_pem}\n")
        assert result["code"] == Code.AUTH_REQUIRED, result
        assert "Proxy-Authenticate: Negotiate, NTLM" in result["summary"]
        assert "Negotiate, NTLM" in result["fix"]["text"] and "cntlm" in result["fix"]["text"]
        assert result["fix"]["commands"][0] == f"export NO_PROXY=127.0.0.1", "direct works: go direct first"
        assert PASSWORD not in output and "corpuser" not in output


# --- a later check meets the proxy ------------------------------------------------------------------------

def test_a_proxy_rule_against_post_is_named_in_the_check_that_meets_it_as_most_likely(
        tmp_path: Path, airflow, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "pw"
    secret.write_text("a-password-of-the-user-77")
    secret.chmod(0o600)
    profile = write_profile(tmp_path, f"url: {airflow.url}\nauth:\n  type: jwt\n  username: admin\n"
                                      f"  password_file: {secret}\ntimeout: {{connect: 2, read: 5}}\n", name="jwt.yml")
    with ForwardProxy(Policy(deny_methods=("POST",))) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        out = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json"])
        results = {r["check_id"]: r for r in json.loads(out.stdout)["results"]}
        assert results["reachability"]["status"] == "pass"
        auth = results["auth-backend"]
        assert auth["code"] == Code.DENIED, auth
        assert auth["summary"].startswith(f"POST {airflow.url}/auth/token: the proxy {proxy.url} (from $HTTP_PROXY) "
                                          "answered 403 Forbidden")
        assert "most likely the proxy is the cause" in auth["explanation"]
        assert f"GET {airflow.url}/api/v2/version without the proxy" in auth["explanation"]
        assert auth["fix"]["commands"][0] == "export NO_PROXY=127.0.0.1"


# --- healthy, and the rules --------------------------------------------------------------------------------

def test_a_healthy_proxy_costs_no_extra_request(tmp_path: Path, airflow, monkeypatch: pytest.MonkeyPatch) -> None:
    with ForwardProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url_with("corpuser", PASSWORD))
        profile = write_profile(tmp_path, f"url: {airflow.url}\n", name="p.yml")
        out = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json", "--only", "reachability"])
        report = json.loads(out.stdout)
        assert report["results"][0]["status"] == "pass" and report["requests_made"] == 2
        assert proxy.seen == [f"GET {airflow.url}/api/v2/version", f"GET {airflow.url}/api/v2/monitor/health"]
        assert PASSWORD not in out.output and "corpuser" not in out.output


@pytest.mark.parametrize("environment, url, variable", [
    ({"HTTPS_PROXY": "http://p:1"}, "https://h", "HTTPS_PROXY"),
    ({"HTTPS_PROXY": "http://p:1", "https_proxy": "http://q:2"}, "https://h", "https_proxy"),
    ({"https_proxy": "", "HTTPS_PROXY": "http://p:1", "ALL_PROXY": "http://a:3"}, "https://h", "ALL_PROXY"),
    ({"HTTP_PROXY": "http://p:1"}, "https://h", None),
    ({"all_proxy": "http://a:3"}, "http://h", "all_proxy"),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "h"}, "https://h:8443", None),
    ({"HTTPS_PROXY": "http://p:1", "no_proxy": ".corp"}, "https://airflow.corp", None),
])
def test_the_variable_that_set_the_proxy_is_the_one_requests_reads(monkeypatch: pytest.MonkeyPatch, environment: dict,
                                                                    url: str, variable: str | None) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    route = route_for(url)
    assert (route and route.variable) == variable


def test_the_profiles_proxy_setting_wins_and_none_goes_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://p:1")
    assert route_for("https://h", "none") is None
    route = route_for("https://h", "http://user:pw-123456@proxy.corp:3128")
    assert route.variable == "the profile's proxy: setting" and route.shown == "http://proxy.corp:3128"
    assert "pw-123456" not in route.named


def test_explain_reads_a_pasted_407_offline_as_most_likely_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://corpuser:{PASSWORD}@127.0.0.1:{closed_port()}")
    pasted = ("GET https://airflow.corp.example/api/v2/version\n\nHTTP/1.1 407 Proxy Authentication Required\n"
              f'Proxy-Authenticate: Basic realm="{REALM}"\nContent-Type: text/html\n\n<html><title>407</title></html>\n')
    result = CliRunner().invoke(app, ["explain", "-", "--format", "json"], input=pasted)
    (finding,) = json.loads(result.stdout)["results"]
    assert finding["code"] == Code.AUTH_REQUIRED, finding
    assert finding["explanation"].startswith("Most likely") and "What would confirm it" in finding["explanation"]
    assert "no request without the proxy could be made" in finding["explanation"]
    assert PASSWORD not in result.output and "corpuser" not in result.output


def test_explain_does_not_blame_the_proxy_for_a_403_it_cannot_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline there is no control: a 403 page may be any front's, so only answers only proxies give are the proxy's."""
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed_port()}")
    pasted = ("GET https://airflow.corp.example/api/v2/version\n\nHTTP/1.1 403 Forbidden\nServer: nginx\n"
              "Content-Type: text/html\n\n<html><title>403 Forbidden</title></html>\n")
    result = CliRunner().invoke(app, ["explain", "-", "--format", "json"], input=pasted)
    (finding,) = json.loads(result.stdout)["results"]
    assert not finding["code"].startswith("proxy-"), finding
