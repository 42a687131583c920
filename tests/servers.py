"""Real local HTTP servers (stdlib, 127.0.0.1, free ports) that behave like the things found in front of Airflow.

Airflow's own answers are recorded from real Airflow (tests/recorded); these serve what proxies,
login gates and broken servers do, over a real socket.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


Route = Callable[[BaseHTTPRequestHandler], "Reply | None"]


class LocalServer:
    """Answers each request with `route(handler)`; a route returning None handles the socket itself."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                outer.requests.append((self.command, self.path, dict(self.headers.items())))
                length = int(self.headers.get("Content-Length") or 0)
                self.request_body = self.rfile.read(length) if length else b""
                reply = outer.route(self)
                if reply is None:
                    return
                self.send_response_only(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "LocalServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BlackHole:
    """A listening socket whose accept queue is full, so new connections are never completed (SYNs dropped)."""

    def __enter__(self) -> "BlackHole":
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(filler)
        return self

    def __exit__(self, *exc: object) -> None:
        for filler in self.fillers:
            filler.close()
        self.listener.close()


class Rendezvous:
    """A route that holds each of the first `parties` requests until all of them are in flight at once, and records
    the most it saw in flight: proof that clients overlapped in time, with no clock involved. Later requests pass
    straight through; if the clients never overlap, the wait gives up after `timeout` and `peak` stays below."""

    def __init__(self, parties: int, reply: Reply, timeout: float = 60.0) -> None:
        self.parties = parties
        self.reply = reply
        self.peak = 0
        self._barrier = threading.Barrier(parties, timeout=timeout)
        self._lock = threading.Lock()
        self._arrived = 0
        self._in_flight = 0

    def __call__(self, handler: BaseHTTPRequestHandler) -> Reply:
        with self._lock:
            self._arrived += 1
            self._in_flight += 1
            self.peak = max(self.peak, self._in_flight)
            meets = self._arrived <= self.parties
        try:
            if meets:
                self._barrier.wait()
        except threading.BrokenBarrierError:
            pass
        finally:
            with self._lock:
                self._in_flight -= 1
        return self.reply

# --- hostile servers: what a proxy, a wrong port or a broken server answers ---------------------------

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
        while True:  # as fast as the socket takes it: the size limit, not the clock, must end the read
            handler.wfile.write(b"4000\r\n" + b"y" * 0x4000 + b"\r\n")
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


@dataclass(frozen=True)
class Hostile:
    """A misbehaving server, the words the doctor must answer it with, and (for the benchmark) the seconds a check
    of it should take with `timeout: {connect: 1, read: 2}`."""

    name: str
    route: Route
    says: str
    target_seconds: float


HOSTILE = [
    Hostile("a 50 MB body (announced)", huge_announced, "larger than airflow-doctor reads", 3),
    Hostile("a 50 MB body (streamed)", huge_streamed, "larger than airflow-doctor reads", 5),
    Hostile("a body that drips one byte a second", drip, "no (complete) answer after", 5),
    Hostile("a response that never ends", never_ends, "larger than airflow-doctor reads", 5),
    Hostile("headers, then silence", headers_then_silence, "no (complete) answer after", 5),
    Hostile("a connection closed mid-response", closed_mid_response, "closed the connection before the answer was complete", 3),
    Hostile("an answer that is not HTTP", not_http, "connection", 3),
    Hostile("a redirect loop", lambda h: Reply(302, {"Location": h.path}), "redirected (302)", 3),
    Hostile("a redirect to another host",
            lambda h: Reply(301, {"Location": "https://elsewhere.example.com" + h.path}),
            "redirected (301) to https://elsewhere.example.com", 3),
    Hostile("invalid JSON with a JSON content type",
            lambda h: Reply(200, {"Content-Type": "application/json"}, b'{"version": '), "not Airflow", 3),
    Hostile("invalid UTF-8",
            lambda h: Reply(200, {"Content-Type": "application/json"}, b'{"version": "\xff\xfe\xfa"}'), "not Airflow", 3),
    Hostile("HTML with status 200 on every path",
            lambda h: Reply(200, {"Content-Type": "text/html"}, b"<html><title>Welcome to nginx!</title></html>"),
            "answered 200 with an HTML page titled 'Welcome to nginx!'", 3),
]
