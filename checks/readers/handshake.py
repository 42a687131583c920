"""What a TLS server presents, read without trusting it: the certificates it sends and whether it asks for one.

Python 3.11's ssl module hands over only the leaf certificate. To see the whole chain the server sends, the
read-only handshake is offered TLS 1.2 first, where the server's Certificate and CertificateRequest messages travel
in clear; the bytes are read as they arrive. A server that speaks only TLS 1.3 still shows its leaf. No request is
ever sent over these connections: the handshake ends and the socket is closed.

cryptography reads the certificates (X.509 is not a format to parse by hand).
"""

from __future__ import annotations

import base64
import ipaddress
import os
import socket
import ssl
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded only when a handshake failed and its certificates are read (start-up stays fast)
    from cryptography import x509

_HANDSHAKE, _CHANGE_CIPHER_SPEC, _ALERT = 22, 20, 21
_CERTIFICATE, _CERTIFICATE_REQUEST = 11, 13


@dataclass(frozen=True)
class Target:
    """Where the handshakes go: the url's host and port, through the environment's proxy when requests uses one."""

    host: str
    port: int
    timeout: float
    proxy: str | None = None
    """An http:// proxy url (from HTTPS_PROXY): the handshake goes through its CONNECT tunnel, as requests' does."""

    @property
    def server_name(self) -> str | None:
        """The SNI name: none for an IP address, as the client sends none."""
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return self.host
        return None


