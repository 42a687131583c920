"""The network path a profile, --url flags and --from-curl can describe: extra headers, tls (verify true/false/
bundle/system, a client certificate and its key), the proxy. Each is read with where it came from, each bad value
is one sentence and exit 2 before any request, and the probe applies each to every request it sends."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from airflow_doctor.cli import app
from airflow_doctor.probe import Probe
from airflow_doctor.secrets import SecretRegistry
from airflow_doctor.sources import curl
from airflow_doctor.sources.curl_network import _cert_and_password
from airflow_doctor.sources.profiles_file import resolve
from airflow_doctor.transport import NO_PROXY
from tests.conftest import write_profile
from tests.fronts import Pki, TlsFront, recorded_airflow
from tests.servers import LocalServer, Reply

KEY = "gw-canary-key-6f1d2e"
KEY_PASSWORD = "key-pass-9c4b71"


@pytest.fixture(autouse=True)
def no_environment_path(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A client certificate with its key, the key encrypted, another certificate's key, a CA bundle (openssl)."""
    where = tmp_path_factory.mktemp("certs")
    for name in ("client", "other"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", where / f"{name}.key",
                        "-out", where / f"{name}.pem", "-days", "2", "-subj", f"/CN={name}"], check=True,
                       capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", where / "client.key", "-aes256", "-passout", f"pass:{KEY_PASSWORD}",
                    "-out", where / "encrypted.key"], check=True, capture_output=True)
    return {"cert": where / "client.pem", "key": where / "client.key", "encrypted": where / "encrypted.key",
            "other_key": where / "other.key", "bundle": where / "other.pem"}


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None):
    profile, _ = resolve(str(write_profile(tmp_path, text, name="p.yml")), None, env=env or {})
    return profile


def show(tmp_path: Path, text: str, env: dict[str, str] | None = None):
    path = write_profile(tmp_path, text, name="p.yml")
    return CliRunner().invoke(app, ["profiles", "show", str(path)], env=env or {})


