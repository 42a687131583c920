"""TLS fronts for the test tier: stdlib servers on 127.0.0.1 (free ports) that terminate TLS and forward each request
to a backend url (the real Airflow in integration tests, a small recorded-answer server in unit tests).

Certificates are made at test time with cryptography, into the test's own directory: a test CA (root and issuing
intermediate), leaves with or without the intermediate, for other names, expired, not yet valid, self-signed, a
TLS-inspecting proxy's CA, and client certificates for a front that requires one. Nothing here is committed but this
code. Each front is stopped by the test that started it (a context manager).
"""

from __future__ import annotations

import datetime as dt
import json
import ipaddress
import socket
import ssl
import threading
import warnings
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from tests.conftest import recorded
from tests.servers import LocalServer, Reply

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host",
              "proxy-connection", "te", "upgrade"}
DAY = dt.timedelta(days=1)
NGINX_PLAIN_HTTP = (b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.25.3\r\nContent-Type: text/html\r\n"
                    b"Content-Length: 255\r\nConnection: close\r\n\r\n"
                    b"<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n"
                    b"<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS "
                    b"port</center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n")
"""What nginx answers plain HTTP on a port it serves TLS on (its error page 497, sent as 400)."""


@dataclass(frozen=True)
class Served:
    """What a front serves: the chain file (leaf first, then what the server sends of its CA chain) and the key."""

    chain: Path
    key: Path
    leaf: Path
    """The leaf alone, PEM: what a user saves to trust a self-signed certificate."""


@dataclass(frozen=True)
class _Ca:
    name: x509.Name
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    pem: Path


class Pki:
    """A test CA made in `directory`: a root, an issuing intermediate under it, and what they issue."""

    def __init__(self, directory: Path, *, root: str = "airflow-doctor Test Root CA",
                 issuing: str = "airflow-doctor Test Issuing CA 1", organisation: str = "airflow-doctor tests") -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.organisation = organisation
        self._root = self._ca(root, None, "root")
        self._issuing = self._ca(issuing, self._root, "issuing")

    @property
    def root_pem(self) -> Path:
        """The root's certificate: the bundle a client that trusts this CA is given."""
        return self._root.pem

    @property
    def issuing_pem(self) -> Path:
        return self._issuing.pem

    def issuing_der(self) -> bytes:
        return self._issuing.cert.public_bytes(serialization.Encoding.DER)

    def leaf(self, name: str = "leaf", names: tuple[str, ...] = ("127.0.0.1", "localhost"), *, send_intermediate: bool = True,
             valid_from: dt.datetime | None = None, valid_until: dt.datetime | None = None,
             ca_issuers: str | None = None, client: bool = False, weak_key: bool = False) -> Served:
        """A certificate issued by the intermediate for `names` (IP addresses or DNS names); `weak_key`: RSA 1024."""
        now = dt.datetime.now(dt.timezone.utc)
        key = rsa.generate_private_key(65537, 1024) if weak_key else ec.generate_private_key(ec.SECP256R1())
        builder = (_builder(_subject(names[0] if names else name, self.organisation), self._issuing.name, key,
                            valid_from or now - DAY, valid_until or now + 30 * DAY)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH if client else
                                                         x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._issuing.key.public_key()),
                                  critical=False))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
        if ca_issuers:
            builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(ca_issuers))]), critical=False)
        cert = builder.sign(self._issuing.key, hashes.SHA256())
        sent = [cert] + ([self._issuing.cert] if send_intermediate else [])
        return self._write(name, key, sent)

    def client(self, name: str = "doctor-client") -> Served:
        return self.leaf(name, (), send_intermediate=True, client=True)

    def self_signed(self, name: str = "self-signed", names: tuple[str, ...] = ("127.0.0.1",)) -> Served:
        """A certificate that signs itself, as `openssl req -x509` makes them (CA:TRUE, names in the SAN)."""
        now = dt.datetime.now(dt.timezone.utc)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _subject(names[0], self.organisation)
        cert = (_builder(subject, subject, key, now - DAY, now + 30 * DAY)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
                .sign(key, hashes.SHA256()))
        return self._write(name, key, [cert])

    def _ca(self, common_name: str, parent: _Ca | None, file: str) -> _Ca:
        now = dt.datetime.now(dt.timezone.utc)
        key = ec.generate_private_key(ec.SECP256R1())
        name = _subject(common_name, self.organisation)
        signer_name, signer_key = (parent.name, parent.key) if parent else (name, key)
        builder = (_builder(name, signer_name, key, now - DAY, now + 365 * DAY)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None if parent is None else 0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
        if parent is not None:
            builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()),
                                            critical=False)
        cert = builder.sign(signer_key, hashes.SHA256())
        pem = self.directory / f"{file}.pem"
        pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return _Ca(name, key, cert, pem)

    def _write(self, name: str, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, sent: list[x509.Certificate]) -> Served:
        chain, key_path, leaf = (self.directory / f"{name}-chain.pem", self.directory / f"{name}-key.pem",
                                 self.directory / f"{name}.pem")
        chain.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in sent))
        leaf.write_bytes(sent[0].public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)
        return Served(chain, key_path, leaf)


