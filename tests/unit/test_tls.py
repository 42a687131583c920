"""Each TLS fault named from what the server presents, through the real CLI, against real TLS fronts on 127.0.0.1
(tests/fronts.py: certificates made at test time) in front of a recorded Airflow 3.3.2. Each case asserts the cause's
code, the words that name it, why the UI works, and that applying the printed fix makes reachability pass."""

from __future__ import annotations

import datetime as dt
import json
import re
import ssl
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from airflow_doctor.checks.base import CheckContext, Facts
from airflow_doctor.checks.readers.tls import Code, http_answered_by_tls_port
from airflow_doctor.probe import Probe
from airflow_doctor.sources.profile import Auth, AuthType, Profile
from airflow_doctor.cli import app
from tests.conftest import write_profile
from tests.fronts import clear_network_environment, ConnectProxy, Pki, TlsFront, issuer_server, recorded_airflow

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture(autouse=True)
def no_environment_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's proxies and CA variables stay out of these cases; SSL_CERT_FILE stands for the OS store."""
    clear_network_environment(monkeypatch)


@pytest.fixture
def airflow():
    with recorded_airflow() as backend:
        yield backend


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


def reach(tmp_path: Path, url: str, extra: str = "") -> dict:
    """reachability's result, through the CLI, for a profile with this url (and extra profile lines)."""
    profile = write_profile(tmp_path, f"url: {url}\n{extra}timeout: {{connect: 2, read: 5}}\n", name="tls.yml")
    result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json", "--only", "reachability"])
    assert result.exit_code in (0, 1), result.output
    (first,) = json.loads(result.stdout)["results"]
    return first


def reach_url(url: str, *flags: str) -> dict:
    """reachability's result for `check --url URL` with these flags (the --url form of a printed fix)."""
    result = CliRunner().invoke(app, ["check", "--url", url, "--timeout", "5", "--format", "json", "--only",
                                      "reachability", *flags])
    assert result.exit_code in (0, 1), result.output
    (first,) = json.loads(result.stdout)["results"]
    return first


def commands(result: dict) -> list[str]:
    return list((result["fix"] or {}).get("commands", ()))


def verify_line(path: Path | str) -> str:
    return f"tls:\n  verify: {path}\n"


def passes(result: dict) -> bool:
    return result["status"] == "pass" and result["summary"].startswith("Airflow 3.3.2, API at https://")


# --- trust -----------------------------------------------------------------------------------------

def test_a_ca_nobody_here_trusts_is_named_and_a_bundle_holding_it_fixes_it(tmp_path: Path, pki: Pki, airflow) -> None:
    with TlsFront(airflow.url, pki.leaf()) as front:
        result = reach(tmp_path, front.url)
        assert result["code"] == Code.UNKNOWN_CA and "airflow-doctor Test Root CA" in result["summary"]
        assert "company CA" in result["why_ui_works"]
        assert "tls:\n  verify: /path/to/ca-bundle.pem" in commands(result)
        assert any(d.startswith("presented #1: airflow-doctor Test Issuing CA 1") for d in result["details"])
        assert passes(reach(tmp_path, front.url, verify_line(pki.root_pem)))


def test_trusted_by_the_os_store_but_not_by_certifi_offers_the_os_bundle(tmp_path: Path, pki: Pki, airflow,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.root_pem))  # this machine's store holds the company CA
    with TlsFront(airflow.url, pki.leaf()) as front:
        result = reach(tmp_path, front.url)
        assert result["code"] == Code.TRUSTED_BY_OS_ONLY, result
        assert "operating system's store" in result["why_ui_works"] and "certifi" in result["explanation"]
        assert any("this machine's store" in d and d.endswith("verified") for d in result["details"])
        system, flag, bundle = commands(result)
        assert (system, bundle) == ("tls:\n  verify: system", f"tls:\n  verify: {pki.root_pem}") and "--ca-native" in flag
        assert passes(reach(tmp_path, front.url, system + "\n"))  # truststore: the OS store (here SSL_CERT_FILE)
        assert passes(reach_url(front.url, "--ca-native"))
        assert passes(reach(tmp_path, front.url, bundle + "\n"))