@dataclass(frozen=True)
class Certificate:
    """One certificate as the server presented it, in the terms a reader of the report needs."""

    subject: str
    issuer: str
    names: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    ca_issuers: tuple[str, ...]
    """The AIA 'CA Issuers' urls: where the issuer's certificate can be fetched."""
    organisation: str
    issuer_organisation: str
    cert: x509.Certificate

    @classmethod
    def from_der(cls, der: bytes) -> "Certificate":
        from cryptography import x509

        return cls.of(x509.load_der_x509_certificate(der))

    @classmethod
    def from_pem(cls, pem: bytes) -> "Certificate":
        from cryptography import x509

        return cls.of(x509.load_pem_x509_certificate(pem))

    @classmethod
    def of(cls, cert: x509.Certificate) -> "Certificate":
        return cls(_name(cert.subject), _name(cert.issuer), _san(cert), cert.not_valid_before_utc,
                   cert.not_valid_after_utc, _ca_issuers(cert), _org(cert.subject), _org(cert.issuer), cert)

    @property
    def self_issued(self) -> bool:
        return self.cert.subject == self.cert.issuer

    @property
    def self_signed(self) -> bool:
        return self.self_issued and self.issued_by(self)

    def issued_by(self, other: "Certificate") -> bool:
        """Whether `other` signed this certificate (names and signature)."""
        try:
            self.cert.verify_directly_issued_by(other.cert)
        except Exception:  # InvalidSignature, a name mismatch, an unsupported key type: not this issuer
            return False
        return True

    def validity(self, now: datetime) -> str | None:
        """'expired' or 'not-yet-valid' by `now`, else None."""
        if now > self.not_after:
            return "expired"
        if now < self.not_before:
            return "not-yet-valid"
        return None

    def matches(self, host: str) -> bool:
        """Whether `host` is one of the names (a wildcard covers one label)."""
        host = host.lower().rstrip(".")
        for name in self.names:
            name = name.lower()
            if name == host or (name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]):
                return True
        return False

    def line(self) -> str:
        names = ", ".join(self.names) or "none"
        return (f"{self.subject}, issued by {self.issuer}; names: {names}; valid {self.not_before:%Y-%m-%d %H:%M} to "
                f"{self.not_after:%Y-%m-%d %H:%M} UTC" + (f"; CA Issuers: {', '.join(self.ca_issuers)}"
                                                           if self.ca_issuers else ""))

    def pem(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return self.cert.public_bytes(Encoding.PEM)


@dataclass(frozen=True)
class Presented:
    """What the server sent in a handshake that verified nothing."""

    chain: tuple[Certificate, ...]
    """Leaf first, as sent (only the leaf when the server speaks TLS 1.3 alone)."""
    whole_chain: bool
    """Whether `chain` is everything the server sent (a TLS 1.2 handshake), not just the leaf."""
    asked_client_certificate: bool | None
    """A CertificateRequest was seen (TLS 1.2); None when the handshake did not show it (TLS 1.3)."""
    alert: str | None
    """The server's own failure, when the handshake failed ('handshake failure', 'certificate required')."""

    @property
    def leaf(self) -> Certificate:
        return self.chain[0]


@dataclass(frozen=True)
class Verdict:
    """A verifying handshake's outcome: None code when the server was trusted."""

    code: int | None
    message: str

    @property
    def trusted(self) -> bool:
        return self.code is None and not self.message


def read_presented(target: Target) -> Presented | None:
    """The certificates the server presents, read with a handshake that verifies nothing; None when it will not
    complete even that far (not a TLS port, or it refuses every version we offer)."""
    for tls12 in (True, False):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        if tls12:
            context.maximum_version = ssl.TLSVersion.TLSv1_2
        try:
            received, leaf, error = _handshake(target, context)
        except OSError:
            continue  # reset or silent on this offer: try the next
        messages, alert = _clear_messages(received)
        chain = _sent_chain(messages)
        if chain:
            asked = any(kind == _CERTIFICATE_REQUEST for kind, _ in messages)
            return Presented(chain, True, asked, alert or _alert_of(error))
        if leaf is not None:
            try:
                return Presented((Certificate.from_der(leaf),), False, None, alert or _alert_of(error))
            except ValueError:
                return None
    return None


def verify(target: Target, cafile: str | None = None, cadata: str | None = None, *, system: bool = False) -> Verdict:
    """A handshake that verifies as a client does, against `cafile` (+ `cadata`), or against the operating system's
    store with `system`: the one thing changed in a control."""
    try:
        if system:
            context = ssl.create_default_context()
        elif cafile is not None and os.path.isdir(cafile):  # REQUESTS_CA_BUNDLE may name a directory of hashes
            context = ssl.create_default_context(capath=cafile, cadata=cadata)
        else:
            context = ssl.create_default_context(cafile=cafile, cadata=cadata)
        _handshake(target, context, server_hostname=target.host)
    except OSError as error:
        return Verdict(None, f"no handshake: {error}")
    except _Failed as failed:
        error = failed.error
        if isinstance(error, ssl.SSLCertVerificationError):
            return Verdict(error.verify_code, error.verify_message)
        return Verdict(None, str(error))
    return Verdict(None, "")


def legacy_version(target: Target) -> str | None:
    """The TLS version a handshake completes with when TLS 1.0 and 1.1 are offered too (the control for a server that
    speaks only those); None when it does not complete either."""
    import warnings

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            return None
    try:
        received, leaf, error = _handshake(target, context)
    except OSError:
        return None
    if error is not None:
        return None
    return {b"\x03\x01": "TLS 1.0", b"\x03\x02": "TLS 1.1"}.get(_server_hello_version(received), "TLS 1.0/1.1")


def _server_hello_version(received: bytes) -> bytes:
    messages, _ = _clear_messages(received)
    hello = next((body for kind, body in messages if kind == 2), b"")
    return hello[:2]


SPEAKS_TLS_SECONDS = 1.5
"""A TLS server answers a ClientHello at once; a plain-HTTP server may wait for a request line that never comes."""


def speaks_tls(target: Target) -> bool:
    """Whether the port answers a TLS ClientHello with a server's handshake (the control for http:// to a TLS port)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        received, leaf, error = _handshake(replace(target, timeout=min(target.timeout, SPEAKS_TLS_SECONDS)), context)
    except OSError:
        return False
    return leaf is not None or received[:1] in (bytes([_HANDSHAKE]), bytes([_ALERT]))


def system_bundle() -> str | None:
    """The file that holds the operating system's CA store, as OpenSSL finds it (SSL_CERT_FILE, else its default);
    None where the store is not one file (Windows, macOS keychains, a directory of hashes only)."""
    from pathlib import Path

    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


class _Failed(Exception):
    def __init__(self, error: ssl.SSLError) -> None:
        super().__init__(str(error))
        self.error = error


def _handshake(target: Target, context: ssl.SSLContext, server_hostname: str | None = None,
               ) -> tuple[bytes, bytes | None, ssl.SSLError | None]:
    """Run a client handshake over memory BIOs, keeping every byte the server sent. Returns (bytes received, the leaf
    as DER or None, the handshake's error or None). With a verifying context a failure raises _Failed."""
    deadline = time.monotonic() + target.timeout
    sock = _connect(target)
    received = bytearray()
    try:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_hostname=server_hostname or target.server_name)
        error: ssl.SSLError | None = None
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outgoing.pending:
                    sock.sendall(outgoing.read())
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                data = sock.recv(65536)
                if not data:
                    error = ssl.SSLEOFError("the server closed the connection during the handshake")
                    break
                received += data
                incoming.write(data)
            except ssl.SSLError as failed:
                error = failed
                break
        if outgoing.pending:
            try:
                sock.sendall(outgoing.read())
            except OSError:
                pass
        if error is not None and context.verify_mode != ssl.CERT_NONE:
            raise _Failed(error)
        leaf = tls.getpeercert(binary_form=True) if error is None else None
        return bytes(received), leaf, error
    finally:
        sock.close()


def _connect(target: Target) -> socket.socket:
    if target.proxy is None:
        return socket.create_connection((target.host, target.port), timeout=target.timeout)
    proxy = urlsplit(target.proxy)
    sock = socket.create_connection((proxy.hostname or "", proxy.port or 80), timeout=target.timeout)
    request = f"CONNECT {target.host}:{target.port} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
    if proxy.username is not None:
        user = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()
        request += f"Proxy-Authorization: Basic {base64.b64encode(user).decode()}\r\n"
    sock.sendall((request + "\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    if not head.split(b" ", 2)[1:2] == [b"200"]:
        sock.close()
        raise ConnectionError("the proxy did not open a tunnel")
    return sock


def _clear_messages(data: bytes) -> tuple[list[tuple[int, bytes]], str | None]:
    """The handshake messages sent in clear (before ChangeCipherSpec), and a clear alert's description if any."""
    payload, alert, i = bytearray(), None, 0
    while i + 5 <= len(data):
        kind, length = data[i], int.from_bytes(data[i + 3:i + 5], "big")
        body = data[i + 5:i + 5 + length]
        if kind == _CHANGE_CIPHER_SPEC:
            break
        if kind == _HANDSHAKE:
            payload += body
        elif kind == _ALERT and len(body) == 2:
            alert = ALERTS.get(body[1], f"alert {body[1]}")
        i += 5 + length
    messages, j = [], 0
    while j + 4 <= len(payload):
        kind, length = payload[j], int.from_bytes(payload[j + 1:j + 4], "big")
        if j + 4 + length > len(payload):
            break
        messages.append((kind, bytes(payload[j + 4:j + 4 + length])))
        j += 4 + length
    return messages, alert


def _sent_chain(messages: list[tuple[int, bytes]]) -> tuple[Certificate, ...]:
    body = next((b for kind, b in messages if kind == _CERTIFICATE), b"")
    chain, i = [], 3
    while i + 3 <= len(body):
        length = int.from_bytes(body[i:i + 3], "big")
        try:
            chain.append(Certificate.from_der(body[i + 3:i + 3 + length]))
        except ValueError:
            break
        i += 3 + length
    return tuple(chain)


ALERTS = {40: "handshake failure", 42: "bad certificate", 70: "protocol version", 80: "internal error",
          112: "unrecognized name", 116: "certificate required"}


def _alert_of(error: ssl.SSLError | None) -> str | None:
    reason = getattr(error, "reason", None) or ""
    return reason.lower().replace("_", " ") if "ALERT" in reason else None


def _name(name: x509.Name) -> str:
    from cryptography.x509.oid import NameOID
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common[0].value) if common else name.rfc4514_string() or "(no name)"


def _org(name: x509.Name) -> str:
    from cryptography.x509.oid import NameOID
    return " ".join(str(a.value) for oid in (NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME)
                    for a in name.get_attributes_for_oid(oid))


def _san(cert: x509.Certificate) -> tuple[str, ...]:
    from cryptography import x509
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return (*san.get_values_for_type(x509.DNSName), *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)))


def _ca_issuers(cert: x509.Certificate) -> tuple[str, ...]:
    from cryptography import x509
    from cryptography.x509.oid import AuthorityInformationAccessOID
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(d.access_location.value for d in aia
                 if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
                 and isinstance(d.access_location, x509.UniformResourceIdentifier))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
