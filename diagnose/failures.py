"""Failures that are findings, not bugs: a request in the middle of a check that got no (complete) answer.

The runner turns any exception that can describe itself into the check's result; a transport error
describes itself here, in plain words, naming the request. The machine code of the layer stays in
the exchange (evidence, JSON).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from airflow_doctor.probe import Layer, ProbeResponse, TransportError
from airflow_doctor.model import CheckResult, Exchange, Finding, Fix, Status

WHAT_HAPPENED = {
    Layer.INVALID_URL: "the URL cannot be used",
    Layer.CLIENT_ENCODING: "this client could not encode the request",
    Layer.DNS: "the host name could not be resolved",
    Layer.TCP_REFUSED: "the connection was refused",
    Layer.TCP_TIMEOUT: "no connection after {seconds}",
    Layer.TLS: "the TLS handshake failed",
    Layer.CONNECTION_CLOSED: "the server closed the connection before the answer was complete",
    Layer.READ_TIMEOUT: "no (complete) answer after {seconds}",
    Layer.BODY_TOO_LARGE: "the answer was larger than airflow-doctor reads",
    Layer.CONNECTION: "the connection failed",
    Layer.HELD_BACK: "not sent, because the server answered 429 Too Many Requests earlier in this run",
}

FIXES = {
    Layer.READ_TIMEOUT: Fix("If the server is slow rather than stuck, give it longer (the profile's timeout.read), and "
                            "look at the server's load and log at this time.", ("timeout: {connect: 5, read: 60}",)),
    Layer.TCP_TIMEOUT: Fix("Check that nothing between here and the server drops the connection (firewall, VPN), or "
                           "give it longer (the profile's timeout.connect).", ("timeout: {connect: 15, read: 20}",)),
    Layer.CONNECTION_CLOSED: Fix("Something on the path cut the connection: a proxy or load balancer (an idle "
                                 "timeout), or a server worker that died. The server's log at this time says which."),
    Layer.HELD_BACK: Fix("Wait for the rate limit to pass (the 429 answer's Retry-After, in the evidence), then run the "
                         "check again; airflow-doctor does not add requests to a server that asked it to slow down."),
}


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
    words = WHAT_HAPPENED.get(error.layer, WHAT_HAPPENED[Layer.CONNECTION]).format(seconds=shown)
    return f"{error.exchange.method} {error.exchange.url} failed: {words}"


STOPPED = ("The check stopped at this request, so it could not reach its verdict: this is a fact about the network "
           "path or the server at that moment, not a bug in airflow-doctor.")


def transport_finding(error: TransportError, consequence: str = STOPPED) -> Finding:
    """The failed request as the check's finding; `consequence` says what it leaves unknown."""
    return Finding(
        Status.FAIL, what_happened(error),
        explanation=f"{error.message}. {consequence} The evidence shows the request.",
        fix=FIXES.get(error.layer, Fix("Run the check again; if it fails the same way, the evidence shows the request "
                                       "to try by hand.")), code=error.layer.value)


def answer_of(exchange: Exchange) -> ProbeResponse:
    """A recorded (redacted) exchange as an answer to read again."""
    from requests.structures import CaseInsensitiveDict

    body = (exchange.response_body or "").encode("utf-8")
    return ProbeResponse(exchange.status or 0, CaseInsensitiveDict(dict(exchange.response_headers)), body, exchange.url,
                         exchange.elapsed_ms, exchange)