def one_sentence(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("airflow-doctor: error: ") and "Traceback" not in result.output
    return lines[0]


# --- the profile -----------------------------------------------------------------------------------

def test_a_profile_carries_headers_tls_and_proxy_with_where_each_came_from(tmp_path: Path,
                                                                            files: dict[str, Path]) -> None:
    (tmp_path / "team.txt").write_text("team-value-1234\n")
    text = (f"url: https://airflow.example\nheaders:\n  X-Api-Key: ${{GW_KEY}}\n  X-Team_file: {tmp_path / 'team.txt'}\n"
            f"tls:\n  verify: system\n  client_cert: {files['cert']}\n  client_key: {files['encrypted']}\n"
            f"  client_key_password: ${{KEY_PW}}\nproxy: http://svc:proxy-pw-77a1@proxy.corp:3128\n")
    env = {"GW_KEY": KEY, "KEY_PW": KEY_PASSWORD}
    profile = load(tmp_path, text, env)
    net = profile.network
    assert [(h.name, h.value.reveal(), h.variable) for h in net.headers] == [
        ("X-Api-Key", KEY, "GW_KEY"), ("X-Team", "team-value-1234", "AIRFLOW_HEADER_X_TEAM")]
    assert net.system_ca and profile.verify is True and net.cert == (str(files["cert"]), str(files["encrypted"]))
    assert net.client_key_password.reveal() == KEY_PASSWORD and net.proxy_shown == "http://proxy.corp:3128"
    assert profile.sources["headers.X-Api-Key"].startswith("env $GW_KEY") and "team.txt" in profile.sources["headers.X-Team"]
    shown = show(tmp_path, text, env)
    assert shown.exit_code == 0, shown.output
    for secret in (KEY, "team-value-1234", KEY_PASSWORD, "proxy-pw-77a1"):
        assert secret not in shown.output
    assert "headers.X-Api-Key" in shown.output and "http://proxy.corp:3128" in shown.output
    assert "tls.verify               system" in shown.output


def test_the_defaults_are_what_requests_does(tmp_path: Path) -> None:
    profile = load(tmp_path, "url: https://airflow.example\n")
    assert profile.verify is True and profile.network.headers == () and profile.network.proxy is None
    assert load(tmp_path, "url: https://a.example\nproxy: none\n").network.proxy == NO_PROXY
    assert load(tmp_path, "url: https://a.example\ntls: {verify: false}\n").verify is False


@pytest.mark.parametrize("lines, words", [
    ("tls: {verify: sytem}", "verify 'sytem' is neither a known word nor a file path"),
    ("tls: {verify: /nonexistent/ca.pem}", "the CA bundle /nonexistent/ca.pem does not exist"),
    ("tls: {client_cert: /nonexistent/c.pem}", "the client certificate /nonexistent/c.pem does not exist"),
    ("tls: {client_cert: CERT, client_key: OTHER_KEY}", "does not match the client certificate"),
    ("tls: {client_cert: CERT, client_key: ENCRYPTED}", "is encrypted and no password was given"),
    ("tls: {client_cert: CERT, client_key: ENCRYPTED, client_key_password: wrong-pass}", "the password given does not open it"),
    ("tls: {client_key: KEY}", "tls has a client key but no client_cert"),
    ("tls: {client_crt: CERT}", "unknown key 'client_crt' in 'tls'; did you mean 'client_cert'?"),
    ("header: {X-Api-Key: v}", "unknown key 'header' in profile 'p'; did you mean 'headers'?"),
    ("proxi: none", "did you mean 'proxy'?"),
    ("headers: {'X Api Key': v}", "'X Api Key' is not a header name"),
    ("headers: {X-Api-Key: \"a\\nb\"}", "holds a line break"),
    ("headers: {Authorization: Bearer x}", "auth type token with scheme: none"),
    ("headers: {X-Api-Key: ''}", "has no value"),
    ("proxy: proxy.corp:3128", "the proxy proxy.corp:3128 has no scheme; write it as http://proxy.corp:3128"),
    ("proxy: ftp://proxy.corp", "is not one requests speaks"),
], ids=lambda v: v if len(v) < 40 else v[:40])
def test_each_bad_network_value_is_one_sentence_naming_the_line(tmp_path: Path, files: dict[str, Path], lines: str,
                                                                 words: str) -> None:
    for name, path in (("OTHER_KEY", files["other_key"]), ("ENCRYPTED", files["encrypted"]), ("CERT", files["cert"]),
                       ("KEY", files["key"])):
        lines = lines.replace(name, str(path))
    message = one_sentence(show(tmp_path, f"url: https://airflow.example\n{lines}\n"))
    assert words in message and "p.yml line 2" in message


# --- --url flags -----------------------------------------------------------------------------------

@pytest.fixture
def nothing_listens():
    """A server that must not be asked: a bad flag is refused before any request."""
    with LocalServer(lambda h: Reply(500)) as server:
        yield server
    assert server.requests == []


@pytest.mark.parametrize("flags, words", [
    (["--header", "X-Api-Key"], "--header: the header 'X-Api-Key' has no colon"),
    (["--header", "X-Api-Key: a\nb"], "holds a line break"),
    (["--header", "X-Api-Key: ${NOT_SET_ANYWHERE}"], "${NOT_SET_ANYWHERE} is not set"),
    (["--header", "Authorization: Bearer abc"], "--token-env"),
    (["-H", "X-A: 1", "-H", "x-a: 2"], "names the same header twice"),
    (["--cacert", "/nonexistent/ca.pem"], "--cacert: the CA bundle /nonexistent/ca.pem does not exist"),
    (["--client-cert", "CERT", "--client-key", "OTHER_KEY"], "--client-cert: the client key"),
    (["--client-key", "KEY"], "add --client-cert"),
    (["--proxy", "proxy.corp:3128"], "--proxy: the proxy proxy.corp:3128 has no scheme"),
    (["--insecure", "--cacert", "CERT"], "keep one"),
    (["--ca-native", "-k"], "keep one"),
    (["--timeout", "0"], "--timeout takes seconds between 0 and 600"),
])
def test_each_bad_flag_is_one_sentence_and_no_request(nothing_listens: LocalServer, files: dict[str, Path],
                                                      flags: list[str], words: str) -> None:
    flags = [str(files["other_key"]) if f == "OTHER_KEY" else str(files["cert"]) if f == "CERT" else
             str(files["key"]) if f == "KEY" else f for f in flags]
    result = CliRunner().invoke(app, ["check", "--url", nothing_listens.url, *flags])
    assert words in one_sentence(result)


def test_network_flags_without_url_say_they_go_with_url() -> None:
    assert "go with --url" in one_sentence(CliRunner().invoke(app, ["check", "--header", "X-A: 1"]))


def test_url_flags_describe_the_same_settings_as_a_profile(files: dict[str, Path]) -> None:
    from airflow_doctor.sources.url import NetworkFlags, ServerArgs, profile_from_options

    flags = NetworkFlags(("X-Api-Key: ${GW_KEY}", "X-Lit: literal-1234"), str(files["bundle"]), None, None,
                         str(files["cert"]), str(files["key"]), "http://u:proxy-pw-77a1@proxy.corp:3128", 7.5)
    registry = SecretRegistry()
    profile = profile_from_options(ServerArgs("https://airflow.example", network=flags), lambda _: None,
                                   env={"GW_KEY": KEY}, registry=registry)
    net = profile.network
    assert [(h.name, h.value.reveal(), h.variable) for h in net.headers] == [
        ("X-Api-Key", KEY, "GW_KEY"), ("X-Lit", "literal-1234", "AIRFLOW_HEADER_X_LIT")]
    assert profile.verify == str(files["bundle"]) and net.cert == (str(files["cert"]), str(files["key"]))
    assert (profile.connect_timeout, profile.read_timeout) == (7.5, 7.5) and net.proxy_shown == "http://proxy.corp:3128"
    assert registry.scrub(f"{KEY} literal-1234 proxy-pw-77a1") == "*** *** ***"
    assert profile.sources["headers.X-Api-Key"] == "--header (env $GW_KEY)" and profile.sources["proxy"] == "--proxy"
    native = profile_from_options(ServerArgs("https://airflow.example", network=NetworkFlags(ca_native=True)),
                                  lambda _: None, registry=registry)
    assert native.network.system_ca and native.verify is True


# --- --from-curl -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, cert, password", [
    ("/c/client.pem", "/c/client.pem", None),
    ("/c/client.pem:s3cret", "/c/client.pem", "s3cret"),
    ("/c/client.pem:pa:ss", "/c/client.pem", "pa:ss"),
    ("/c/odd\\:name.pem:pw", "/c/odd:name.pem", "pw"),
    ("C:\\certs\\client.pem:pw", "C:\\certs\\client.pem", "pw"),
])
def test_curl_cert_colon_password_is_split_as_curl_does(value: str, cert: str, password: str | None) -> None:
    assert _cert_and_password(value, None) == (cert, password)


