"""Servers that misbehave: every case ends in bounded time and memory, with no traceback, and says what happened."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import time
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from airflow_doctor.http import Layer, Probe, TransportError
from tests.conftest import write_profile
from tests.servers import LocalServer, Reply

FIFTY_MB = 50 * 1024 * 1024


def raw(handler, data: bytes, close: bool = True) -> None:
    handler.wfile.write(data)
    handler.wfile.flush()
    if close:
        handler.close_connection = True


def huge_announced(handler):
    raw(handler, f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {FIFTY_MB}\r\n\r\n".encode()
        + b"[" * 65536)


def huge_streamed(handler):
    raw(handler, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n", close=False)
    chunk = b"x" * 65536
    try:
        for _ in range(FIFTY_MB // len(chunk)):
            handler.wfile.write(chunk)
    except OSError:
        pass
    handler.close_connection = True


def drip(handler):
    raw(handler, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n", close=False)
    try:
        for _ in range(100):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(1)
    except OSError:
        pass
    handler.close_connection = True


def never_ends(handler):
    raw(handler, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n", close=False)
    try:
        while True:
            handler.wfile.write(b"400\r\n" + b"y" * 1024 + b"\r\n")
            handler.wfile.flush()
            time.sleep(0.001)
    except OSError:
        pass


def headers_then_silence(handler):
    raw(handler, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n", close=False)
    time.sleep(8)


def closed_mid_response(handler):
    raw(handler, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"version\"")
    handler.connection.shutdown(socket.SHUT_RDWR)


def not_http(handler):
    raw(handler, b"SSH-2.0-OpenSSH_9.2\r\n")


CASES = [
    ("a 50 MB body (announced)", huge_announced, "body-too-large", 3),
    ("a 50 MB body (streamed)", huge_streamed, "body-too-large", 5),
    ("a body that drips one byte a second", drip, "read-timeout", 5),
    ("a response that never ends", never_ends, "body-too-large", 5),
    ("headers, then silence", headers_then_silence, "read-timeout", 5),
    ("a connection closed mid-response", closed_mid_response, "connection-closed", 3),
    ("an answer that is not HTTP", not_http, "connection", 3),
    ("a redirect loop", lambda h: Reply(302, {"Location": h.path}), "redirected (302)", 3),
    ("a redirect to another host", lambda h: Reply(301, {"Location": "https://elsewhere.example.com" + h.path}),
     "redirected (301) to https://elsewhere.example.com", 3),
    ("invalid JSON with a JSON content type", lambda h: Reply(200, {"Content-Type": "application/json"}, b'{"version": '),
     "not Airflow", 3),
    ("invalid UTF-8", lambda h: Reply(200, {"Content-Type": "application/json"}, b'{"version": "\xff\xfe\xfa"}'),
     "not Airflow", 3),
    ("HTML with status 200 on every path",
     lambda h: Reply(200, {"Content-Type": "text/html"}, b"<html><title>Welcome to nginx!</title></html>"),
     "answered 200 with an HTML page titled 'Welcome to nginx!'", 3),
]


@pytest.mark.parametrize("name, route, says, limit", CASES, ids=[c[0] for c in CASES])
def test_hostile_server_gives_a_bounded_clear_answer(tmp_path: Path, name: str, route, says: str, limit: float) -> None:
    with LocalServer(route) as server:
        profile = write_profile(tmp_path, f"url: {server.url}\ntimeout: {{connect: 1, read: 2}}\n", name="h.yml")
        started = time.monotonic()
        result = CliRunner().invoke(app, ["check", "--profile", str(profile), "--format", "json"])
        elapsed = time.monotonic() - started
    assert elapsed < limit, f"{name} took {elapsed:.1f} s"
    assert result.exit_code == 1 and "Traceback" not in result.output
    data = json.loads(result.stdout)
    first = data["results"][0]
    assert first["check_id"] == "reachability" and first["status"] == "fail"
    assert says in first["summary"], first["summary"]
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
        assert first["summary"].startswith("tls:") and "self-signed" in first["summary"]
        assert "verify: /path/to/company-ca.pem" in first["fix"]["commands"][0]
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
