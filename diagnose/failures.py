"""Failures that are findings, not bugs: a request that got no (complete) answer.

The runner turns any exception that can describe itself into the check's result; a transport error
describes itself here, in plain words, naming the request. Every transport layer's words live in one
table, TRANSPORT_FAILURES: what happened, the fix when a check stops at it mid-run, what it means when
it is the first request to the url (the reachability check), and its code, which is the layer's own
value as the exchange records it (evidence, JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from airflow_doctor.probe import Layer, ProbeResponse, TransportError
from airflow_doctor.model import Exchange, Finding, FindingCode, Fix, Status


class Code(FindingCode):
    """One code per transport layer: the value is the layer's own (probe.Layer), so the evidence and the finding
    name a failure alike."""

    INVALID_URL = "invalid-url", "the URL cannot be used as given; no request was sent"
    CLIENT_ENCODING = "client-encoding", "this client could not encode the request (a header or credential); not sent"
    DNS = "dns", "the host name could not be resolved"
    TCP_REFUSED = "tcp-refused", "the host refused the TCP connection: nothing listens on that port"
    TCP_TIMEOUT = "tcp-timeout", "no TCP connection within the connect timeout: packets dropped, or a wrong host/port"
    TLS = "tls", "the TLS handshake failed before any HTTP was exchanged"
    CONNECTION_CLOSED = "connection-closed", "the connection was closed before the answer was complete"
    READ_TIMEOUT = "read-timeout", "the connection was accepted but no (complete) answer came within the read timeout"
    BODY_TOO_LARGE = "body-too-large", "the answer was larger than airflow-doctor reads"
    CONNECTION = "connection", "the connection failed in a way that fits no known cause"
    RATE_LIMITED = "rate-limited", "a 429 Too Many Requests: the request was refused, or held back by an earlier 429"


RERUN_FIX = Fix("Run the check again; if it fails the same way, the evidence shows the request to try by hand.")
NETWORK_UI = ("The browser that shows the UI may be on a VPN, use another DNS server or an HTTP proxy, or open "
              "another address (a port-forward, a load balancer) than the profile's url.")


@dataclass(frozen=True)
class FirstContact:
    """What a layer's failure says about the path to the server when it is the first request to the url (the
    reachability check's version request). `{host}`, `{url}` and `{http_url}` are filled in from the url."""

    explanation: str
    fix: Fix
    why_ui_works: str = ""

    def filled(self, url: str) -> tuple[str, Fix, str]:
        words = {"host": urlsplit(url).hostname or url, "url": url, "http_url": "http://" + url.split("://", 1)[-1]}
        fix = Fix(self.fix.text.format(**words), tuple(c.format(**words) for c in self.fix.commands), self.fix.docs)
        return self.explanation.format(**words), fix, self.why_ui_works.format(**words)


@dataclass(frozen=True)
class TransportFailure:
    """One transport layer: its code, what happened to the request in words, the fix when a check stops at it in
    the middle of a run, and what it means when it is the first request to the url."""

    code: Code
    happened: str
    first_contact: FirstContact
    fix: Fix = RERUN_FIX


HELD_BACK_FIX = Fix("Wait for the rate limit to pass (the 429 answer's Retry-After, in the evidence), then run the "
                    "check again; airflow-doctor does not add requests to a server that asked it to slow down.")

