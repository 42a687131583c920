"""What the network settings put in the report: no header value, proxy password or client key password in any
format or verbosity (even where a hostile server repeats them); a working request that carries the extra headers
and works when executed; one report-level warning where verification is off."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_doctor.checks.readers import working_request
from airflow_doctor.cli import app
from airflow_doctor.doctor import redacted_request
from airflow_doctor.secrets import Secret
from airflow_doctor.sources.profile import Header, Network
from airflow_doctor.transport import NO_PROXY
from tests.conftest import check_context, write_profile
from tests.fronts import Pki, TlsFront, recorded_airflow
from tests.servers import LocalServer, Reply, closed_port
from tests.unit.test_canary import OUTPUTS

HEADER_VALUE = "hdr-canary-41f0c9e2"
PROXY_PASSWORD = "proxy-canary-8d13be"
KEY_PASSWORD = "keypw-canary-27ac55"
CANARIES = (HEADER_VALUE, PROXY_PASSWORD, KEY_PASSWORD)


@pytest.fixture(autouse=True)
def no_environment_path(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)


def forms(secret: str) -> list[str]:
    return [secret, base64.b64encode(secret.encode()).decode().rstrip("="),
            base64.b64encode(f"svc:{secret}".encode()).decode().rstrip("=")]


def assert_clean(text: str, where: str, secrets: tuple[str, ...] = CANARIES) -> None:
    for secret in secrets:
        for form in forms(secret):
            assert form not in text, f"{where} leaks {form!r}"


def hostile_proxy(handler) -> Reply:  # type: ignore[no-untyped-def]
    """A forward proxy that answers for the server and repeats everything: the request's headers (Proxy-Authorization
    decoded too) in its headers and body, and every canary as if it had learnt them."""
    headers = dict(handler.headers.items())
    scheme, _, credential = headers.get("Proxy-Authorization", "").partition(" ")
    decoded = base64.b64decode(credential).decode() if scheme == "Basic" else ""
    body = json.dumps({"detail": f"you sent {headers} ({decoded})", "headers": headers, "known": list(CANARIES),
                       "note": " ".join(CANARIES)})
    return Reply(403, {"Content-Type": "application/json", "X-Echo": headers.get("X-Api-Key", ""),
                       "X-Proxy-User": decoded}, body.encode())


@pytest.fixture(scope="module")
def client_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("client")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-keyout", where / "client.key", "-passout",
                    f"pass:{KEY_PASSWORD}", "-out", where / "client.pem", "-days", "2", "-subj", "/CN=c"], check=True,
                   capture_output=True)
    return where / "client.pem", where / "client.key"


def test_no_header_value_proxy_password_or_key_password_in_any_output(tmp_path: Path,
                                                                      client_files: tuple[Path, Path]) -> None:
    cert, key = client_files
    env = {"GW_KEY": HEADER_VALUE, "PROXY_PW": PROXY_PASSWORD, "KEY_PW": KEY_PASSWORD}
    with LocalServer(hostile_proxy) as proxy:
        port = proxy.url.rsplit(":", 1)[1]
        profile = write_profile(tmp_path, (
            f"url: http://airflow.internal:8080\nauth: {{type: basic, username: admin, password: airflow-pw-1234}}\n"
            f"dag_id: d\nheaders:\n  X-Api-Key: ${{GW_KEY}}\ntls:\n  client_cert: {cert}\n  client_key: {key}\n"
            f"  client_key_password: ${{KEY_PW}}\nproxy: http://svc:${{PROXY_PW}}@127.0.0.1:{port}\n"
            "timeout: {connect: 1, read: 3}\n"), name="c.yml")
        for output_format, verbosity in OUTPUTS:
            args = ["check", "--profile", str(profile), "--format", output_format] + ["-v"] * verbosity
            result = CliRunner().invoke(app, args, env=env)
            assert result.exit_code == 1, result.output
            assert_clean(result.output, f"{output_format} -v{verbosity}")
        shown = CliRunner().invoke(app, ["profiles", "show", str(profile)], env=env)
        assert shown.exit_code == 0 and "http://127.0.0.1" in shown.output
        assert_clean(shown.output, "profiles show")
    sent = [headers for _, _, headers in proxy.requests]
    assert sent and all(h.get("X-Api-Key") == HEADER_VALUE and "Proxy-Authorization" in h for h in sent), \
        "the header and the proxy credentials were never sent, so the echo path was not exercised"


def test_no_url_flag_secret_in_any_output(tmp_path: Path) -> None:
    with LocalServer(hostile_proxy) as proxy:
        port = proxy.url.rsplit(":", 1)[1]
        for output_format, verbosity in OUTPUTS:
            result = CliRunner().invoke(app, [
                "check", "--url", "http://airflow.internal:8080", "-H", "X-Api-Key: ${GW_KEY}", "--proxy",
                f"http://svc:{PROXY_PASSWORD}@127.0.0.1:{port}", "--timeout", "3", "--format", output_format,
                *["-v"] * verbosity], env={"GW_KEY": HEADER_VALUE})
            assert result.exit_code == 1, result.output
            assert_clean(result.output, f"--url {output_format} -v{verbosity}", (HEADER_VALUE, PROXY_PASSWORD))


# --- the working request ---------------------------------------------------------------------------

def gateway_airflow(major: int):  # type: ignore[no-untyped-def]
    """A trigger endpoint behind a gateway that refuses any request without X-Api-Key (401 from the gateway)."""
    def route(handler) -> Reply:  # type: ignore[no-untyped-def]
        if handler.headers.get("X-Api-Key") != HEADER_VALUE:
            return Reply(401, {"Content-Type": "application/json"}, b'{"message": "missing or invalid API key"}')
        if handler.path == "/auth/token" and handler.command == "POST":
            body = json.loads(handler.request_body)
            ok = body == {"username": "admin", "password": "secret-pw"}
            return Reply(201 if ok else 401, {"Content-Type": "application/json"},
                         json.dumps({"access_token": "jwt-1"} if ok else {"detail": "bad"}).encode())
        expected = "Bearer jwt-1" if major >= 3 else "Basic " + base64.b64encode(b"admin:secret-pw").decode()
        if handler.command == "POST" and handler.path.endswith("/dags/doctor_demo/dagRuns"):
            if handler.headers.get("Authorization") != expected:
                return Reply(401, {"Content-Type": "application/json"}, b'{"detail": "Unauthorized"}')
            return Reply(200, {"Content-Type": "application/json"}, b'{"dag_run_id": "manual__1"}')
        return Reply(404)
    return LocalServer(route)


@pytest.mark.parametrize("api", ["/api/v1", "/api/v2"])
def test_the_printed_request_carries_the_extra_headers_and_works(api: str) -> None:
    """Both snippets, as printed (redacted), executed with the header's variable and the password in the
    environment and a dead HTTP_PROXY that proxy: none must bypass."""
    major = 3 if api == "/api/v2" else 2
    with gateway_airflow(major) as server:
        ctx = check_context(server.url, api=api, version="3.3.2" if major >= 3 else "2.10.5",
                            auth_type="jwt" if major >= 3 else "basic")
        net = Network((Header("X-Api-Key", Secret(HEADER_VALUE), "GW_KEY"),), proxy=NO_PROXY)
        profile = dataclasses.replace(ctx.profile, network=net)
        printed = redacted_request(working_request.build(profile, ctx.facts, []))
        code = {s.label: s.code for s in printed.snippets}
        assert '-H "X-Api-Key: $GW_KEY"' in code["curl"] and "--noproxy '*'" in code["curl"]
        assert '"X-Api-Key": os.environ["GW_KEY"]' in code["Python (requests)"]
        assert any("GW_KEY (the X-Api-Key header)" in n for n in printed.notes)
        assert HEADER_VALUE not in json.dumps(dataclasses.asdict(printed))
        env = {**os.environ, "GW_KEY": HEADER_VALUE, "AIRFLOW_PASSWORD": "secret-pw",
               "HTTP_PROXY": f"http://127.0.0.1:{closed_port()}", "LC_ALL": "C.UTF-8"}
        shell = subprocess.run(["bash", "-c", code["curl"]], env=env, capture_output=True, text=True, timeout=60)
        assert shell.returncode == 0 and json.loads(shell.stdout)["dag_run_id"] == "manual__1", shell.stderr
        python = subprocess.run([sys.executable, "-c", code["Python (requests)"]], env=env, capture_output=True,
                                text=True, timeout=60)
        assert python.returncode == 0 and python.stdout.strip() == "manual__1", python.stderr
        without = subprocess.run(["bash", "-c", code["curl"]], env={**env, "GW_KEY": "wrong"}, capture_output=True,
                                 text=True, timeout=60)
        assert without.returncode != 0  # the gateway really requires the header the snippet sends


def test_the_printed_request_carries_tls_and_proxy_settings(tmp_path: Path) -> None:
    ctx = check_context("https://airflow.example", api="/api/v2", version="3.3.2", auth_type="jwt")
    net = Network(system_ca=True, client_cert="/etc/c.pem", client_key="/etc/c.key",
                  client_key_password=Secret(KEY_PASSWORD), proxy=f"http://svc:{PROXY_PASSWORD}@proxy.corp:3128")
    printed = redacted_request(working_request.build(dataclasses.replace(ctx.profile, network=net), ctx.facts, []))
    code = {s.label: s.code for s in printed.snippets}
    assert "--ca-native" in code["curl"] and "--cert /etc/c.pem" in code["curl"] and "--key /etc/c.key" in code["curl"]
    assert '-x http://proxy.corp:3128 --proxy-user "svc:$AIRFLOW_PROXY_PASSWORD"' in code["curl"]
    assert "truststore.inject_into_ssl()" in code["Python (requests)"]
    assert 'cert=("/etc/c.pem", "/etc/c.key")' in code["Python (requests)"]
    assert_clean(json.dumps(dataclasses.asdict(printed)), "working request")


# --- verification off ------------------------------------------------------------------------------

def test_verification_off_is_said_once_in_every_format(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    with recorded_airflow() as backend, TlsFront(backend.url, pki.self_signed()) as front:
        profile = write_profile(tmp_path, f"url: {front.url}\ntls: {{verify: false}}\ntimeout: {{connect: 2, read: 5}}\n")
        for output_format in ("text", "markdown", "json", "junit"):
            result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--only", "reachability",
                                              "--format", output_format])
            assert result.exit_code == 0, result.output
            assert result.output.count("TLS verification is off for this profile") == 1, (output_format, result.output)
            assert "an expired certificate" in result.output
        data = json.loads(CliRunner().invoke(app, ["check", "--profile", str(profile), "--only", "reachability",
                                                   "--format", "json"]).output)
        assert data["results"][0]["status"] == "pass" and data["warnings"][0].startswith("TLS verification is off")
        on = write_profile(tmp_path, f"url: {front.url}\ntls: {{verify: {pki.root_pem}}}\n", name="on.yml")
        quiet = CliRunner().invoke(app, ["check", "--profile", str(on), "--only", "reachability"])
        assert "TLS verification is off" not in quiet.output
