"""`airflow-doctor explain`: what a pasted answer means, offline, from the same classification code the checks use.

A pasted `requests` traceback is rebuilt into the exception chain it printed and classified by `http.classify`,
then explained by reachability's transport finding; a pasted HTTP answer (status line, headers, body, or an HTML
page alone) becomes a ProbeResponse and goes to the check that would have received it. The probe given to that
code never reaches the network: where a check would ask the server more, it learns nothing, and the report says
which `check` confirms it.
"""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from airflow_doctor import __version__
from airflow_doctor.http import Probe, ProbeResponse, TransportError, classify
from airflow_doctor.model import CheckResult, Exchange, Finding, Fix, Report, Snippet, Status, WorkingRequest
from airflow_doctor.redact import redact_text, redact_url
from airflow_doctor.report import choose_diagnosis

UNKNOWN_BASE = "http://your-airflow"
_STATUS_LINE = re.compile(r"^(?:HTTP/[\d.]+\s+)?(\d{3})(?:\s+[^\n]*)?$")
_REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD)\s+(\S+)", re.I)
_FINAL_EXCEPTION = re.compile(r"^(requests\.exceptions\.\w+|urllib3\.exceptions\.\w+|\w+Error):\s*(.*)$", re.M)
_POOL = re.compile(r"(HTTPS?)ConnectionPool\(host='([^']+)', port=(\d+)\)(?:: Max retries exceeded with url: (\S+))?")


class NotUnderstood(ValueError):
    """The pasted text is neither an HTTP answer nor a requests traceback."""


@dataclass(frozen=True)
class PastedAnswer:
    """An HTTP answer as pasted: the request line when given, the status, headers and body."""

    method: str
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: str


@dataclass(frozen=True)
class PastedTraceback:
    """A requests traceback: the final exception, its message, and the names of the exceptions it chained."""

    exception: str
    message: str
    text: str
    url: str
    connect_timeout: float
    read_timeout: float


def parse(text: str) -> PastedAnswer | PastedTraceback:
    text = text.replace("\r\n", "\n").strip("\n")
    if "Traceback (most recent call last)" in text or re.search(r"^requests\.exceptions\.\w+:", text, re.M):
        return _traceback(text)
    return _answer(text)


def _traceback(text: str) -> PastedTraceback:
    finals = _FINAL_EXCEPTION.findall(text)
    if not finals:
        raise NotUnderstood("The traceback has no final exception line (like 'requests.exceptions.ConnectionError: "
                            "...'); paste it whole, down to its last line.")
    exception, message = finals[-1]
    pool = _POOL.search(text)
    url = UNKNOWN_BASE
    if pool:
        scheme, host, port, path = pool.groups()
        url = f"{scheme.lower()}://{host}:{port}{path or '/'}"
    connect = re.search(r"connect timeout=([\d.]+)", text)
    read = re.search(r"read timeout=([\d.]+)", text)
    return PastedTraceback(exception, message, text, url, float(connect.group(1)) if connect else 0.0,
                           float(read.group(1)) if read else 0.0)


def _answer(text: str) -> PastedAnswer:
    lines = text.split("\n")
    method, url = "GET", UNKNOWN_BASE
    if lines and (request := _REQUEST_LINE.match(lines[0].strip())):
        method, url = request.group(1).upper(), request.group(2)
        lines = lines[1:]
    status_match = _STATUS_LINE.match(lines[0].strip()) if lines else None
    if status_match is None:
        if "<html" in text.lower() or "<!doctype html" in text.lower():
            return PastedAnswer(method, url, 200, (("Content-Type", "text/html"),), text)
        raise NotUnderstood("This is neither an HTTP answer (a status line such as 'HTTP/1.1 401 UNAUTHORIZED', then "
                            "headers and the body) nor a requests traceback; paste one of those, or '-' to read stdin.")
    headers: list[tuple[str, str]] = []
    rest = lines[1:]
    while rest and re.match(r"^[A-Za-z0-9-]+:\s", rest[0]):
        name, _, value = rest.pop(0).partition(":")
        headers.append((name.strip(), value.strip()))
    body = "\n".join(rest).strip("\n")
    if not any(k.lower() == "content-type" for k, _ in headers):
        kind = "text/html" if "<html" in body.lower() else "application/json" if body.lstrip()[:1] in "{[" and body else "text/plain"
        headers.append(("Content-Type", kind))
    return PastedAnswer(method, url, int(status_match.group(1)), tuple(headers), body)