TRANSPORT_FAILURES = {
    Layer.INVALID_URL: TransportFailure(
        Code.INVALID_URL, "the URL cannot be used",
        FirstContact("The URL cannot be used as given.", Fix("Correct the profile's url.", ()))),
    Layer.CLIENT_ENCODING: TransportFailure(
        Code.CLIENT_ENCODING, "this client could not encode the request",
        FirstContact("The request could not be built.", Fix("See the credential-encoding check.", ()))),
    Layer.DNS: TransportFailure(
        Code.DNS, "the host name could not be resolved",
        FirstContact("This machine cannot resolve {host}. The browser that shows the Airflow UI may be on a VPN, "
                     "use a different DNS server, or go through a proxy that resolves names for it.",
                     Fix("Check the host name in the profile's url, and that this machine uses the same network "
                         "(VPN, DNS) as the browser.", ("getent hosts {host}", "nslookup {host}")),
                     NETWORK_UI)),
    Layer.TCP_REFUSED: TransportFailure(
        Code.TCP_REFUSED, "the connection was refused",
        FirstContact("The host is reachable but nothing accepts connections on that port: the Airflow web "
                     "server (Airflow 2: 'airflow webserver'; Airflow 3: 'airflow api-server') is not running "
                     "there, or listens on another port or only on another interface.",
                     Fix("Start the web server, or correct the port in the profile's url.",
                         ("curl -sv {url}/api/v2/version", "curl -sv {url}/api/v1/version")),
                     "If the UI opens, the browser reaches the web server at another address or port (a proxy, a "
                     "port-forward, a load balancer) than the profile's url.")),
    Layer.TCP_TIMEOUT: TransportFailure(
        Code.TCP_TIMEOUT, "no connection after {seconds}",
        FirstContact("Packets to this host and port get no answer at all: a firewall or security group drops "
                     "them, the address is private to another network, or the port is wrong.",
                     Fix("Check firewall rules and VPN, and that the url's host and port are the ones the "
                         "browser uses.", ("curl -sv --connect-timeout 5 {url}/api/v2/version",)),
                     NETWORK_UI),
        Fix("Check that nothing between here and the server drops the connection (firewall, VPN), or "
            "give it longer (the profile's timeout.connect).", ("timeout: {connect: 15, read: 20}",))),
    Layer.TLS: TransportFailure(
        Code.TLS, "the TLS handshake failed",
        FirstContact("The TLS handshake failed before any HTTP was exchanged. A browser trusts certificates from the "
                     "operating system's store (where company CAs are installed); this client uses its own CA bundle, "
                     "so a certificate the browser accepts can still be rejected here.",
                     Fix("Give the profile the CA bundle that signs the server's certificate:",
                         ("tls:\n  verify: /path/to/company-ca.pem",)),
                     "A browser trusts the certificates of the operating system's store (where company CAs are "
                     "installed); this client trusts only its own CA bundle.")),
    Layer.CONNECTION_CLOSED: TransportFailure(
        Code.CONNECTION_CLOSED, "the server closed the connection before the answer was complete",
        FirstContact("The connection was closed before the answer was complete: a proxy or load "
                     "balancer cut it, or the server process crashed while answering.",
                     Fix("Check the proxy and web server logs at the time of this run.", ()),
                     "A browser retries a cut connection silently; a script sees the failure."),
        Fix("Something on the path cut the connection: a proxy or load balancer (an idle "
            "timeout), or a server worker that died. The server's log at this time says which.")),
    Layer.READ_TIMEOUT: TransportFailure(
        Code.READ_TIMEOUT, "no (complete) answer after {seconds}",
        FirstContact("The connection was accepted but the answer did not come in time: the web server is "
                     "overloaded or hung, or a proxy holds the connection open.",
                     Fix("Check the web server's health and logs; raise timeout.read in the profile if the "
                         "server is just slow.", ("timeout:\n  read: 60",)),
                     "The UI's pages are small and cached; if the UI loads now, the API workers are the ones that "
                     "are busy or hung."),
        Fix("If the server is slow rather than stuck, give it longer (the profile's timeout.read), and "
            "look at the server's load and log at this time.", ("timeout: {connect: 5, read: 60}",))),
    Layer.BODY_TOO_LARGE: TransportFailure(
        Code.BODY_TOO_LARGE, "the answer was larger than airflow-doctor reads",
        FirstContact("A tiny version request got an enormous answer. Airflow's version endpoint answers "
                     "with a few dozen bytes, so this is not Airflow's API.",
                     Fix("Check that the profile's url points at the Airflow web server.", ()),
                     "The browser renders whatever page answers at this address; the API is not there.")),
    Layer.CONNECTION: TransportFailure(
        Code.CONNECTION, "the connection failed",
        FirstContact("The connection failed in a way that does not fit a known cause.",
                     Fix("Try the URL with curl -v from this machine to see more.", ("curl -sv {url}/api/v2/version",)),
                     NETWORK_UI)),
    Layer.HELD_BACK: TransportFailure(
        Code.RATE_LIMITED, "not sent, because the server answered 429 Too Many Requests earlier in this run",
        FirstContact("The server rate-limited an earlier request of this run (429), so airflow-doctor sent "
                     "nothing more to it.", HELD_BACK_FIX),
        HELD_BACK_FIX),
}
"""Every transport layer's words, in one place: each check that stops at a failed request reads them here."""