def _subject(common_name: str, organisation: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation)])


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, valid_from: dt.datetime,
             valid_until: dt.datetime) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(valid_from).not_valid_after(valid_until))


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


# --- the fronts ------------------------------------------------------------------------------------

class _TlsServer(ThreadingHTTPServer):
    """Each connection's handshake runs in its own thread, so a client that never completes one holds nothing up."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext, plain_page: bool) -> None:
        self.context = context
        self.plain_page = plain_page
        super().__init__(("127.0.0.1", 0), handler)

    def finish_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        if self.plain_page and request.recv(1, socket.MSG_PEEK) not in (b"\x16", b""):
            request.sendall(NGINX_PLAIN_HTTP)  # not a TLS ClientHello: answer as nginx does
            return
        try:
            secured = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client sees the alert, or the close: that is what is under test
        try:
            super().finish_request(secured, client_address)
        except (ssl.SSLError, OSError):
            pass
        finally:
            secured.close()


def _forwarding_handler(front: "TlsFront") -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _forward(self) -> None:
            front.seen.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            try:
                answer = requests.request(self.command, front.backend + self.path, headers=headers, data=body,
                                          allow_redirects=False, timeout=20)
                status, out, content = answer.status_code, answer.headers.items(), answer.content
            except requests.RequestException:
                status, out, content = 502, [("Content-Type", "text/plain")], b"the front could not reach its backend"
            self.send_response_only(status)
            for name, value in out:
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _forward

    return Forward


class TlsFront:
    """Terminates TLS on 127.0.0.1 with `served`'s chain and key and forwards to `backend` (an http:// url).

    `client_ca`: the front requires a client certificate issued under that CA file. `tls12`: the front speaks TLS 1.2
    at most (servers that still do; their CertificateRequest travels in clear). `legacy`: TLS 1.0 and 1.1 only.
    `plain_page`: plain HTTP on the port gets nginx's 400 page instead of a closed connection."""

    def __init__(self, backend: str, served: Served, *, client_ca: Path | None = None, tls12: bool = False,
                 legacy: bool = False, plain_page: bool = False) -> None:
        self.backend = backend.rstrip("/")
        self.seen: list[str] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(served.chain, served.key)
        except ssl.SSLError:  # a weak key: serve it anyway, as the servers under test do
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
            context.load_cert_chain(served.chain, served.key)
        if client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(client_ca)
        if tls12:
            context.maximum_version = ssl.TLSVersion.TLSv1_2
        if legacy:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version, context.maximum_version = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        self.httpd = _TlsServer(_forwarding_handler(self), context, plain_page)
        self.port = self.httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.http_url = f"http://127.0.0.1:{self.port}"
        """The same port asked in plain HTTP: what a url with http:// to this TLS port reaches."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "TlsFront":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def issuer_server(pki: Pki) -> LocalServer:
    """The CA's 'CA Issuers' url (what a certificate's AIA names): serves the intermediate, DER, at /issuing.crt."""
    der = pki.issuing_der()
    return LocalServer(lambda h: Reply(200, {"Content-Type": "application/pkix-cert"}, der)
                       if h.path == "/issuing.crt" else Reply(404))


def recorded_airflow(label: str = "airflow-3.3.2") -> LocalServer:
    """A backend that answers the version and health endpoints as the recorded real Airflow did."""
    answers = {}
    for name in ("v2_version", "health"):
        data = recorded(label, name)
        answers[data["path"]] = Reply(data["status"], {"Content-Type": data["headers"].get("content-type",
                                                                                           "application/json")},
                                      data["body"].encode())
    return LocalServer(lambda h: answers.get(h.path.split("?")[0], Reply(404, {"Content-Type": "application/json"},
                                                                       b'{"error":"API route not found"}')))


class ConnectProxy:
    """A forward proxy on 127.0.0.1 that opens CONNECT tunnels (what HTTPS_PROXY names), recording each target."""

    def __init__(self) -> None:
        self.tunnels: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        host, _, port = head.split(b" ")[1].decode().rpartition(":")
        self.tunnels.append(f"{host}:{port}")
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(source, sink), daemon=True).start()

    def __enter__(self) -> "ConnectProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()


def pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy one direction of a tunnel until either end closes, then close both (fronts and proxies share it)."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


# --- plain-HTTP fronts: rules a proxy, WAF or gateway applies before forwarding -----------------------

FrontRule = "Callable[[str, str, dict[str, str], bytes], Reply | None]"


class HttpFront:
    """A plain-HTTP front on 127.0.0.1 (free port) that asks `rule(method, path, headers, body)` first: a Reply is
    the front's own answer (Airflow never sees the request), None forwards to `backend` as a reverse proxy does.
    `seen` lists every request, `refused` those the rule answered. The rule is an attribute: a test applies a fix by
    reconfiguring it (a larger limit, the key it wants). Stopped by the test that started it (a context manager)."""

    def __init__(self, backend: str, rule, mount: str = "") -> None:  # type: ignore[no-untyped-def]
        self.backend = backend.rstrip("/")
        self.mount = mount
        """Airflow served under this sub-path (stripped on the way to the backend), as a shared host does."""
        self.rule = rule
        self.seen: list[str] = []
        self.refused: list[str] = []
        self.refused_sized: list[tuple[str, int]] = []
        """The refused requests with their bodies' sizes: what tells two requests to the same path apart."""
        self._server = LocalServer(self._route)
        self.port = self._server.port
        self.url = self._server.url

    def _route(self, handler: BaseHTTPRequestHandler) -> Reply:
        request = f"{handler.command} {handler.path}"
        self.seen.append(request)
        body = getattr(handler, "request_body", b"")
        headers = {k: v for k, v in handler.headers.items()}
        own = self.rule(handler.command, handler.path, headers, body)
        if own is not None:
            self.refused.append(request)
            self.refused_sized.append((request, len(body)))
            return own
        forwarded = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            path = handler.path[len(self.mount):] if self.mount and handler.path.startswith(self.mount + "/") else handler.path
            answer = requests.request(handler.command, self.backend + path, headers=forwarded, data=body or None,
                                      allow_redirects=False, timeout=20)
        except requests.RequestException:
            return Reply(502, {"Content-Type": "text/plain"}, b"the front could not reach its backend")
        return Reply(answer.status_code, {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP},
                     answer.content)

    def __enter__(self) -> "HttpFront":
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)