# --- the same classification the checks use ----------------------------------------------------------

class _Offline(BaseAdapter):
    """Where a check would ask the server more, nothing is sent: explain works on what was pasted only."""

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        raise requests.exceptions.ConnectionError("airflow-doctor explain works offline")

    def close(self) -> None:
        pass


def _offline_session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", _Offline())
    session.mount("https://", _Offline())
    return session


def _base_of(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.split("/api/v")[0]
    return f"{parts.scheme}://{parts.netloc}{path}".rstrip("/")


def _context(url: str):  # type: ignore[no-untyped-def]
    from airflow_doctor.checks.base import ApiFlavour, CheckContext, Facts
    from airflow_doctor.profiles import Auth, AuthType, Profile

    base = _base_of(url)
    facts = Facts(base_url=base)
    path = urlsplit(url).path
    facts.api = ApiFlavour.V2 if "/api/v2" in path else ApiFlavour.V1 if "/api/v1" in path else None
    dag = re.search(r"/dags/([^/]+)", path)
    profile = Profile("explain", base, Auth(AuthType.NONE), dag_id=dag.group(1) if dag else None)
    return CheckContext(profile, facts, Probe(base, session_factory=_offline_session))


def rebuilt_exception(pasted: PastedTraceback) -> BaseException:
    """The exception chain the traceback printed, as real exception objects, for `http.classify` to read."""
    text = pasted.text
    inner: BaseException | None = None
    if re.search(r"CERTIFICATE_VERIFY_FAILED|SSLError|SSLCertVerificationError|WRONG_VERSION_NUMBER", text):
        reason = re.search(r"\[SSL[^\]]*\][^'\"\n)]*", text)
        inner = ssl.SSLError(reason.group(0) if reason else "SSL error")
    elif re.search(r"NameResolutionError|gaierror|Name or service not known|nodename nor servname|"
                   r"Temporary failure in name resolution|getaddrinfo failed", text):
        inner = socket.gaierror(-2, "Name or service not known")
    elif re.search(r"ConnectionRefusedError|Connection refused|actively refused", text):
        inner = ConnectionRefusedError(111, "Connection refused")
    elif re.search(r"RemoteDisconnected|ConnectionResetError|Connection reset|IncompleteRead", text):
        inner = ConnectionResetError(104, "Connection reset by peer")
    name = pasted.exception.rsplit(".", 1)[-1]
    outer_type = getattr(requests.exceptions, name, None)
    if not (isinstance(outer_type, type) and issubclass(outer_type, BaseException)):
        outer_type = requests.exceptions.ConnectionError
    outer = outer_type(pasted.message)
    outer.__cause__ = inner
    return outer


def finding_for_traceback(pasted: PastedTraceback) -> tuple[Finding, str]:
    from airflow_doctor.checks.reachability import transport_finding

    connect = pasted.connect_timeout or 5.0
    read = pasted.read_timeout or 20.0
    layer, message = classify(rebuilt_exception(pasted), pasted.url, connect, read)
    waited = {"tcp-timeout": connect, "read-timeout": read}.get(layer.value, 0.0)
    exchange = Exchange("GET", redact_url(pasted.url), None, waited * 1000, error=f"{layer.value}: {message}")
    context = _context(pasted.url)
    return transport_finding(TransportError(layer, message, exchange), context.facts), "reachability"


def finding_for_answer(pasted: PastedAnswer) -> tuple[Finding, str]:
    """The answer goes where a check would have received it: an API refusal to its check, anything else to
    reachability, which names what answered instead of Airflow's API."""
    from airflow_doctor.checks import permissions, reachability

    context = _context(pasted.url)
    response = _response(pasted, context.probe)
    path = urlsplit(pasted.url).path
    if pasted.status == 403 and pasted.method == "POST" and path.endswith("/dagRuns") and context.profile.dag_id:
        from airflow_doctor.checks.base import DagInfo

        context.facts.dag = DagInfo(context.profile.dag_id, None, None, None, None, None, {})
        return permissions.forbidden(context), "permissions"
    if _is_airflow_api_answer(response):
        return _not_judged_offline(pasted), _check_for(pasted)
    return reachability.unexpected_answer(context, response), "reachability"


def _response(pasted: PastedAnswer, probe: Probe) -> ProbeResponse:
    exchange = Exchange(pasted.method, redact_url(pasted.url), pasted.status, 0.0, response_headers=pasted.headers,
                        response_body=redact_text(pasted.body[:2000]))
    url = pasted.url if pasted.url != UNKNOWN_BASE else probe.url_for("/")
    return ProbeResponse(pasted.status, CaseInsensitiveDict(dict(pasted.headers)), pasted.body.encode("utf-8"), url, 0.0,
                         exchange)


def _is_airflow_api_answer(response: ProbeResponse) -> bool:
    """A JSON error in Airflow's own shape (2.x problem+json, 3.x {"detail": ...}): an API refusal, not a wrong door."""
    body = response.json()
    return 400 <= response.status < 500 and isinstance(body, dict) and ("detail" in body or "title" in body)


def _check_for(pasted: PastedAnswer) -> str:
    path = urlsplit(pasted.url).path
    if pasted.status == 401 or (pasted.status == 403 and "jwt" in pasted.body.lower()):
        return "auth-backend"
    if pasted.status == 404 and "/dags/" in path:
        return "dag-exists"
    if pasted.status in (400, 422, 409):
        return "payload-schema"
    return "auth-backend" if pasted.status == 403 else "reachability"


def _not_judged_offline(pasted: PastedAnswer) -> Finding:
    """An API refusal whose meaning depends on more than the answer (who asked, what else the server knows)."""
    from airflow_doctor.checks.base import error_detail

    detail = error_detail(_response(pasted, Probe(UNKNOWN_BASE, session_factory=_offline_session)), 200)
    return Finding(Status.FAIL, f"Airflow's API refused the request: {pasted.status} ({detail})",
                   explanation="This is Airflow's own answer (the request reached its API). What it means depends on "
                               "things the answer does not hold: the credentials sent, the DAGs this identity sees, "
                               "the server's version and settings; `check` asks the server for them.",
                   fix=Fix("Run the check named below against the server to get the cause and the fix."))


def confirmation(check_id: str, url: str) -> WorkingRequest:
    """What to run next to confirm the explanation on the real server."""
    base = _base_of(url) if url != UNKNOWN_BASE else "<your Airflow url>"
    command = f"airflow-doctor check --profile <profile> --only {check_id} -v"
    notes = (f"Explained offline from what was pasted; confirm it against {base} with the profile your script "
             "corresponds to.",)
    return WorkingRequest("To confirm it on the server", notes, (Snippet("run", "sh", command),))


def explain(text: str) -> Report:
    """The report `check` would give for this answer: one result, its diagnosis, and how to confirm it."""
    pasted = parse(text)
    finding, check_id = (finding_for_traceback(pasted) if isinstance(pasted, PastedTraceback)
                         else finding_for_answer(pasted))
    result = CheckResult.from_finding(check_id, f"explained from the pasted {_kind(pasted)}", finding, (), 0.0)
    if isinstance(pasted, PastedTraceback) and not result.code:
        result = replace(result, code=classify(rebuilt_exception(pasted), pasted.url, 5.0, 20.0)[0].value)
    results = (result,)
    return Report(__version__, datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"), "explain",
                  redact_url(pasted.url), (("input", _kind(pasted)),), (), results, choose_diagnosis(results),
                  working_request=confirmation(check_id, pasted.url))


def _kind(pasted: PastedAnswer | PastedTraceback) -> str:
    return "requests traceback" if isinstance(pasted, PastedTraceback) else f"HTTP {pasted.status} answer"


def read_pasted(source: str, stdin) -> str:  # type: ignore[no-untyped-def]
    """The text to explain: '-' reads stdin; anything else is the pasted text itself."""
    text = stdin.read() if source == "-" else source
    if not text.strip():
        raise NotUnderstood("Nothing to explain: paste an HTTP answer or a requests traceback as the argument, or "
                            "pipe it in with '-'.")
    return text
