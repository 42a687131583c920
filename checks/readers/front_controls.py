"""An answer to one of the doctor's requests that Airflow did not write is evidence in the check that sent it, and
what the component in front keys on is found by controls, the way an engineer would: change one thing, ask again.

The runner's review hook (gateway.reviewer) hands every result here. A result whose own evidence holds a refusal
that is not Airflow's (a 4xx or 5xx whose body, headers or server say another component answered) is never a pass:
it is restated as the front's finding, with the controls that say what the front keys on:

- its own credentials: a challenge or message that is not Airflow's (a realm, a key it names), read from the answer;
- the body: the same request with a small harmless body passes. Then a body of the same shape and size with harmless
  values: passes, so the front matches content (a rule, what a WAF does; the field it matches is narrowed down), or
  is refused too, so it counts bytes (a size limit, found by bisection between the sizes that passed and failed);
- the method: a read (GET) of the same path passes while the POST does not;
- the path: the API's version endpoint and the root, asked through the same address;
- the rate: a Retry-After in the refusal; nothing is asked again then.

Controls are safe and few: reads, or POSTs to the trigger endpoint whose body carries a field Airflow refuses
(trigger_body.PROBE_FIELD) before any run exists; only when a check already failed; at most CONTROL_BUDGET requests.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from airflow_doctor.checks.base import CheckContext, error_detail
from airflow_doctor.checks.readers.front import (Answerer, Demand, answered_by, origin_of, own_credentials, own_words,
                                                 proxy_realm)
from airflow_doctor.checks.readers.trigger_body import PROBE_FIELD, refuses_unknown_fields
from airflow_doctor.failures import answer_of
from airflow_doctor.model import CheckResult, Exchange, Finding, FindingCode, Fix, Status
from airflow_doctor.probe import NoAuth, ProbeResponse, TransportError

CONTROL_BUDGET = 10
"""At most this many control requests for one refusal: two for the body, five for a size limit's bisection, three to
find the field a rule matches, or three for method and path."""

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
"""A browser's User-Agent, for the control that asks whether the front keys on the client's software."""

TRIGGER_PATH = re.compile(r"/api/v[12]/dags/[^/]+/dagRuns$")


class Code(FindingCode):
    """What a component in front of Airflow keys on when it refuses one of the doctor's requests."""

    OWN_CREDENTIALS = "front-own-credentials", "a front demands credentials of its own (a realm or key Airflow never asks)"
    BODY_SIZE = "front-body-size-limit", "a front refuses the request for its body's size: a smaller body passed"
    BODY_RULE = "front-body-rule", "a front refuses the body's content: a harmless body of the same shape and size passed"
    METHOD = "front-method-refused", "a front refuses this method on the path: a read of the same path reached Airflow"
    PATH = "front-path-guarded", "a front refuses the API's paths: another path through the same address reached Airflow"
    CREDENTIALS = "front-refuses-credentials", ("a front refuses the request with Airflow's credentials and passes it "
                                                "without: it reads the Authorization header itself")
    USER_AGENT = "front-user-agent-rule", "a front refuses this client's software: a browser's User-Agent passed"
    CLIENT = "front-refuses-client", "a front refuses every request of this client, whatever its path, method or body"
    RATE = "front-retry-after", "a front refused and asked to retry later (Retry-After)"
    REFUSED = "front-refused", "a front refused the request; no control could say what it keys on"


# --- whose refusal ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Refusal:
    """A request of the check that a component in front of Airflow answered with an error of its own."""

    exchange: Exchange
    response: ProbeResponse
    who: Answerer

    @property
    def request(self) -> str:
        return f"{self.exchange.method} {self.exchange.url}"

    @property
    def path(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.exchange.url).path

    @property
    def body_size(self) -> int | None:
        declared = dict((k.lower(), v) for k, v in self.exchange.request_headers).get("content-length", "")
        return int(declared) if declared.isdigit() else None


def refusal_in(evidence: tuple[Exchange, ...]) -> Refusal | None:
    """The first error answer in a check's evidence that Airflow did not write and that the check did not get past
    itself (a later request to the same path, e.g. with credentials, that Airflow answered). 404 is routing
    (reachability reads sub-paths and mounts); 429 and 502-504 have findings of their own (gateway.unvouched)."""
    for index, exchange in enumerate(evidence):
        if _got_past(exchange, evidence[index + 1:]):
            continue
        status = exchange.status
        if status is None or status < 400 or status in (404, 429, 502, 503, 504):
            continue
        response = answer_of(exchange)
        if exchange.body_truncated and response.is_json_type:
            continue  # the record holds the start of a JSON body only: its shape cannot be read, nor held against it
        who = answered_by(response)
        if not who.airflow:
            return Refusal(exchange, response, who)
    return None