def _page(status: int, title: str, text: str, server: str | None, extra: dict[str, str] | None = None) -> Reply:
    headers = {"Content-Type": "text/html", **({"Server": server} if server else {}), **(extra or {})}
    body = (f"<html><head><title>{status} {title}</title></head><body><center><h1>{status} {title}</h1></center>"
            f"<p>{text}</p><hr><center>{server or ''}</center></body></html>").encode()
    return Reply(status, headers, body)


@dataclass
class BodyRule:
    """A WAF-like rule: a body containing one of `patterns` (case-insensitive) is refused with its own 403 page."""

    patterns: tuple[bytes, ...] = (b"<script", b"union select")
    server: str | None = "shieldwall/4.2"
    enabled: bool = True

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        if self.enabled and any(p in body.lower() for p in self.patterns):
            return _page(403, "Forbidden", "Request blocked by security policy. Incident ID: 7f3a-22c1.", self.server,
                         {"X-Shieldwall-Incident": "7f3a-22c1"})
        return None


@dataclass
class SizeLimit:
    """A body-size limit: a body over `limit` bytes gets the front's 413 page (nginx's words, its own name)."""

    limit: int = 3000
    server: str | None = "edge-proxy/1.9"

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        if len(body) > self.limit:
            return _page(413, "Request Entity Too Large", "The request body is larger than this server accepts.",
                         self.server)
        return None


@dataclass
class PathGuard:
    """Guards `prefix` (the API) with a 403 of its own, whatever the request carries; other paths pass."""

    prefix: str = "/api/"
    methods: tuple[str, ...] = ()
    """Only these methods are refused (empty: all)."""
    server: str | None = None

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        if path.startswith(self.prefix) and (not self.methods or method in self.methods):
            return Reply(403, {"Content-Type": "application/json", **({"Server": self.server} if self.server else {}),
                               "X-Request-Id": "a81c"}, b'{"message":"Forbidden"}')
        return None


@dataclass
class KeyGateway:
    """An API gateway that wants its own key in `header` for paths under `prefix`: 401 with a challenge naming its
    realm ('challenge'), or a JSON message ('json': {"message": "Invalid API Key"}, 'named': "missing x-api-key").
    """

    key: str
    header: str = "X-API-Key"
    style: str = "challenge"
    prefix: str = "/api/"

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        given = next((v for k, v in headers.items() if k.lower() == self.header.lower()), None)
        if not path.startswith(self.prefix) or given == self.key:
            return None
        if self.style == "challenge":
            return Reply(401, {"Content-Type": "text/plain", "WWW-Authenticate": 'Key realm="gateway"',
                               "Server": "api-gw"}, b"Unauthorized")
        words = "Invalid API Key" if self.style == "json" else f"missing {self.header.lower()}"
        return Reply(401 if self.style != "json" else 403, {"Content-Type": "application/json"},
                     json.dumps({"message": words}).encode())


@dataclass
class RefuseAll:
    """Refuses every request of this client (an address allow-list), whatever its path, method or body."""

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        return _page(403, "Forbidden", "Your address is not allowed.", "gatekeeper")


NETWORK_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                     "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
"""What requests (and truststore, SSL_CERT_FILE standing for the OS store) read from the environment: TLS scenarios
start without the machine's proxies and CA variables."""


def clear_network_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in NETWORK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
