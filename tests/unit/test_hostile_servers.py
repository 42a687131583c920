"""Servers that misbehave: every case ends by the doctor's own limits (body cap, read deadline, no redirects), in
bounded memory, with no traceback, and says what happened. How long each takes is measured by tests/benchmarks/bench.py."""

from __future__ import annotations

import json
import ssl
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from airflow_doctor.probe import Layer, Probe, TransportError
from tests.conftest import write_profile
from tests.servers import HOSTILE, Hostile, LocalServer, Reply, huge_streamed


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_hostile_server_gives_a_bounded_clear_answer(tmp_path: Path, hostile: Hostile) -> None:
    with LocalServer(hostile.route) as server:
        profile = write_profile(tmp_path, f"url: {server.url}\ntimeout: {{connect: 1, read: 2}}\n", name="h.yml")
        result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    data = json.loads(result.stdout)
    first = data["results"][0]
    assert first["check_id"] == "reachability" and first["status"] == "fail"
    assert hostile.says in first["summary"], first["summary"]
    assert all(len(e["response_body"] or "") <= 2000 for e in first["evidence"])


def test_a_huge_stream_is_read_in_bounded_memory() -> None:
    with LocalServer(huge_streamed) as server:
        tracemalloc.start()
        with pytest.raises(TransportError) as caught:
            Probe(server.url).get("/api/v2/version")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert caught.value.layer is Layer.BODY_TOO_LARGE and peak < 12 * 1024 * 1024


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return key, cert


def test_self_signed_tls_is_named_and_a_ca_bundle_fixes_it(tmp_path: Path, self_signed: tuple[Path, Path]) -> None:
    key, cert = self_signed
    server = LocalServer(lambda h: Reply(200, {"Content-Type": "application/json"}, b'{"version": "3.3.2"}'))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    with server:
        url = f"https://127.0.0.1:{server.port}"
        profile = write_profile(tmp_path, f"url: {url}\ntimeout: {{connect: 1, read: 2}}\n", name="tls.yml")
        data = json.loads(CliRunner().invoke(app, ["check", "--profile", str(profile), "-f", "json"]).stdout)
        first = data["results"][0]
        assert "the TLS handshake failed" in first["summary"] and "self-signed" in first["summary"]
        assert "verify: /path/to/server-cert.pem" in first["fix"]["commands"][-1], "issue 17: the certificate's own fix"
        assert first["code"] == "tls-self-signed"
        trusted = write_profile(tmp_path, f"url: {url}\ntls: {{verify: {cert}}}\ntimeout: {{connect: 1, read: 2}}\n",
                                name="trusted.yml")
        data = json.loads(CliRunner().invoke(app, ["check", "--profile", str(trusted), "-f", "json",
                                                    "--only", "reachability"]).stdout)
        assert data["results"][0]["summary"].startswith("Airflow 3.3.2, API at https://127.0.0.1")


def test_plain_http_to_a_tls_port_says_so(tmp_path: Path, self_signed: tuple[Path, Path]) -> None:
    key, cert = self_signed
    server = LocalServer(lambda h: Reply(200))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    with server:
        result = Probe(f"http://127.0.0.1:{server.port}", read_timeout=2)
        with pytest.raises(TransportError) as caught:
            result.get("/api/v2/version")
    assert caught.value.layer in (Layer.CONNECTION_CLOSED, Layer.CONNECTION, Layer.READ_TIMEOUT)


def test_escape_sequences_from_a_server_never_reach_the_terminal(tmp_path: Path) -> None:
    evil = b"\x1b[2J\x1b]0;pwned\x07gone"
    with LocalServer(lambda h: Reply(404, {"Content-Type": "text/plain", "Server": "evil\x1b[31m"}, evil)) as server:
        profile = write_profile(tmp_path, f"url: {server.url}\ntimeout: {{connect: 1, read: 2}}\n", name="e.yml")
        for args in ([], ["-vv"], ["-f", "markdown"]):
            result = CliRunner().invoke(app, ["check", "--profile", str(profile), *args])
            assert "\x1b" not in result.output and "\\x1b[2J" in result.output