def _got_past(exchange: Exchange, later: tuple[Exchange, ...]) -> bool:
    path = exchange.url.split("?")[0]
    return any(e.method == exchange.method and e.url.split("?")[0] == path and e.status is not None
               and (e.status < 400 or answered_by(answer_of(e)).airflow) for e in later)


# --- controls --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Control:
    """One request that changes one thing about the refused one, and whether it got past the front."""

    what: str
    passed: bool
    said: str
    size: int | None = None

    def line(self) -> str:
        return f"{self.what}: {self.said}"


@dataclass
class Controls:
    """Sends the controls for one refusal, within the budget, with the refused request's own credentials."""

    ctx: CheckContext
    refusal: Refusal
    sent: list[Control] = field(default_factory=list)

    def ask(self, what: str, method: str, path: str, body: Any = None, size: int | None = None, *,
            anonymous: bool = False, headers: dict[str, str] | None = None) -> Control | None:
        if len(self.sent) >= CONTROL_BUDGET:
            return None
        auth = NoAuth() if anonymous else self._auth()
        sent = {**({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})}
        url = origin_of(self.refusal.exchange.url) + path  # paths are the refused request's own, prefix included
        try:
            response = self.ctx.probe.request(method, url, data=body, auth=auth, headers=sent)
        except TransportError as error:
            control = Control(what, False, f"no answer ({error.message})", size)
        else:
            control = Control(what, passed_front(response, self.refusal), _said(response, self.refusal), size)
        self.sent.append(control)
        return control

    def carried_credentials(self) -> bool:
        return (self.ctx.facts.credentials is not None and
                any(name.lower() in ("authorization", "cookie") for name, _ in self.refusal.exchange.request_headers))

    def _auth(self):  # type: ignore[no-untyped-def]
        credentials = self.ctx.facts.credentials
        return credentials.auth() if self.carried_credentials() and credentials is not None else NoAuth()


def passed_front(response: ProbeResponse, refusal: Refusal) -> bool:
    """Whether a control got past the front: Airflow answered it, or it got no error at all."""
    return answered_by(response).airflow or (response.status < 400 and response.status != refusal.response.status)


def _said(response: ProbeResponse, refusal: Refusal) -> str:
    if answered_by(response).airflow:
        return f"Airflow answered {response.status} ({error_detail(response, 60)}): it passed the front"
    same = response.status == refusal.response.status
    return (f"{'refused again' if same else 'refused'}: {answered_by(response).label()} answered {response.status}"
            f"{'' if same else f' ({error_detail(response, 60)})'}")


def size_words(size: int) -> str:
    return f"{size:,} bytes" if size < 1024 else f"{size:,} bytes ({size / 1024:.1f} KiB)"


def padded(size: int) -> str:
    """A body of `size` bytes that Airflow refuses before any run exists: only the probe field, its value filler."""
    base = len(json.dumps({PROBE_FIELD: ""}))
    return json.dumps({PROBE_FIELD: "x" * max(0, size - base)})


def twin(body: Any, keep: frozenset[str] = frozenset()) -> Any:
    """The body with the same shape and sizes, every string leaf (except those in `keep`) replaced by harmless
    filler of its length."""
    def walk(value: Any, path: str) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, str) and path not in keep:
            return "x" * len(value.encode("utf-8"))
        return value
    return walk(body, "")


def string_leaves(body: Any, path: str = "") -> list[str]:
    if isinstance(body, dict):
        return [leaf for k, v in body.items() for leaf in string_leaves(v, f"{path}.{k}" if path else str(k))]
    if isinstance(body, list):
        return [leaf for i, v in enumerate(body) for leaf in string_leaves(v, f"{path}[{i}]")]
    return [path] if isinstance(body, str) and path != PROBE_FIELD else []


@dataclass(frozen=True)
class Verdict:
    """What the front keys on, as the controls showed it."""

    code: Code
    controls: tuple[Control, ...]
    demand: Demand | None = None
    limit: tuple[int, int] | None = None
    """For a size limit: the largest body that passed and the smallest that was refused, in bytes."""
    field: str | None = None
    """For a content rule: the body's field the rule matches, when the controls narrowed it to one."""