PLAIN_HTTP = FirstContact(
    "The port answered, but not in TLS: it serves plain HTTP, so the url's https:// is wrong for it (no certificate "
    "is involved).",
    Fix("Use http:// for this port, or the port where the server speaks TLS: url: {http_url}", ("url: {http_url}",)),
    "The browser's address bar holds http:// (or the TLS port); the profile's url says https:// to a plain-HTTP port.")
"""A TLS failure whose message says the port did not answer TLS at all: the url's scheme is the cause."""


@runtime_checkable
class DescribesItself(Protocol):
    """An exception that is a finding about the world rather than a bug in airflow-doctor."""

    def as_finding(self) -> Finding: ...


def finding_for(error: BaseException) -> Finding | None:
    """The finding an exception stands for, or None when it is a bug."""
    if isinstance(error, TransportError):
        return transport_finding(error)
    if isinstance(error, DescribesItself):
        return error.as_finding()
    return None


def what_happened(error: TransportError) -> str:
    """The request and what became of it: 'GET http://host/path failed: the connection was refused'."""
    seconds = error.exchange.elapsed_ms / 1000
    shown = f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    words = _layer(error).happened.format(seconds=shown)
    return f"{error.exchange.method} {error.exchange.url} failed: {words}"


STOPPED = ("The check stopped at this request, so it could not reach its verdict: this is a fact about the network "
           "path or the server at that moment, not a bug in airflow-doctor.")


def transport_finding(error: TransportError, consequence: str = STOPPED, first_contact_url: str | None = None) -> Finding:
    """The failed request as the check's finding; `consequence` says what it leaves unknown. With
    `first_contact_url` it was the first request to that url, and the layer's words say what it means for the path
    to the server."""
    failure = _layer(error)
    if first_contact_url is None:
        return Finding(Status.FAIL, what_happened(error),
                       explanation=f"{error.message}. {consequence} The evidence shows the request.",
                       fix=failure.fix, code=failure.code)
    plain_http = error.layer is Layer.TLS and "did not answer TLS" in error.message
    explanation, fix, why_ui = (PLAIN_HTTP if plain_http else failure.first_contact).filled(first_contact_url)
    return Finding(Status.FAIL, f"{what_happened(error)} ({error.message})", explanation=explanation, fix=fix,
                   why_ui_works=why_ui, code=failure.code)


def _layer(error: TransportError) -> TransportFailure:
    return TRANSPORT_FAILURES.get(error.layer, TRANSPORT_FAILURES[Layer.CONNECTION])


def answer_of(exchange: Exchange) -> ProbeResponse:
    """A recorded (redacted) exchange as an answer to read again."""
    from requests.structures import CaseInsensitiveDict

    body = (exchange.response_body or "").encode("utf-8")
    return ProbeResponse(exchange.status or 0, CaseInsensitiveDict(dict(exchange.response_headers)), body, exchange.url,
                         exchange.elapsed_ms, exchange)