def test_a_server_that_omits_its_intermediate_is_told_to_send_the_full_chain(tmp_path: Path, pki: Pki, airflow) -> None:
    with issuer_server(pki) as ca:
        served = pki.leaf(send_intermediate=False, ca_issuers=f"{ca.url}/issuing.crt")
        with TlsFront(airflow.url, served) as front:
            result = reach(tmp_path, front.url, verify_line(pki.root_pem))
            assert result["code"] == Code.MISSING_INTERMEDIATE, result
            assert "airflow-doctor Test Issuing CA 1" in result["summary"] and "full chain" in result["fix"]["text"]
            assert "CA Issuers" in result["why_ui_works"]
            assert any(d.endswith("added to the client's bundle verified") for d in result["details"])
            assert f"curl -sS {ca.url}/issuing.crt -o airflow-doctor-test-issuing-ca-1.crt" in commands(result)
            bundle = tmp_path / "ca-with-intermediate.pem"
            bundle.write_bytes(pki.root_pem.read_bytes() + pki.issuing_pem.read_bytes())  # the printed workaround
            assert passes(reach(tmp_path, front.url, verify_line(bundle)))
        with TlsFront(airflow.url, pki.leaf("full")) as fixed:  # the server-side fix: the full chain
            assert passes(reach(tmp_path, fixed.url, verify_line(pki.root_pem)))


def test_a_leaf_alone_without_a_ca_issuers_url_says_most_likely(tmp_path: Path, pki: Pki, airflow) -> None:
    with TlsFront(airflow.url, pki.leaf(send_intermediate=False)) as front:
        result = reach(tmp_path, front.url, verify_line(pki.root_pem))
        assert result["code"] == Code.UNKNOWN_CA and "Most likely" in result["explanation"]
        assert "-showcerts" in result["explanation"] and "the server sent 1 certificate" in result["details"]


def test_through_the_environments_proxy_the_certificate_is_read_through_its_tunnel(
        tmp_path: Path, pki: Pki, airflow, monkeypatch: pytest.MonkeyPatch) -> None:
    with TlsFront(airflow.url, pki.leaf()) as front, ConnectProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        result = reach(tmp_path, front.url)
        assert result["code"] == Code.UNKNOWN_CA and "airflow-doctor Test Root CA" in result["summary"]
        assert len(proxy.tunnels) >= 3 and set(proxy.tunnels) == {f"127.0.0.1:{front.port}"}, "requests' and ours"
        assert passes(reach(tmp_path, front.url, verify_line(pki.root_pem)))