def keyed_on(ctx: CheckContext, refusal: Refusal) -> Verdict:
    response = refusal.response
    if response.headers.get("Retry-After"):
        return Verdict(Code.RATE, ())
    controls = Controls(ctx, refusal)
    demand = own_credentials(response)
    if demand is not None:
        _path_controls(controls)
        return Verdict(Code.OWN_CREDENTIALS, tuple(controls.sent), demand)
    if _body_controllable(ctx, refusal):
        verdict = _body_verdict(controls)
        if verdict is not None:
            return verdict
    return _method_or_path_verdict(controls)


def _body_controllable(ctx: CheckContext, refusal: Refusal) -> bool:
    """Body controls only where they cannot create a run: POSTs to the trigger endpoint of a version that refuses
    the probe field before anything is written."""
    return (refusal.exchange.method == "POST" and TRIGGER_PATH.search(refusal.path) is not None
            and refuses_unknown_fields(ctx.facts.airflow_version or "") and bool(refusal.exchange.request_body))


def _body_verdict(controls: Controls) -> Verdict | None:
    refusal = controls.refusal
    small_body = json.dumps({PROBE_FIELD: True})
    small = controls.ask(f"the same {refusal.exchange.method} with a {len(small_body)}-byte harmless body",
                         "POST", refusal.path, small_body, len(small_body))
    if small is None or not small.passed:
        return None
    size = refusal.body_size or len(refusal.exchange.request_body or "")
    original = _parsed(refusal.exchange)
    same = (json.dumps(_with_probe(twin(original))) if original is not None else padded(size))
    shape = "of the same shape and size, every text value replaced by filler" if original is not None else \
        "of the same size, filler only"
    control = controls.ask(f"a body {shape} ({size_words(len(same))})", "POST", refusal.path, same, len(same))
    if control is None:
        return None
    if control.passed:
        matched = _matched_field(controls, original)
        return Verdict(Code.BODY_RULE, tuple(controls.sent), field=matched)
    limit = _bisect(controls, len(small_body), len(same))
    return Verdict(Code.BODY_SIZE, tuple(controls.sent), limit=limit)


def _parsed(exchange: Exchange) -> dict[str, Any] | None:
    """The refused body as sent, when the record holds it whole (not cut short) and it is a JSON object."""
    try:
        body = json.loads(exchange.request_body or "")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _with_probe(body: dict[str, Any]) -> dict[str, Any]:
    """A control body always carries the probe field, so Airflow refuses it before any run exists."""
    return {**body, PROBE_FIELD: body.get(PROBE_FIELD, True)}


