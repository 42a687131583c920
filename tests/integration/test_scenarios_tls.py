"""TLS faults in front of real Airflow 2.10.5 and 3.3.2: the TLS fronts of tests/fronts.py (certificates made at test
time) terminate TLS on 127.0.0.1 and forward to the real servers. Each scenario asserts the headline's code and why
the UI works, then applies the printed fix (the profile line, the url, the renewed certificate, or for a client
certificate the script's own request) and asserts that `airflow-doctor check` passes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_doctor.checks.readers.tls import Code
from tests.fronts import clear_network_environment, Pki, TlsFront, issuer_server
from tests.integration.conftest import Server
from tests.integration.test_scenarios_auth import check

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture(autouse=True)
def no_environment_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's proxies and CA variables stay out of these scenarios; SSL_CERT_FILE stands for the OS store."""
    clear_network_environment(monkeypatch)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


def doctor(server: Server, tmp_path: Path, url: str, verify: Path | str | None = None,
           tls: str = "") -> tuple[int, dict[str, Any]]:
    """`airflow-doctor check` (every check) with the server's own profile at `url`, trusting `verify` if given, with
    more `tls` lines (indented) if given."""
    profile = server.profile(tmp_path, url=url)
    if verify is not None or tls:
        profile.write_text(profile.read_text() + "tls:\n" + (f"  verify: {verify}\n" if verify is not None else "")
                           + tls)
    return check(profile)


def headline(data: dict[str, Any], code: Code) -> dict[str, Any]:
    diagnosis = data["diagnosis"]
    assert diagnosis is not None and diagnosis["check_id"] == "reachability", data["results"][0]
    assert diagnosis["code"] == code.value, diagnosis
    assert diagnosis["why_ui_works"], diagnosis
    return diagnosis


def printed(diagnosis: dict[str, Any], prefix: str) -> str:
    """The printed fix line that starts with `prefix` ('url: ' or 'tls:'), as the user copies it."""
    (line,) = [c for c in diagnosis["fix"]["commands"] if c.startswith(prefix)]
    return line


def printed_all(diagnosis: dict[str, Any], prefix: str) -> list[str]:
    return [c for c in diagnosis["fix"]["commands"] if c.startswith(prefix)]


def passes(code: int, data: dict[str, Any], server: Server) -> bool:
    """Every check passes (exit 0) on this Airflow, reached through the front."""
    return code == 0 and data["facts"]["airflow"] == server.version and data["results"][0]["status"] in ("pass", "warn")


# --- trust -----------------------------------------------------------------------------------------

def test_a_private_ca_is_named_and_a_bundle_holding_it_passes(airflow: Server, tmp_path: Path, pki: Pki) -> None:
    with TlsFront(airflow.url, pki.leaf()) as front:
        code, data = doctor(airflow, tmp_path, front.url)
        diagnosis = headline(data, Code.UNKNOWN_CA)
        assert code == 1 and "airflow-doctor Test Root CA" in diagnosis["summary"]
        assert "company CA" in diagnosis["why_ui_works"]
        assert printed(diagnosis, "tls:") == "tls:\n  verify: /path/to/ca-bundle.pem"
        assert passes(*doctor(airflow, tmp_path, front.url, pki.root_pem), airflow)


def test_a_ca_in_the_os_store_only_gets_the_os_bundle(airflow: Server, tmp_path: Path, pki: Pki,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.root_pem))  # the OS store holds the company CA; certifi does not
    with TlsFront(airflow.url, pki.leaf()) as front:
        code, data = doctor(airflow, tmp_path, front.url)
        diagnosis = headline(data, Code.TRUSTED_BY_OS_ONLY)
        assert code == 1 and "operating system's store" in diagnosis["why_ui_works"]
        system, bundle = printed_all(diagnosis, "tls:")
        assert system == "tls:\n  verify: system" and bundle == f"tls:\n  verify: {pki.root_pem}"
        assert passes(*doctor(airflow, tmp_path, front.url, "system"), airflow)  # truststore reads SSL_CERT_FILE
        assert passes(*doctor(airflow, tmp_path, front.url, bundle.split("verify: ", 1)[1]), airflow)