def test_curl_network_options_become_the_profile_fields(files: dict[str, Path]) -> None:
    command = (f"curl -H 'X-Api-Key: $GW_KEY' -H 'X-Lit: literal-1234' -H 'Accept: application/json' "
               f"--cacert {files['bundle']} -E {files['cert']}:{KEY_PASSWORD} --key {files['encrypted']} "
               "-x svc:proxy-pw-77a1@proxy.corp:3128 -m 9 --connect-timeout 3 https://airflow.example/api/v2/version")
    registry = SecretRegistry()
    imported = curl.to_profile(curl.parse(command, {"GW_KEY": KEY}), registry=registry)
    profile, net = imported.profile, imported.profile.network
    assert [(h.name, h.variable) for h in net.headers] == [("X-Api-Key", "GW_KEY"), ("X-Lit", "AIRFLOW_HEADER_X_LIT")]
    assert profile.verify == str(files["bundle"]) and net.cert == (str(files["cert"]), str(files["encrypted"]))
    assert net.client_key_password.reveal() == KEY_PASSWORD
    assert net.proxy == "http://svc:proxy-pw-77a1@proxy.corp:3128" and net.proxy_shown == "http://proxy.corp:3128"
    assert (profile.connect_timeout, profile.read_timeout) == (3, 9)
    for secret in (KEY_PASSWORD, "literal-1234", "proxy-pw-77a1"):
        assert secret not in imported.shown_command and registry.leaks(secret)
    assert "$AIRFLOW_CLIENT_KEY_PASSWORD" in imported.shown_command and "$AIRFLOW_PROXY_PASSWORD" in imported.shown_command