def _matched_field(controls: Controls, original: dict[str, Any] | None, steps: int = 3) -> str | None:
    """Narrow down the field whose content the rule matches: restore half of the candidates' real values at a time
    (the rest filler); a refused body holds the match. None when it stays ambiguous."""
    if original is None:
        return None
    candidates = string_leaves(original)
    path = controls.refusal.path
    for _ in range(steps):
        if len(candidates) <= 1:
            break
        half = candidates[: len(candidates) // 2]
        body = json.dumps(_with_probe(twin(original, keep=frozenset(half))))
        control = controls.ask(f"the same shape with the real values of {', '.join(half)} only", "POST", path, body,
                               len(body))
        if control is None:
            return None
        candidates = candidates[len(half):] if control.passed else half
    return candidates[0] if len(candidates) == 1 else None


def _bisect(controls: Controls, passed: int, refused: int, steps: int = 5) -> tuple[int, int]:
    """The size limit between the largest body that passed and the smallest refused: geometric bisection (limits
    are often powers of two), a few requests."""
    path = controls.refusal.path
    for _ in range(steps):
        if refused - passed <= max(16, passed // 8):
            break
        middle = int(math.sqrt(passed * refused)) if passed > 0 else refused // 2
        middle = min(max(middle, passed + 1), refused - 1)
        control = controls.ask(f"a harmless body of {size_words(middle)}", "POST", path, padded(middle), middle)
        if control is None:
            break
        passed, refused = (middle, refused) if control.passed else (passed, middle)
    return passed, refused


def _path_controls(controls: Controls) -> None:
    """GET the API's version endpoint and the root through the same address (reads; the API's is answered by
    Airflow to anyone)."""
    refused = controls.refusal.path
    api = re.match(r"(.*?/api/v[12])/", refused)
    if api and refused != f"{api.group(1)}/version":
        controls.ask(f"GET {api.group(1)}/version (the API, another path)", "GET", f"{api.group(1)}/version")
    controls.ask(f"GET {_root(refused)} (not the API)", "GET", _root(refused))


def _root(path: str) -> str:
    """Where Airflow's pages start: the part of the path before /api/ (a sub-path Airflow is mounted under), then /."""
    return (path[: path.index("/api/")] if "/api/" in path else "") + "/"


def _method_or_path_verdict(controls: Controls) -> Verdict:
    refusal = controls.refusal
    if refusal.exchange.method != "GET":
        read = controls.ask(f"GET {refusal.path} (the same path, read)", "GET", refusal.path)
        if read is not None and read.passed:
            return Verdict(Code.METHOD, tuple(controls.sent))
    if controls.carried_credentials():
        bare = controls.ask(f"GET {refusal.path} without the credentials", "GET", refusal.path, anonymous=True)
        if bare is not None and bare.passed:
            return Verdict(Code.CREDENTIALS, tuple(controls.sent))
    _path_controls(controls)
    others = [c for c in controls.sent if c.what.startswith("GET ") and c.what.split()[1] != refusal.path]
    if any(c.passed for c in others):
        return Verdict(Code.PATH, tuple(controls.sent))
    root = _root(refusal.path)
    browser = controls.ask(f"GET {root} with a web browser's User-Agent", "GET", root, headers={"User-Agent": BROWSER})
    if browser is not None and browser.passed:
        return Verdict(Code.USER_AGENT, tuple(controls.sent))
    if controls.sent and not any(c.passed for c in controls.sent):
        return Verdict(Code.CLIENT, tuple(controls.sent))
    return Verdict(Code.REFUSED, tuple(controls.sent))


# --- the finding -----------------------------------------------------------------------------------

def fronted(ctx: CheckContext, result: CheckResult, leave: Callable[[str], bool] = lambda code: False) -> CheckResult:
    """A result whose evidence holds a front's refusal, restated as the front's finding with its controls. A pass
    (or warning) beside a refusal is never kept; a failure is kept when its code already names what answered
    (`leave`), unless the front asks for credentials of its own (that gets the fix the profile can carry)."""
    if result.status is Status.SKIP or result.internal_error or result.code in {c.value for c in Code}:
        return result
    refusal = refusal_in(result.evidence)
    if refusal is None:
        return result
    if result.status is Status.FAIL and leave(result.code) and own_credentials(refusal.response) is None:
        return result
    ctx.probe.drain()
    verdict = keyed_on(ctx, refusal)
    finding = front_finding(ctx, refusal, verdict, result)
    return CheckResult.from_finding(result.check_id, result.title, finding, result.evidence + ctx.probe.drain(),
                                    result.duration_ms)


@dataclass(frozen=True)
class Words:
    """A verdict in words: what the front keys on (headline), why, what to change and why the UI still works."""

    keyed: str
    because: str
    fix: Fix
    why_ui: str


def front_finding(ctx: CheckContext, refusal: Refusal, verdict: Verdict, result: CheckResult) -> Finding:
    response, who = refusal.response, refusal.who
    words = _words(ctx, refusal, verdict)
    said = own_words(response)
    evidence = f" Evidence that it is not Airflow's answer: {'; '.join(who.evidence[:5])}." if who.evidence else ""
    controls = ("\nControls (each changes one thing and asks again):\n" + "\n".join(f"- {c.line()}" for c in
                                                                                       verdict.controls)
                if verdict.controls else "")
    before = f"{result.status.value}: {result.summary}"
    return Finding(
        Status.FAIL, f"the {response.status} to {refusal.request} comes from what stands in front of Airflow "
                     f"({_front_words(refusal)}), not from Airflow: {words.keyed}",
        explanation=f"This check's request was answered by {who.label()}, not by Airflow: its answer does not have "
                    "Airflow's shape (Airflow 2 answers problem+json, Airflow 3 JSON with 'detail', both from their "
                    f"own web server)" + (f", and it says '{said}'" if said else "") + f".{evidence} Airflow never "
                    f"saw the request, so what this check asks ('{result.title}') is not answered by this run: the "
                    f"check does not pass on a refusal. {words.because}{controls}",
        fix=words.fix,
        details=(f"without Airflow's answer the check itself read: {before}",),
        why_ui_works=words.why_ui, code=verdict.code)


def _front_words(refusal: Refusal) -> str:
    """The front as its answer names it: its name (Server, Via, page) and a challenge's realm."""
    realm = proxy_realm(refusal.response)
    name = refusal.who.label() if refusal.who.name else "it does not name itself"
    return name + (f", realm {realm!r}" if realm else "")


def _words(ctx: CheckContext, refusal: Refusal, verdict: Verdict) -> Words:
    builders = {Code.OWN_CREDENTIALS: _own_credentials_words, Code.BODY_SIZE: _size_words,
                Code.BODY_RULE: _rule_words, Code.METHOD: _method_words, Code.PATH: _path_words,
                Code.CLIENT: _client_words, Code.CREDENTIALS: _credentials_words, Code.USER_AGENT: _agent_words, Code.RATE: _rate_words, Code.REFUSED: _refused_words}
    return builders[verdict.code](ctx, refusal, verdict)


def _ui_path(verdict: Verdict) -> str:
    passed = [c for c in verdict.controls if c.passed and c.what.startswith("GET ")]
    return passed[0].what.split(" (")[0] if passed else ""


def _own_credentials_words(ctx: CheckContext, refusal: Refusal, verdict: Verdict) -> Words:
    demand = verdict.demand
    assert demand is not None
    header = demand.header_or_placeholder()
    asked = (f"a challenge Airflow never sends ('WWW-Authenticate: {demand.challenge}')" if demand.challenge else
             f"its own words '{demand.words}'")
    named = (f"The answer names the header: {header}." if demand.header else
             f"The answer does not name the header it reads: ask the front's owner which one (the snippet uses "
             f"{header} as a placeholder).")
    uses_authorization = demand.challenge.lower().startswith(("basic", "bearer"))
    text = (f"Give the profile the front's key as an extra request header, sent on every request next to Airflow's "
            f"own credentials (its value from the environment, never written in the profile). {named} In --url mode: "
            f"--header '{header}: $GATEWAY_KEY'.")
    if uses_authorization:
        text += (" This front asks for credentials in Authorization, the header Airflow's own credentials use: ask "
                 "its owner for a key in a header of its own, or call Airflow at an address that does not go "
                 "through it.")
    passed = _ui_path(verdict)
    return Words(
        f"it demands credentials of its own ({asked})",
        f"The front asks for its own credentials, with {asked}: Airflow's 401 never names a realm or a key, so no "
        "Airflow user, password or token answers it.",
        Fix(text, (f"headers:\n  {header}: ${{GATEWAY_KEY}}",
                   f"airflow-doctor check --url <url> --header '{header}: $GATEWAY_KEY'")),
        (f"{passed} got past this gateway without its key, so the UI's pages are not guarded by it; the API's "
         "requests are." if passed else
         "The browser holds what this gateway wants (a login to it, or a cookie it set); the script sends only "
         "Airflow's credentials."))


def _size_words(ctx: CheckContext, refusal: Refusal, verdict: Verdict) -> Words:
    assert verdict.limit is not None
    passed, refused = verdict.limit
    size = refusal.body_size
    sent = f" (this request's body: {size_words(size)})" if size else ""
    return Words(
        f"a body-size limit between {size_words(passed)} and {size_words(refused)}{sent}",
        f"A small harmless body passed the front and a harmless body of the same size was refused: the front counts "
        f"bytes, whatever they say. The largest body that passed was {size_words(passed)}, the smallest refused "
        f"{size_words(refused)}.",
        Fix(f"Raise the front's request-body size limit above the bodies the script sends{sent} (it is the setting "
            "of the component named above: e.g. nginx client_max_body_size, Apache LimitRequestBody, a WAF's body "
            f"size rule), or make the script send less than {size_words(passed)}: pass large data by reference (a "
            "path or URL in conf) instead of inline."),
        "The UI's requests are small (its trigger form sends the params' values only), below this limit; the "
        "script's body is above it.")


def _rule_words(ctx: CheckContext, refusal: Refusal, verdict: Verdict) -> Words:
    where = f"in {verdict.field}" if verdict.field else "in the body's text values (the controls did not narrow it " \
                                                          "to one field)"
    return Words(
        f"a rule on the body's content (it matches what is {where}), not its size",
        f"A body of the same shape and size with harmless values passed the front, and the real values did not: "
        f"the front inspects the content (a web application firewall rule) and matches what is {where}.",
        Fix(f"Ask the front's owner to exempt the trigger endpoint ({refusal.path}) from this rule for this client, "
            f"or change what the script sends {where} so the rule does not match (e.g. encode it, base64 in conf, "
            "and decode it in the DAG)."),
        "The UI's requests do not carry this content; this request's body does, and only it is refused.")


def _method_words(ctx: CheckContext, refusal: Refusal, verdict: Verdict) -> Words:
    method = refusal.exchange.method
    return Words(
        f"it refuses {method} on this path while a GET of it passes",
        f"A read of the same path got past the front, the {method} did not: the front keys on the method (writes "
        "refused: a read-only rule, or a rule that wants a CSRF header or token on writes).",
        Fix(f"Ask the front's owner to allow {method} to {refusal.path} for this client, or call Airflow at an "
            "address that does not go through this front."),
        "Not observed: the UI's reads pass this front as the GET did; a UI that triggers sends its write another way "
        "(its own route or session) or from a network the rule allows.")


def _path_words(ctx: CheckContext, refusal: Refusal, verdict: Verdict) -> Words:
    passed = _ui_path(verdict)
    api_passed = any(c.passed and "/api/" in c.what for c in verdict.controls)
    scope = "the API's paths (/api/…)" if "/api/" in refusal.path and not api_passed else f"the path {refusal.path}"
    also = (" Airflow 3's UI calls /api/v2 from its pages too: where it works, the browser carries what the front "
            "wants there (a login or cookie of its own)." if ctx.facts.major == 3 and "/api/" in scope else "")
    return Words(
        f"it guards {scope} while {passed} passes",
        f"{passed} through the same address reached Airflow, and {scope} did not: the front keys on the path.",
        Fix(f"Ask the front's owner to let {scope} through for this client (the credentials it wants, or an "
            "allowed network), or call Airflow at an address that does not go through this front."),
        f"The UI's pages ({passed}) pass this front; the script calls {scope}, which it guards.{also}")


def _credentials_words(ctx: CheckContext, refusal: Refusal, verdict: Verdict) -> Words:
    return Words(
        "it refuses the request carrying Airflow's credentials and passes the same request without them",
        "The same GET without the Authorization header got past the front (Airflow answered it): the front reads "
        "that header itself, and refuses what Airflow's credentials look like to it (a token it cannot validate, "
        "being another issuer's, or Basic auth it does not allow).",
        Fix("Ask the front's owner to pass Authorization on to Airflow for this path without judging it (or to accept "
            "Airflow's tokens), or call Airflow at an address that does not go through this front."),
        "The UI sends its credentials in a cookie (Airflow 3: the _token cookie; Airflow 2: its session), not in the "
        "Authorization header this front judges.")


def _agent_words(ctx: CheckContext, refusal: Refusal, verdict: Verdict) -> Words:
    return Words(
        "it refuses this client's software (its User-Agent): a browser's User-Agent passed",
        "The same address answered a request with a web browser's User-Agent and refused this client's: the front "
        "keys on the software that asks (a bot or automation rule).",
        Fix("Ask the front's owner to allow the script's client (its User-Agent, or better its address or a key of "
            "its own); sending another User-Agent only hides the script from a rule meant for it."),
        "The browser's User-Agent is one the front lets through; the script's (python-requests, curl, airflow-doctor) "
        "is not.")


def _client_words(ctx: CheckContext, refusal: Refusal, verdict: Verdict) -> Words:
    return Words(
        "it refuses every request of this client, whatever its path, method or body",
        "Every control (another path, another method, no credentials, a browser's User-Agent) was refused as well: "
        "the front keys on the client itself (its address or network, a certificate, or a login of its own).",
        Fix("Run the script from a network the front allows (or ask its owner to allow this machine), or call "
            "Airflow at an address that does not go through this front."),
        "The browser runs on a network, or with a login, that the front lets through; this machine does not.")


def _rate_words(ctx: CheckContext, refusal: Refusal, verdict: Verdict) -> Words:
    wait = refusal.response.headers.get("Retry-After")
    return Words(
        f"it asks to retry later (Retry-After: {wait})",
        f"The front answered with a Retry-After ({wait}): it limits or holds back this client for now. airflow-doctor "
        "sends no control into it.",
        Fix(f"Wait for Retry-After ({wait}) before the next request, and make the script send fewer requests (one "
            "token reused; retries that honour Retry-After)."),
        "Not observed. The front counts the browser's requests apart from the script's.")


def _refused_words(ctx: CheckContext, refusal: Refusal, verdict: Verdict) -> Words:
    return Words(
        "what it keys on could not be found by a control",
        "Most likely a rule of the front on this request; a control that changes only the path, the method or the "
        "body would confirm which (none could be sent safely here).",
        Fix("Ask the front's owner which rule refused this request (the answer's words are above), or call Airflow "
            "at an address that does not go through this front."),
        "Not observed: the UI's requests differ from this one in what the front keys on.")