def test_verify_system_does_not_trust_a_ca_missing_from_the_os_store(airflow: Server, tmp_path: Path,
                                                                     pki: Pki) -> None:
    """What can be checked here: the OS store cannot be given a CA on this machine, so verify: system is asked
    about a front whose CA is NOT in it; it must fail as a verifying browser would, naming the OS store it used."""
    with TlsFront(airflow.url, pki.leaf()) as front:
        code, data = doctor(airflow, tmp_path, front.url, "system")
        diagnosis = headline(data, Code.UNKNOWN_CA)
        assert code == 1 and "airflow-doctor Test Root CA" in diagnosis["summary"]
        assert any("(the operating system's store (tls.verify: system))" in d for d in data["results"][0]["details"])
        assert data["checked"]["ca_source"].startswith("the operating system's store")
        assert passes(*doctor(airflow, tmp_path, front.url, pki.root_pem), airflow)


def test_a_missing_intermediate_is_named_and_the_bundle_workaround_passes(airflow: Server, tmp_path: Path,
                                                                          pki: Pki) -> None:
    with issuer_server(pki) as ca:
        served = pki.leaf(send_intermediate=False, ca_issuers=f"{ca.url}/issuing.crt")
        with TlsFront(airflow.url, served) as front:
            code, data = doctor(airflow, tmp_path, front.url, pki.root_pem)
            diagnosis = headline(data, Code.MISSING_INTERMEDIATE)
            assert code == 1 and "airflow-doctor Test Issuing CA 1" in diagnosis["summary"]
            assert "CA Issuers" in diagnosis["why_ui_works"] and "full chain" in diagnosis["fix"]["text"]
            assert printed(diagnosis, "tls:") == "tls:\n  verify: /path/to/ca-with-intermediate.pem"
            bundle = tmp_path / "ca-with-intermediate.pem"  # what the printed cat line makes
            bundle.write_bytes(pki.root_pem.read_bytes() + pki.issuing_pem.read_bytes())
            assert passes(*doctor(airflow, tmp_path, front.url, bundle), airflow)
    with TlsFront(airflow.url, pki.leaf("full-chain")) as fixed:  # the server-side fix
        assert passes(*doctor(airflow, tmp_path, fixed.url, pki.root_pem), airflow)


def test_a_tls_inspecting_proxy_is_named_from_its_issuer(airflow: Server, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    proxy_ca = Pki(tmp_path / "inspector", root="Zscaler Root CA", issuing="Zscaler Intermediate Root CA (zscaler.net)",
                   organisation="Zscaler Inc.")
    monkeypatch.setenv("SSL_CERT_FILE", str(proxy_ca.root_pem))  # a managed machine: IT put the proxy's CA there
    with TlsFront(airflow.url, proxy_ca.leaf()) as front:
        code, data = doctor(airflow, tmp_path, front.url)
        diagnosis = headline(data, Code.INSPECTING_PROXY)
        assert code == 1 and "Zscaler" in diagnosis["summary"] and "IT installs" in diagnosis["why_ui_works"]
        system, bundle = printed_all(diagnosis, "tls:")
        assert system == "tls:\n  verify: system"
        assert passes(*doctor(airflow, tmp_path, front.url, "system"), airflow)
        assert passes(*doctor(airflow, tmp_path, front.url, bundle.split("verify: ", 1)[1]), airflow)


# --- the certificate itself ------------------------------------------------------------------------

def test_a_certificate_for_other_names_prints_a_listed_name_that_works(airflow: Server, tmp_path: Path,
                                                                       pki: Pki) -> None:
    with TlsFront(airflow.url, pki.leaf(names=("localhost", "airflow.doctor.test"))) as front:
        code, data = doctor(airflow, tmp_path, front.url, pki.root_pem)
        diagnosis = headline(data, Code.OTHER_NAMES)
        assert code == 1 and "localhost, airflow.doctor.test" in diagnosis["summary"]
        assert "name-mismatch warning" in diagnosis["why_ui_works"]
        url = printed(diagnosis, "url: ").removeprefix("url: ")
        assert url == f"https://localhost:{front.port}"
        assert passes(*doctor(airflow, tmp_path, url, pki.root_pem), airflow)


@pytest.mark.parametrize("expired", [True, False], ids=["expired", "not-yet-valid"])
def test_a_certificate_out_of_its_dates_passes_once_renewed(airflow: Server, tmp_path: Path, pki: Pki,
                                                            expired: bool) -> None:
    start, end = ((NOW - dt.timedelta(days=90), NOW - dt.timedelta(days=1)) if expired else
                  (NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=90)))
    with TlsFront(airflow.url, pki.leaf(valid_from=start, valid_until=end)) as front:
        code, data = doctor(airflow, tmp_path, front.url, pki.root_pem)
        diagnosis = headline(data, Code.EXPIRED if expired else Code.NOT_YET_VALID)
        assert code == 1 and ("expired on" if expired else "is not valid before") in diagnosis["summary"]
    with TlsFront(airflow.url, pki.leaf("renewed")) as renewed:
        assert passes(*doctor(airflow, tmp_path, renewed.url, pki.root_pem), airflow)