@pytest.mark.parametrize("options, verify, system_ca, proxy", [
    ("-k", False, False, None),
    ("--insecure", False, False, None),
    ("--ca-native", True, True, None),
    ("--noproxy '*' -x http://p:3128", True, False, NO_PROXY),
    ("--noproxy example -x http://p:3128", True, False, NO_PROXY),
    ("--noproxy other.host -x http://p:3128", True, False, "http://p:3128"),
    ("--proxy http://p:3128", True, False, "http://p:3128"),
])
def test_curl_verify_and_proxy_options(options: str, verify, system_ca: bool, proxy: str | None) -> None:
    imported = curl.to_profile(curl.parse(f"curl {options} https://airflow.example/api/v2/version", {}),
                               registry=SecretRegistry())
    assert (imported.profile.verify, imported.profile.network.system_ca, imported.profile.network.proxy) == (
        verify, system_ca, proxy)


def test_profiles_add_from_curl_saves_every_network_secret_as_a_reference(tmp_path: Path,
                                                                          files: dict[str, Path]) -> None:
    command = (f"curl -H 'X-Api-Key: $GW_KEY' -H 'X-Lit: literal-1234' -E {files['cert']}:{KEY_PASSWORD} "
               f"--key {files['encrypted']} -x http://svc:proxy-pw-77a1@proxy.corp:3128 --ca-native "
               "https://airflow.example/api/v2/dags/d/dagRuns")
    target = tmp_path / "profiles.yml"
    added = CliRunner().invoke(app, ["profiles", "add", "corp", "--profiles-file", str(target), "--from-curl", command],
                               env={"GW_KEY": KEY})
    assert added.exit_code == 0, added.output
    saved = target.read_text()
    for secret in (KEY, "literal-1234", KEY_PASSWORD, "proxy-pw-77a1"):
        assert secret not in saved and secret not in added.output
    body = yaml.safe_load(saved)["profiles"]["corp"]
    assert body["headers"] == {"X-Api-Key": "${GW_KEY}", "X-Lit": "${AIRFLOW_HEADER_X_LIT}"}
    assert body["tls"] == {"verify": "system", "client_cert": str(files["cert"]), "client_key": str(files["encrypted"]),
                           "client_key_password": "${AIRFLOW_CLIENT_KEY_PASSWORD}"}
    assert body["proxy"] == "http://svc:${AIRFLOW_PROXY_PASSWORD}@proxy.corp:3128"
    env = {"GW_KEY": KEY, "AIRFLOW_HEADER_X_LIT": "literal-1234", "AIRFLOW_CLIENT_KEY_PASSWORD": KEY_PASSWORD,
           "AIRFLOW_PROXY_PASSWORD": "proxy-pw-77a1"}
    profile, _ = resolve("corp", str(target), env=env)
    assert profile.network.proxy == "http://svc:proxy-pw-77a1@proxy.corp:3128"
    assert [h.value.reveal() for h in profile.network.headers] == [KEY, "literal-1234"]


# --- the probe applies them ------------------------------------------------------------------------

def echo(handler) -> Reply:  # type: ignore[no-untyped-def]
    return Reply(200, {"Content-Type": "application/json"}, json.dumps(dict(handler.headers.items())).encode())


