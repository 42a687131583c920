"""Probe: the only way checks talk to the network.

Every call carries an explicit auth object (so ~/.netrc can never substitute credentials), never
follows redirects, reads at most `max_body` bytes within a deadline, keeps no cookies between
calls, and is recorded as a redacted `Exchange`. Transport failures become `TransportError`s
that say which layer failed.
"""

from __future__ import annotations

import http.client
import json as jsonlib
import os
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.auth import AuthBase, HTTPBasicAuth
from requests.structures import CaseInsensitiveDict

from airflow_doctor.model import Exchange
from airflow_doctor.redact import redact_body, redact_headers, redact_text, redact_url
from airflow_doctor.secrets import REGISTRY, SecretRegistry
from airflow_doctor.transport import NO_PROXY, mount_tls_context, shown_proxy

DEFAULT_MAX_BODY = 2 * 1024 * 1024
EXCERPT_CHARS = 2000
USER_AGENT = "airflow-doctor"


class Layer(str, Enum):
    """Where a request failed before an HTTP answer was complete."""

    INVALID_URL = "invalid-url"
    CLIENT_ENCODING = "client-encoding"
    DNS = "dns"
    TCP_REFUSED = "tcp-refused"
    TCP_TIMEOUT = "tcp-timeout"
    TLS = "tls"
    CONNECTION_CLOSED = "connection-closed"
    READ_TIMEOUT = "read-timeout"
    BODY_TOO_LARGE = "body-too-large"
    CONNECTION = "connection"
    HELD_BACK = "rate-limited"
    """Not sent: the server answered an earlier request 429 (see Probe.request)."""


class TransportError(Exception):
    def __init__(self, layer: Layer, message: str, exchange: Exchange, answer: "ProbeResponse | None" = None) -> None:
        super().__init__(message)
        self.layer = layer
        self.message = message
        self.exchange = exchange
        self.answer = answer
        """For HELD_BACK: the 429 answer that holds this request back."""

    def __str__(self) -> str:
        return self.message


class NoAuth(AuthBase):
    """Anonymous on purpose. Passing it (rather than None) stops requests from reading ~/.netrc."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r

    def __repr__(self) -> str:
        return "NoAuth()"


class BearerAuth(AuthBase):
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._token}"
        return r

    def __repr__(self) -> str:
        return "BearerAuth(***)"


class AuthorizationAuth(AuthBase):
    """The value alone in Authorization, with no scheme word (how Astro Private Cloud / Software take API keys)."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self._value
        return r

    def __repr__(self) -> str:
        return "AuthorizationAuth(***)"


def basic_auth(username: str | bytes, password: str | bytes) -> HTTPBasicAuth:
    return HTTPBasicAuth(username, password)


