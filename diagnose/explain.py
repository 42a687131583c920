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
from airflow_doctor.errors import NotUnderstood
from airflow_doctor.probe import Probe, ProbeResponse, TransportError, classify
from airflow_doctor.model import (CheckResult, choose_diagnosis, Exchange, Finding, FindingCode, Fix, Report, Snippet, Status,
                                  WorkingRequest)
from airflow_doctor.redact import redact_result, redact_text, redact_url

UNKNOWN_BASE = "http://your-airflow"
_STATUS_LINE = re.compile(r"^(?:HTTP/[\d.]+\s+)?(\d{3})(?:\s+[^\n]*)?$")
_REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD)\s+(\S+)", re.I)
_FINAL_EXCEPTION = re.compile(r"^(requests\.exceptions\.\w+|urllib3\.exceptions\.\w+|\w+Error):\s*(.*)$", re.M)
_POOL = re.compile(r"(HTTPS?)ConnectionPool\(host='([^']+)', port=(\d+)\)(?:: Max retries exceeded with url: (\S+))?")


@dataclass(frozen=True)
class PastedAnswer:
    """An HTTP answer as pasted: the request line when given, the status, headers and body."""

    method: str
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: str
    authorization: str = ""
    """The request's Authorization header when it was pasted above the answer ('' when not)."""
    request_shown: bool = False


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
    method, url, authorization, request_shown = "GET", UNKNOWN_BASE, "", False
    if lines and (request := _REQUEST_LINE.match(lines[0].strip())):
        method, url, request_shown = request.group(1).upper(), request.group(2), True
        lines = lines[1:]
        while lines and not _STATUS_LINE.match(lines[0].strip()) and re.match(r"^[A-Za-z0-9-]+:\s", lines[0]):
            name, _, value = lines.pop(0).partition(":")
            authorization = value.strip() if name.strip().lower() == "authorization" else authorization
        while lines and not lines[0].strip():
            lines.pop(0)
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
    return PastedAnswer(method, url, int(status_match.group(1)), tuple(headers), body, authorization, request_shown)


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
    from airflow_doctor.sources.profile import Auth, AuthType, Profile

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
    return (transport_finding(TransportError(layer, message, exchange), context.facts, look_up_neighbours=False),
            "reachability")


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
        return api_refusal(pasted, response, context.facts.api) or (_not_judged_offline(pasted), _check_for(pasted))
    return reachability.unexpected_answer(context, response), "reachability"


def api_refusal(pasted: PastedAnswer, response: ProbeResponse, api) -> tuple[Finding, str] | None:  # type: ignore[no-untyped-def]
    """Airflow's own refusal, explained by the function the check that receives it builds its finding with."""
    from airflow_doctor.checks import dag_exists, payload_schema
    from airflow_doctor.checks.base import ApiFlavour, error_detail

    status, detail = pasted.status, error_detail(response, 200)
    path = urlsplit(pasted.url).path
    airflow3 = api is ApiFlavour.V2 if api is not None else "title" not in (response.json() or {})
    dag = re.search(r"/dags/([^/]+)", path)
    trigger = pasted.method == "POST" and path.endswith("/dagRuns")
    if status in (401, 403) and not trigger or status == 401:
        finding = _auth_refusal(pasted, status, detail, airflow3)
        return (finding, "auth-backend") if finding is not None else None
    if status == 404 and dag is not None:
        return dag_exists.why_not_found(dag.group(1), [], None, said=f"{status} {detail}"), "dag-exists"
    label = _version_label(response, airflow3)
    how = f"{label} judged the body the script sent (the pasted answer)"
    if trigger and status in (400, 422) and (judged := payload_schema.judged_issues(response, None)) and judged[0]:
        return payload_schema.problems_finding(judged[0], label, how, None), "payload-schema"
    if trigger and status == 409:
        issue = payload_schema.conflict_issue(_conflict_words(response, detail))
        return payload_schema.problems_finding([issue], label, how, None), "payload-schema"
    return None