def test_extra_headers_go_on_every_request_and_a_requests_own_header_and_auth_win() -> None:
    from airflow_doctor.probe import BearerAuth

    with LocalServer(echo) as server:
        probe = Probe(server.url, headers={"X-Api-Key": KEY, "X-Trace": "profile"})
        probe.get("/a")
        probe.post("/b", json={}, headers={"X-Trace": "request"}, auth=BearerAuth("tok"))
        first, second = (headers for _, _, headers in server.requests)
        assert first["X-Api-Key"] == KEY and second["X-Api-Key"] == KEY
        assert second["X-Trace"] == "request" and second["Authorization"] == "Bearer tok"
        assert "Authorization" not in first
    with pytest.raises(ValueError):
        Probe("http://x", headers={"authorization": "Bearer x"})


def test_proxy_none_goes_direct_even_with_http_proxy_set_and_an_explicit_proxy_is_used(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalServer(echo) as target, LocalServer(lambda h: Reply(200, {"Content-Type": "text/plain"},
                                                                  f"proxied {h.path}".encode())) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        assert Probe(target.url).get("/v").text.startswith("proxied")
        direct = Probe(target.url, proxy=NO_PROXY)
        assert direct.get("/v").status == 200 and len(target.requests) == 1
        assert direct.environment()[0] == ("proxy", "none (the profile's proxy: none)")
        monkeypatch.delenv("HTTP_PROXY")
        via = Probe(target.url, proxy=f"http://svc:proxy-pw-77a1@127.0.0.1:{proxy.url.rsplit(':', 1)[1]}")
        assert via.get("/w").text == f"proxied {target.url}/w"
        assert proxy.requests[-1][2]["Proxy-Authorization"].startswith("Basic ")
        assert via.environment()[0] == ("proxy", f"{proxy.url} (the profile's proxy)")


def test_environment_names_the_ca_source_client_certificate_and_header_names_never_values(
        files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    probe = Probe("https://airflow.example", headers={"X-Api-Key": KEY}, cert=(str(files["cert"]), str(files["key"])),
                  system_ca=True)
    rows = dict(probe.environment())
    assert rows["CA"] == "the operating system's store (tls.verify: system)"
    assert rows["client certificate"] == str(files["cert"]) and rows["extra headers"] == "X-Api-Key"
    assert KEY not in json.dumps(rows)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/corp-ca.pem")
    assert dict(Probe("https://airflow.example").environment())["CA"] == "/etc/corp-ca.pem (from $REQUESTS_CA_BUNDLE)"
    assert dict(Probe("https://airflow.example", verify=str(files["bundle"])).environment())["CA"].endswith(
        "(the profile's tls.verify)")


def test_system_store_verifies_with_the_os_store_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """truststore reads the OS store; on Linux SSL_CERT_FILE names it, so the test CA stands in for a company CA."""
    pki = Pki(tmp_path / "pki")
    with recorded_airflow() as backend, TlsFront(backend.url, pki.leaf()) as front:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.root_pem))  # ignored: the user asked for the OS store
        from airflow_doctor.probe import TransportError

        with pytest.raises(TransportError):
            Probe(front.url, system_ca=True, connect_timeout=2, read_timeout=5).get("/api/v2/version")
        monkeypatch.setenv("SSL_CERT_FILE", str(pki.root_pem))
        assert Probe(front.url, system_ca=True, connect_timeout=2, read_timeout=5).get("/api/v2/version").status == 200


def test_an_encrypted_client_key_with_its_password_completes_mutual_tls(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    client = pki.client()
    encrypted = tmp_path / "client-encrypted.key"
    subprocess.run(["openssl", "pkey", "-in", client.key, "-aes256", "-passout", f"pass:{KEY_PASSWORD}", "-out",
                    encrypted], check=True, capture_output=True)
    with recorded_airflow() as backend, TlsFront(backend.url, pki.leaf(), client_ca=pki.root_pem) as front:
        probe = Probe(front.url, verify=str(pki.root_pem), cert=(str(client.chain), str(encrypted)),
                      key_password=KEY_PASSWORD, connect_timeout=2, read_timeout=5)
        assert probe.get("/api/v2/version").status == 200