@dataclass
class ProbeResponse:
    status: int
    headers: CaseInsensitiveDict
    body: bytes
    url: str
    elapsed_ms: float
    exchange: Exchange
    cookies: dict[str, str] = field(default_factory=dict)
    _json: Any = field(default=None, repr=False)
    _json_parsed: bool = field(default=False, repr=False)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    @property
    def is_json_type(self) -> bool:
        return self.content_type in ("application/json", "application/problem+json") or self.content_type.endswith("+json")

    @property
    def is_html(self) -> bool:
        head = self.body[:1024].lower()
        return self.content_type == "text/html" or b"<!doctype html" in head or b"<html" in head

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The parsed body, or None when it is not valid JSON (servers lie about content types)."""
        if not self._json_parsed:
            self._json_parsed = True
            try:
                self._json = jsonlib.loads(self.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                self._json = None
        return self._json

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")

    @property
    def is_redirect(self) -> bool:
        return 300 <= self.status < 400 and "Location" in self.headers


def _cause_chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.append(current)
        for nxt in (current.__cause__, current.__context__, *[a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return seen


def classify(exc: BaseException, url: str, connect_timeout: float, read_timeout: float) -> tuple[Layer, str]:
    """Name the layer a requests exception failed at, in words a user can act on."""
    host = urlsplit(url).hostname or url
    chain = _cause_chain(exc)
    types = tuple(type(e) for e in chain)

    def has(kind: type) -> bool:
        return any(issubclass(t, kind) for t in types)

    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                        requests.exceptions.MissingSchema)):
        return Layer.INVALID_URL, f"the URL {redact_url(url)} cannot be used: {exc}"
    if isinstance(exc, requests.exceptions.SSLError) or has(ssl.SSLError):
        reason = next((str(e) for e in chain if isinstance(e, ssl.SSLError)), str(exc))
        if "CERTIFICATE_VERIFY_FAILED" in reason:
            detail = "the server's certificate is not trusted by this client"
            if "self-signed" in reason or "self signed" in reason:
                detail = "the server presents a self-signed certificate"
            elif "hostname" in reason.lower() or "match" in reason.lower():
                detail = f"the certificate does not match the host name {host}"
            elif "expired" in reason:
                detail = "the server's certificate has expired"
        elif "WRONG_VERSION_NUMBER" in reason or "wrong version number" in reason:
            detail = "the server did not answer TLS (is it plain http on this port?)"
        else:
            detail = "the TLS handshake failed"
        return Layer.TLS, f"TLS failed with {host}: {detail} ({_short(reason)})"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Layer.TCP_TIMEOUT, f"no TCP connection to {host} within {connect_timeout:g} s (a firewall dropping packets, or the wrong host/port)"
    if has(socket.gaierror) or any(type(e).__name__ == "NameResolutionError" for e in chain):
        return Layer.DNS, f"the host name {host} could not be resolved (DNS)"
    if has(ConnectionRefusedError):
        port = urlsplit(url).port or (443 if url.startswith("https") else 80)
        return Layer.TCP_REFUSED, f"{host} refused the TCP connection on port {port}: nothing is listening there"
    if isinstance(exc, requests.exceptions.ReadTimeout) or has(urllib3.exceptions.ReadTimeoutError) or has(TimeoutError):
        return Layer.READ_TIMEOUT, f"{host} accepted the connection but sent no (complete) answer within {read_timeout:g} s"
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)) or has(
        ConnectionResetError) or any(type(e).__name__ in ("RemoteDisconnected", "ProtocolError", "IncompleteRead") for e in chain):
        return Layer.CONNECTION_CLOSED, f"{host} closed the connection before the answer was complete"
    return Layer.CONNECTION, f"could not talk to {host}: {_short(str(exc))}"


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Probe:
    """A recorded, redacting HTTP client bound to one base URL."""

    def __init__(
        self,
        base_url: str,
        *,
        verify: bool | str = True,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        max_body: int = DEFAULT_MAX_BODY,
        registry: SecretRegistry = REGISTRY,
        session_factory: Callable[[], requests.Session] = requests.Session,
        headers: Mapping[str, str] | None = None,
        system_ca: bool = False,
        cert: tuple[str, str] | str | None = None,
        key_password: str | None = None,
        proxy: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.verify = verify
        """requests' verify: True (its bundle, or REQUESTS_CA_BUNDLE), False, or a CA bundle path; with system_ca the
        operating system's store instead (truststore), as a browser does."""
        self.system_ca = system_ca
        if verify is False:  # the report says once what that hides (doctor.VERIFY_OFF); urllib3's per-request noise not
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.cert = cert
        self.proxy = proxy
        """None: the environment's proxy (HTTP(S)_PROXY, NO_PROXY), as requests does; 'none': never; else its URL."""
        if any(name.lower() == "authorization" for name in headers or {}):
            raise ValueError("extra headers cannot hold Authorization: the explicit auth of each request sends it")
        self.headers = dict(headers or {})
        """Sent on every request (a gateway's key); a request's own headers and its auth win over them."""
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_body = max_body
        self.registry = registry
        self._session = session_factory()
        self._session.headers["User-Agent"] = USER_AGENT
        if system_ca or key_password is not None:
            mount_tls_context(self._session, system_ca, key_password)
        self._pending: list[Exchange] = []
        self.request_count = 0
        self._limited: dict[str, tuple[float | None, ProbeResponse]] = {}
        """After a 429: origin -> (monotonic time until which nothing is sent (Retry-After), the 429), or
        'METHOD url' -> (None, the 429) when it gave no Retry-After: that request is not repeated."""

    @property
    def adapters(self) -> Mapping[str, requests.adapters.BaseAdapter]:
        """The transports this probe sends through: a control probe made with another session keeps them (explain's
        offline one, MWAA's InvokeRestApi), or knows it cannot ask the network itself."""
        return self._session.adapters

    def url_for(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + ("" if path.startswith("/") else "/") + path

    def rebase(self, base_url: str) -> None:
        """Point later calls at a corrected base URL (e.g. after stripping a pasted /api/v1)."""
        self.base_url = base_url.rstrip("/")

    def drain(self) -> tuple[Exchange, ...]:
        """The exchanges recorded since the last drain (the runner attaches them to the check that made them)."""
        taken, self._pending = tuple(self._pending), []
        return taken

    def _settings(self, url: str) -> dict[str, Any]:
        """requests' send() settings: the environment's (proxies, REQUESTS_CA_BUNDLE) unless the profile says
        otherwise; the system store ignores REQUESTS_CA_BUNDLE (the user asked for the OS store)."""
        settings = self._session.merge_environment_settings(url, {}, True, self.verify, self.cert)
        if self.proxy == NO_PROXY:
            settings["proxies"] = {}
        elif self.proxy:
            settings["proxies"] = {"http": self.proxy, "https": self.proxy}
        if self.system_ca and self.verify is not False:
            settings["verify"] = True
        return settings

    def proxy_for(self, url: str | None = None) -> tuple[str | None, str]:
        """The proxy a request to `url` goes through (scheme://host:port, never its credentials) and what chose it."""
        url = url or self.base_url
        if self.proxy == NO_PROXY:
            return None, "the profile's proxy: none"
        if self.proxy:
            return shown_proxy(self.proxy), "the profile's proxy"
        if not self._session.trust_env:
            return None, "none"
        scheme = urlsplit(url).scheme
        proxies = requests.utils.get_environ_proxies(url)
        proxy = proxies.get(scheme) or proxies.get("all")
        if not proxy:
            return None, "none in the environment for this host"
        variable = next((name for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY", "all_proxy", "ALL_PROXY")
                         if os.environ.get(name) == proxy), "the environment")
        return shown_proxy(proxy), f"${variable}" if variable != "the environment" else variable

    def ca_source(self) -> str:
        """Which CAs verify the server: the profile's bundle, the OS store, the environment's bundle, certifi."""
        if self.verify is False:
            return "none: verification is off (tls.verify: false)"
        if self.system_ca:
            return "the operating system's store (tls.verify: system)"
        if isinstance(self.verify, str):
            return f"{self.verify} (the profile's tls.verify)"
        variable = next((v for v in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") if os.environ.get(v)), None)
        if variable and self._session.trust_env:
            return f"{os.environ[variable]} (from ${variable})"
        return "the bundle that comes with requests (certifi)"

    def environment(self) -> list[tuple[str, str]]:
        """The network path as the report header shows it: proxy, CA source, client certificate (its path), the
        extra headers' names (never their values)."""
        proxy, chosen_by = self.proxy_for()
        items = [("proxy", f"{proxy} ({chosen_by})" if proxy else f"none ({chosen_by})")]
        if urlsplit(self.base_url).scheme == "https":
            items.append(("CA", self.ca_source()))
            if self.cert:
                items.append(("client certificate", self.cert[0] if isinstance(self.cert, tuple) else self.cert))
        if self.headers:
            items.append(("extra headers", ", ".join(self.headers)))
        return items

    def get(self, path: str, *, auth: AuthBase | None = None, params: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None, cookies: Mapping[str, str] | None = None) -> ProbeResponse:
        return self.request("GET", path, auth=auth, params=params, headers=headers, cookies=cookies)

    def post(self, path: str, *, auth: AuthBase | None = None, json: Any = None, data: Any = None,
             headers: Mapping[str, str] | None = None, cookies: Mapping[str, str] | None = None) -> ProbeResponse:
        return self.request("POST", path, auth=auth, json=json, data=data, headers=headers, cookies=cookies)

    def request(self, method: str, path: str, *, auth: AuthBase | None = None, params: Mapping[str, Any] | None = None,
                json: Any = None, data: Any = None, headers: Mapping[str, str] | None = None,
                cookies: Mapping[str, str] | None = None) -> ProbeResponse:
        url = self.url_for(path)
        started = time.perf_counter()
        if (held := self._held_back(method, url)) is not None:
            error = self._fail(method, url, None, started, Layer.HELD_BACK, held[0])
            raise TransportError(error.layer, error.message, error.exchange, held[1])
        self.request_count += 1
        request = requests.Request(method, url, params=params, json=json, data=data,
                                   headers={**self.headers, **(headers or {})},
                                   cookies=dict(cookies or {}), auth=auth or NoAuth())
        prepared: requests.PreparedRequest | None = None
        try:
            prepared = self._session.prepare_request(request)
            settings = self._settings(prepared.url or url)
            response = self._send(prepared, settings)
            try:
                body = self._read_body(response, started)
            finally:
                response.close()
                if prepared.headers.get("Connection", "").lower() == "close":
                    self._forget_connections()
        except UnicodeEncodeError as exc:
            message = ("the credentials contain characters that cannot be put in a Basic auth header by this client "
                       f"({exc.reason}: {exc.encoding} cannot encode them)")
            raise self._fail(method, url, prepared, started, Layer.CLIENT_ENCODING, message) from None
        except _BodyLimit as limit:
            raise self._fail(method, url, prepared, started, limit.layer, limit.message, status=limit.status) from None
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            layer, message = classify(exc, url, self.connect_timeout, self.read_timeout)
            raise self._fail(method, url, prepared, started, layer, message) from None
        finally:
            self._session.cookies.clear()
        elapsed_ms = (time.perf_counter() - started) * 1000
        exchange = self._record(method, url, prepared, started, status=response.status_code,
                                response_headers=list(response.headers.items()), body=body,
                                server_ms=response.elapsed.total_seconds() * 1000)
        answer = ProbeResponse(response.status_code, response.headers, body, url, elapsed_ms, exchange,
                               cookies=requests.utils.dict_from_cookiejar(response.cookies))
        if answer.status == 429:
            self._hold(method, url, answer)
        return answer

    def _hold(self, method: str, url: str, answer: ProbeResponse) -> None:
        wait = retry_after_seconds(answer.headers.get("Retry-After"), answer.headers.get("Date"))
        if wait is None:
            self._limited[f"{method} {url}"] = (None, answer)
        else:
            self._limited[_origin(url)] = (time.monotonic() + wait, answer)

    def _held_back(self, method: str, url: str) -> tuple[str, ProbeResponse] | None:
        """Why this request is not sent (and the 429 that says so): never into a 429 again, nor to a server before
        its Retry-After has passed."""
        if (same := self._limited.get(f"{method} {url}")) is not None:
            return ("not sent: this request was answered 429 Too Many Requests earlier in this run, without a "
                    "Retry-After", same[1])
        until, answer = self._limited.get(_origin(url), (None, None))
        if until is not None and answer is not None and time.monotonic() < until:
            return (f"not sent: the server answered 429 Too Many Requests earlier in this run and asked to wait "
                    f"{until - time.monotonic():.0f} s more (Retry-After)", answer)
        return None

    def _forget_connections(self) -> None:
        """A request that asked for its own connection leaves none to reuse: the server closes it, maybe only after
        the next request was written to it."""
        for adapter in self._session.adapters.values():
            if isinstance(adapter, requests.adapters.HTTPAdapter):
                adapter.close()

    def _send(self, prepared: requests.PreparedRequest, settings: dict[str, Any]) -> requests.Response:
        """Send once; a GET or HEAD whose kept-alive connection the server closed without answering goes once more on
        a new connection (RFC 9112 9.3.1, as browsers do): Airflow 3.0.6 closes it after an unhandled error. A reset
        is not retried: it is an answer of its own (a proxy or firewall refusing)."""
        def send() -> requests.Response:
            return self._session.send(prepared, allow_redirects=False, timeout=(self.connect_timeout, self.read_timeout),
                                      **settings)

        if prepared.method not in ("GET", "HEAD"):
            return send()
        try:
            return send()
        except requests.exceptions.ConnectionError as exc:
            if not any(isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError)) for e in _cause_chain(exc)):
                raise
        return send()

    def _read_body(self, response: requests.Response, started: float) -> bytes:
        deadline = started + self.connect_timeout + self.read_timeout
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise _BodyLimit(Layer.BODY_TOO_LARGE, f"the server announced a {int(declared):,}-byte answer; the limit is "
                             f"{self.max_body:,} bytes", response.status_code)
        chunks: list[bytes] = []
        size = 0
        raw = response.raw
        while True:
            chunk = raw.read1(65536, decode_content=True) if hasattr(raw, "read1") else raw.read(65536, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            chunks.append(chunk)
            if size > self.max_body:
                raise _BodyLimit(Layer.BODY_TOO_LARGE, f"the answer grew past the {self.max_body:,}-byte limit",
                                 response.status_code)
            if time.perf_counter() > deadline:
                raise _BodyLimit(Layer.READ_TIMEOUT, f"the answer was still arriving after "
                                 f"{self.connect_timeout + self.read_timeout:g} s ({size:,} bytes so far)",
                                 response.status_code)
        return b"".join(chunks)

    def _fail(self, method: str, url: str, prepared: requests.PreparedRequest | None, started: float,
              layer: Layer, message: str, status: int | None = None) -> TransportError:
        message = redact_text(message, self.registry)
        exchange = self._record(method, url, prepared, started, status=status, error=f"{layer.value}: {message}")
        return TransportError(layer, message, exchange)

    def _record(self, method: str, url: str, prepared: requests.PreparedRequest | None, started: float, *,
                status: int | None, response_headers: list[tuple[str, str]] | None = None, body: bytes = b"",
                error: str | None = None, server_ms: float | None = None) -> Exchange:
        request_headers: list[tuple[str, str]] = []
        request_body = None
        if prepared is not None:
            url = prepared.url or url
            method = prepared.method or method
            request_headers = [(k, v) for k, v in prepared.headers.items() if k.lower() not in ("user-agent", "accept-encoding", "connection")]
            if prepared.body:
                raw_body = prepared.body.decode("utf-8", errors="replace") if isinstance(prepared.body, bytes) else str(prepared.body)
                request_body, _ = self._excerpt(raw_body, prepared.headers.get("Content-Type", ""))
        response_headers = response_headers or []
        content_type = next((v for k, v in response_headers if k.lower() == "content-type"), "")
        excerpt, truncated = self._excerpt(body.decode("utf-8", errors="replace"), content_type) if body else (None, False)
        exchange = Exchange(
            method=method,
            url=redact_url(url, self.registry),
            status=status,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
            request_headers=redact_headers(request_headers, self.registry),
            request_body=request_body,
            response_headers=redact_headers(response_headers, self.registry),
            response_body=excerpt,
            body_truncated=truncated,
            error=error,
            server_ms=round(server_ms, 1) if server_ms is not None else None,
        )
        self._pending.append(exchange)
        return exchange

    def _excerpt(self, body: str, content_type: str) -> tuple[str, bool]:
        """The body redacted whole (a JSON key is masked wherever it is), then cut short for display."""
        redacted = redact_body(body, content_type, self.registry)
        return redacted[:EXCERPT_CHARS], len(redacted) > EXCERPT_CHARS


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def retry_after_seconds(value: str | None, date: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds, or an HTTP date counted from the answer's own Date (the server's clock,
    not this machine's); None when absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        until = parsedate_to_datetime(value)
        now = parsedate_to_datetime(date) if date else datetime.now(timezone.utc)
        return max(0.0, (until - now).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None


class _BodyLimit(Exception):
    def __init__(self, layer: Layer, message: str, status: int) -> None:
        super().__init__(message)
        self.layer, self.message, self.status = layer, message, status