def test_a_self_signed_certificate_passes_once_trusted_by_its_own_file(airflow: Server, tmp_path: Path,
                                                                       pki: Pki) -> None:
    served = pki.self_signed()
    with TlsFront(airflow.url, served) as front:
        code, data = doctor(airflow, tmp_path, front.url)
        diagnosis = headline(data, Code.SELF_SIGNED)
        assert code == 1 and "accepted the browser's warning" in diagnosis["why_ui_works"]
        assert printed(diagnosis, "tls:") == "tls:\n  verify: /path/to/server-cert.pem"
        assert passes(*doctor(airflow, tmp_path, front.url, served.leaf), airflow)  # the saved certificate


# --- the handshake ---------------------------------------------------------------------------------

@pytest.mark.parametrize("tls12", [False, True], ids=["tls1.3", "tls1.2"])
def test_a_front_requiring_a_client_certificate_says_so(airflow: Server, tmp_path: Path, pki: Pki, tls12: bool) -> None:
    client = pki.client()
    with TlsFront(airflow.url, pki.leaf(), client_ca=pki.root_pem, tls12=tls12) as front:
        code, data = doctor(airflow, tmp_path, front.url, pki.root_pem)
        diagnosis = headline(data, Code.CLIENT_CERTIFICATE)
        assert code == 1 and "presents a client certificate" in diagnosis["why_ui_works"]
        assert any("cert=(" in c for c in diagnosis["fix"]["commands"])
        prefix = "/api/v2" if airflow.major >= 3 else "/api/v1"
        answer = requests.get(f"{front.url}{prefix}/version", verify=pki.root_pem, cert=(client.chain, client.key),
                              timeout=20)  # the printed fix as the script applies it
        assert answer.status_code == 200 and answer.json()["version"] == airflow.version
        fix = printed(diagnosis, "tls:")  # the profile's form, with the user's own paths
        lines = fix.replace("/path/client.pem", str(client.chain)).replace("/path/client.key", str(client.key))
        assert passes(*doctor(airflow, tmp_path, front.url, pki.root_pem, lines.removeprefix("tls:\n") + "\n"), airflow)


def test_http_to_the_tls_port_prints_the_https_url(airflow: Server, tmp_path: Path, pki: Pki) -> None:
    with TlsFront(airflow.url, pki.leaf()) as front:
        code, data = doctor(airflow, tmp_path, front.http_url, pki.root_pem)
        diagnosis = headline(data, Code.HTTP_TO_TLS_PORT)
        assert code == 1 and "https://" in diagnosis["why_ui_works"]
        url = printed(diagnosis, "url: ").removeprefix("url: ")
        assert url == front.url
        assert passes(*doctor(airflow, tmp_path, url, pki.root_pem), airflow)


def test_https_to_airflows_plain_port_prints_the_http_url(airflow: Server, tmp_path: Path) -> None:
    code, data = doctor(airflow, tmp_path, airflow.url.replace("http://", "https://"))
    diagnosis = headline(data, Code.HTTPS_TO_PLAIN_PORT)
    assert code == 1 and "http://" in diagnosis["why_ui_works"]
    result = data["results"][0]
    assert any(d.startswith("control: the same request as GET http://") and "answered" in d for d in result["details"])
    url = printed(diagnosis, "url: ").removeprefix("url: ")
    assert url == airflow.url and passes(*doctor(airflow, tmp_path, url), airflow)
