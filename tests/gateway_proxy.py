"""A reverse proxy on 127.0.0.1 that speaks like a gateway airflow-doctor has never heard of ('ferrous-gate'): its own
Server and Via headers, its own HTML error pages, a rate limit with Retry-After and a login wall.

It forwards to real servers (the shared Airflow, a closed port, a stalled upstream), so its 502 and 504 are what
a proxy really answers when the upstream refuses or stalls. Its name appears in no airflow-doctor source: the
doctor must read who answered from the answer itself.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import quote

import requests

from tests.servers import LocalServer, Reply

NAME = "ferrous-gate/3.7"
VIA = "1.1 ferrous-gate"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}
IDENTITY_PROVIDER = "https://id.quokka-login.example/authorize"
REASONS = {429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
PAGE_TEXT = {502: "ferrous-gate could not connect to the upstream.",
             503: "Down for maintenance: no upstream is in service.",
             504: "The upstream did not answer in time."}


def page(status: int, text: str | None = None) -> bytes:
    reason = REASONS[status]
    return (f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1>"
            f"<p>{text or PAGE_TEXT.get(status, '')}</p><hr><address>ferrous-gate</address></body></html>").encode()


@dataclass
class Gateway:
    """The proxy's routing table and behaviour, changeable while it runs (to apply a fix)."""

    upstreams: dict[str, str]
    """Path prefix -> upstream base URL; the longest matching prefix wins, '' is the default route."""
    mode: str = "forward"
    """forward | maintenance (503 everywhere) | login (302 to an identity provider) | login-page (200 HTML form)."""
    allowed: int | None = None
    """With a number: requests passed on before every further one is answered 429 (Retry-After: retry_after)."""
    retry_after: str = "120"
    upstream_timeout: float = 2.0
    seen: list[str] = field(default_factory=list)
    limited_at: int | None = None
    """The index in `seen` of the first request answered 429."""

    def __call__(self, handler) -> Reply:
        self.seen.append(f"{handler.command} {handler.path}")
        if self.allowed is not None and len(self.seen) > self.allowed:
            self.limited_at = len(self.seen) - 1 if self.limited_at is None else self.limited_at
            return self.own(429, {"Retry-After": self.retry_after, "Content-Type": "application/json",
                                  "X-Quota-Remaining": "0"},
                            b'{"message": "request quota exhausted", "quota": "5 requests per 60 s"}')
        if self.mode == "maintenance":
            return self.own(503, {"Content-Type": "text/html", "Retry-After": "600"}, page(503))
        if self.mode == "login":
            back = quote(f"http://{handler.headers.get('Host')}{handler.path}", safe="")
            return self.own(302, {"Location": f"{IDENTITY_PROVIDER}?client_id=airflow&response_type=code"
                                              f"&redirect_uri={back}&state=0d3f"}, b"")
        if self.mode == "login-page":
            form = (b"<html><head><title>Ferrous Gate - Sign in</title></head><body><form method='post'>"
                    b"<input name='user'><input type='password' name='pass'></form></body></html>")
            return self.own(200, {"Content-Type": "text/html"}, form)
        return self.forward(handler)

    def forward(self, handler) -> Reply:
        prefix = max((p for p in self.upstreams if handler.path.startswith(p)), key=len)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            answer = requests.request(handler.command, self.upstreams[prefix] + handler.path, headers=headers,
                                      data=handler.request_body or None, allow_redirects=False,
                                      timeout=(self.upstream_timeout, self.upstream_timeout))
        except requests.Timeout:
            return self.own(504, {"Content-Type": "text/html"}, page(504))
        except requests.ConnectionError:
            return self.own(502, {"Content-Type": "text/html"}, page(502))
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP | {"set-cookie", "server"}}
        cookies = answer.raw.headers.getlist("Set-Cookie")
        if cookies:
            kept["Set-Cookie"] = cookies[-1]
        return Reply(answer.status_code, {**kept, "Server": NAME, "Via": VIA}, answer.content)

    @staticmethod
    def own(status: int, headers: dict[str, str], body: bytes) -> Reply:
        return Reply(status, {"Server": NAME, "Date": formatdate(usegmt=True), **headers}, body)


class Stalled:
    """An upstream that accepts requests and does not answer until released (a hung api-server)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.server = LocalServer(self._hold)

    def _hold(self, handler) -> Reply:
        self.release.wait(120)
        return Reply(503, {"Content-Type": "text/plain"}, b"released")

    def __enter__(self) -> "Stalled":
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.server.url