def _auth_refusal(pasted: PastedAnswer, status: int, detail: str, airflow3: bool) -> Finding | None:
    from airflow_doctor.checks.readers.auth_airflow2 import basic_refused_v2
    from airflow_doctor.checks.readers.auth_airflow3 import (basic_ignored_v3, bearer_refused, invalid_jwt,
                                                             is_invalid_jwt, is_token_expired, no_token_v3,
                                                             token_expired)
    from airflow_doctor.checks.readers.auth_common import authorization_not_received
    from airflow_doctor.checks.readers.credentials import decode_jwt

    scheme, _, credential = pasted.authorization.partition(" ")
    bearer = scheme.lower() == "bearer"
    claims = decode_jwt(credential) if bearer else None
    origin = "the token sent"
    request = f"{pasted.method} {urlsplit(pasted.url).path or '/'}"
    if is_token_expired(status, detail):
        return token_expired(claims, origin, obtained=False)
    if is_invalid_jwt(status, detail):
        return invalid_jwt(claims, origin, obtained=False, token_seen=bearer)
    if status != 401:
        return None
    if airflow3 and "not authenticated" in detail.lower():
        if bearer:
            return authorization_not_received(origin, request, status, detail, None, "not tried")
        if scheme.lower() == "basic":
            return basic_ignored_v3(f"{status} {detail}", "whether the same credentials get a token "
                                    "from /auth/token is for `check` to try", token_issued=False)
        sent = ("the request carried no Authorization header" if pasted.request_shown else
                "no token reached Airflow (no Authorization header, Basic auth, or a header dropped on the way)")
        return no_token_v3(f"{status}: {detail}", sent)
    if not airflow3 and bearer:
        return bearer_refused(origin, request, status, detail)
    if not airflow3:
        return basic_refused_v2(
            "explain cannot tell a wrong password from a disabled Basic backend", "explain works offline and did not "
            "try it (`check` logs in through the UI's form to tell them apart)")
    return None


def _version_label(response: ProbeResponse, airflow3: bool) -> str:
    """Airflow 2's problem+json names its version in the 'type' link."""
    version = re.search(r"apache-airflow/(\d+\.\d+\.\d+)/", str((response.json() or {}).get("type", "")))
    return f"Airflow {version.group(1)}" if version else "Airflow 3" if airflow3 else "Airflow 2"


def _conflict_words(response: ProbeResponse, detail: str) -> str:
    """Airflow 3 wraps a 409 in {'detail': {'reason': ...}}; the reason is the sentence."""
    body = response.json() or {}
    inner = body.get("detail") if isinstance(body, dict) else None
    return str(inner.get("reason") or detail) if isinstance(inner, dict) else detail


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


class Code(FindingCode):
    """What explain concludes itself; every other code comes from the check whose function judged the answer."""

    NOT_JUDGED_OFFLINE = "api-refusal-needs-check", ("Airflow's API refused the pasted request for a reason only "
                                                     "`check` can tell (who asked, what the server knows)")


def _not_judged_offline(pasted: PastedAnswer) -> Finding:
    """An API refusal whose meaning depends on more than the answer (who asked, what else the server knows)."""
    from airflow_doctor.checks.base import error_detail

    detail = error_detail(_response(pasted, Probe(UNKNOWN_BASE, session_factory=_offline_session)), 200)
    return Finding(Status.FAIL, f"Airflow's API refused the request: {pasted.status} ({detail})",
                   explanation="This is Airflow's own answer (the request reached its API). What it means depends on "
                               "things the answer does not hold: the credentials sent, the DAGs this identity sees, "
                               "the server's version and settings; `check` asks the server for them.",
                   fix=Fix("Run the check named below against the server to get the cause and the fix."),
                   code=Code.NOT_JUDGED_OFFLINE)


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
    result = redact_result(CheckResult.from_finding(check_id, f"explained from the pasted {_kind(pasted)}", finding, (), 0.0))
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