def test_a_tls_inspecting_proxy_is_named_from_the_issuer(tmp_path: Path, airflow,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    proxy_ca = Pki(tmp_path / "zscaler", root="Zscaler Root CA", issuing="Zscaler Intermediate Root CA (zscaler.net)",
                   organisation="Zscaler Inc.")
    with TlsFront(airflow.url, proxy_ca.leaf()) as front:
        result = reach(tmp_path, front.url)
        assert result["code"] == Code.INSPECTING_PROXY and "Zscaler" in result["summary"], result["summary"]
        assert "IT installs the proxy's CA" in result["why_ui_works"]
        assert commands(result) == ["tls:\n  verify: /path/to/zscaler-intermediate-root-ca-zscaler-net.pem"]
        monkeypatch.setenv("SSL_CERT_FILE", str(proxy_ca.root_pem))  # a managed machine: IT put the CA in the store
        result = reach(tmp_path, front.url)
        assert result["code"] == Code.INSPECTING_PROXY
        assert commands(result)[0] == "tls:\n  verify: system" and commands(result)[2] == f"tls:\n  verify: {proxy_ca.root_pem}"
        assert passes(reach(tmp_path, front.url, commands(result)[0] + "\n"))
        assert passes(reach(tmp_path, front.url, commands(result)[2] + "\n"))


# --- the certificate itself ------------------------------------------------------------------------

def test_a_certificate_for_other_names_lists_them_and_a_listed_name_works(tmp_path: Path, pki: Pki, airflow) -> None:
    with TlsFront(airflow.url, pki.leaf(names=("localhost", "airflow.doctor.test"))) as front:
        result = reach(tmp_path, front.url, verify_line(pki.root_pem))
        assert result["code"] == Code.OTHER_NAMES, result
        assert "localhost, airflow.doctor.test" in result["summary"] and "not 127.0.0.1" in result["summary"]
        assert "name-mismatch warning" in result["why_ui_works"]
        (fix,) = commands(result)
        assert fix == f"url: https://localhost:{front.port}"
        assert f"control: a handshake with localhost:{front.port}, a name the certificate holds, verified" \
            in result["details"]
        assert reach(tmp_path, fix.removeprefix("url: "), verify_line(pki.root_pem))["status"] == "pass"


@pytest.mark.parametrize("dates, code, words", [
    ((NOW - dt.timedelta(days=60), NOW - dt.timedelta(days=2)), Code.EXPIRED, "expired on"),
    ((NOW + dt.timedelta(days=2), NOW + dt.timedelta(days=60)), Code.NOT_YET_VALID, "is not valid before"),
], ids=["expired", "not-yet-valid"])
def test_dates_are_read_against_this_machines_clock_and_a_renewed_certificate_passes(
        tmp_path: Path, pki: Pki, airflow, dates, code: Code, words: str) -> None:
    with TlsFront(airflow.url, pki.leaf(valid_from=dates[0], valid_until=dates[1])) as front:
        result = reach(tmp_path, front.url, verify_line(pki.root_pem))
        assert result["code"] == code and words in result["summary"], result["summary"]
        assert "this machine's clock reads" in result["explanation"] and result["why_ui_works"]
        if code is Code.EXPIRED:
            assert "Renew the certificate" in result["fix"]["text"] and "verify: false" not in "".join(commands(result))
    with TlsFront(airflow.url, pki.leaf("renewed")) as renewed:
        assert passes(reach(tmp_path, renewed.url, verify_line(pki.root_pem)))


def test_a_self_signed_certificate_is_trusted_by_its_own_file(tmp_path: Path, pki: Pki, airflow) -> None:
    served = pki.self_signed()
    with TlsFront(airflow.url, served) as front:
        result = reach(tmp_path, front.url)
        assert result["code"] == Code.SELF_SIGNED and "is self-signed" in result["summary"]
        assert "accepted the browser's warning" in result["why_ui_works"]
        save, trust = commands(result)
        assert save.startswith(f"openssl s_client -connect 127.0.0.1:{front.port}") and "verify:" in trust
        assert passes(reach(tmp_path, front.url, trust.replace("/path/to/server-cert.pem", str(served.leaf)) + "\n"))


def test_a_weak_key_is_told_to_be_reissued_not_trusted(tmp_path: Path, pki: Pki, airflow) -> None:
    with TlsFront(airflow.url, pki.leaf(weak_key=True)) as front:
        result = reach(tmp_path, front.url, verify_line(pki.root_pem))
        if result["status"] == "pass":
            pytest.skip("this machine's OpenSSL security level accepts RSA-1024")
        assert result["code"] == Code.WEAK_CERTIFICATE and "too weak" in result["summary"], result
        assert "2048" in result["fix"]["text"] and commands(result) == [] and result["why_ui_works"]


def test_a_server_that_speaks_only_old_tls_is_named_by_a_handshake_that_offers_it(tmp_path: Path, pki: Pki,
                                                                                   airflow) -> None:
    try:
        front = TlsFront(airflow.url, pki.leaf(), legacy=True)
    except ssl.SSLError:
        pytest.skip("this machine's OpenSSL cannot serve TLS 1.0/1.1")
    with front:
        result = reach(tmp_path, front.url, verify_line(pki.root_pem))
        assert result["code"] == Code.OLD_PROTOCOL and re.search(r"speaks only TLS 1\.[01]", result["summary"]), result
        assert "TLS 1.2" in result["fix"]["text"] and "verify" not in "".join(commands(result))
    with TlsFront(airflow.url, pki.leaf("modern")) as modern:
        assert passes(reach(tmp_path, modern.url, verify_line(pki.root_pem)))


# --- the handshake: client certificates, the wrong scheme --------------------------------------------

@pytest.mark.parametrize("tls12", [False, True], ids=["tls1.3-alert", "tls1.2-certificate-request"])
def test_a_server_that_requires_a_client_certificate_says_so(tmp_path: Path, pki: Pki, airflow, tls12: bool) -> None:
    client = pki.client()
    with TlsFront(airflow.url, pki.leaf(), client_ca=pki.root_pem, tls12=tls12) as front:
        result = reach(tmp_path, front.url, verify_line(pki.root_pem))
        assert result["code"] == Code.CLIENT_CERTIFICATE, result
        assert "client certificate" in result["summary"] and "most likely" not in result["summary"]
        assert "presents a client certificate" in result["why_ui_works"]
        assert any("cert=(" in c for c in commands(result))
        answer = requests.get(front.url + "/api/v2/version", verify=pki.root_pem, cert=(client.chain, client.key),
                              timeout=5)  # the printed fix, as the script applies it
        assert answer.status_code == 200 and answer.json()["version"] == "3.3.2"
        profile_fix, flags = commands(result)[:2]
        assert profile_fix == "tls:\n  client_cert: /path/client.pem\n  client_key: /path/client.key"
        applied = profile_fix.replace("/path/client.pem", str(client.chain)).replace("/path/client.key", str(client.key))
        assert passes(reach(tmp_path, front.url, verify_line(pki.root_pem) + applied.removeprefix("tls:\n") + "\n"))
        assert flags.startswith("airflow-doctor check --url URL --client-cert /path/client.pem --client-key")
        assert passes(reach_url(front.url, "--cacert", str(pki.root_pem), "--client-cert", str(client.chain),
                                "--client-key", str(client.key)))


def test_http_to_a_tls_port_is_confirmed_by_asking_with_https(tmp_path: Path, pki: Pki, airflow) -> None:
    with TlsFront(airflow.url, pki.leaf()) as front:
        result = reach(tmp_path, front.http_url, verify_line(pki.root_pem))
        assert result["code"] == Code.HTTP_TO_TLS_PORT and "speaks TLS" in result["summary"], result
        assert "https://" in result["why_ui_works"]
        assert f"control: the same request as GET {front.url}/api/v2/version answered 200 from Airflow 3.3.2" \
            in result["details"]
        (fix,) = commands(result)
        assert fix == f"url: {front.url}"
        assert passes(reach(tmp_path, front.url, verify_line(pki.root_pem)))


def test_nginxs_page_for_plain_http_on_its_tls_port_is_read_as_http_to_a_tls_port(tmp_path: Path, pki: Pki,
                                                                                   airflow) -> None:
    """Not wired into reachability yet (its unexpected-answer path is being refactored): called as the lead will."""
    with TlsFront(airflow.url, pki.leaf(), plain_page=True) as front:
        result = reach(tmp_path, front.http_url, verify_line(pki.root_pem))
        assert result["status"] == "fail" and "400" in result["summary"]  # today: 'not Airflow', until wired
        url = front.http_url
        profile = Profile("t", url, Auth(AuthType.NONE), verify=str(pki.root_pem), connect_timeout=2, read_timeout=5)
        probe = Probe(url, verify=str(pki.root_pem), connect_timeout=2, read_timeout=5)
        ctx = CheckContext(profile, Facts(base_url=url), probe)
        answer = probe.get("/api/v2/version")
        finding = http_answered_by_tls_port(ctx, answer)
        assert finding is not None and finding.code is Code.HTTP_TO_TLS_PORT, answer.text
        assert "The plain HTTP request was sent to HTTPS port" in finding.summary and "https://" in finding.why_ui_works
        assert finding.fix is not None and finding.fix.commands == (f"url: {front.url}",)
        assert f"control: the same request as GET {front.url}/api/v2/version answered 200 from Airflow 3.3.2" \
            in finding.details
        assert passes(reach(tmp_path, front.url, verify_line(pki.root_pem)))
        assert http_answered_by_tls_port(ctx, probe.get(front.url + "/api/v2/version")) is None, "Airflow's answer"


def test_https_to_a_plain_port_is_confirmed_by_asking_with_http(tmp_path: Path, airflow) -> None:
    result = reach(tmp_path, airflow.url.replace("http://", "https://"))
    assert result["code"] == Code.HTTPS_TO_PLAIN_PORT and "did not answer TLS" in result["summary"]
    assert f"control: the same request as GET {airflow.url}/api/v2/version answered 200 from Airflow 3.3.2" \
        in result["details"]
    (fix,) = commands(result)
    assert fix == f"url: {airflow.url}" and reach(tmp_path, airflow.url)["status"] == "pass"


def test_a_healthy_tls_front_costs_no_extra_request(tmp_path: Path, pki: Pki, airflow) -> None:
    with TlsFront(airflow.url, pki.leaf()) as front:
        assert passes(reach(tmp_path, front.url, verify_line(pki.root_pem)))
    assert front.seen == ["GET /api/v2/version", "GET /api/v2/monitor/health"]


def test_no_key_or_certificate_is_committed() -> None:
    tracked = Path(__file__).resolve().parents[2]
    pem = re.compile(rb"-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----")
    found = [p for p in (tracked / "tests").rglob("*") if p.is_file() and p.suffix in (".pem", ".crt", ".key", ".der")
             or (p.is_file() and p.suffix in (".json", ".yml", ".txt") and pem.search(p.read_bytes()))]
    assert found == []
