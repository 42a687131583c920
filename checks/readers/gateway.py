"""Answers that are not Airflow's: a gateway's error page (502/503/504), a rate limit (429), a login wall; and
Airflow 3's own answer to the Airflow 2 API.

Who answered is read from the answer itself (_front.answered_by: the body's shape decides, the headers and page
name the component). Whether Airflow is up behind the same address is read from one more request through it:
GET /health, which Airflow 2 answers with its health document and Airflow 3 with its own 'moved' answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Callable

from airflow_doctor.checks.readers.front import Answerer, answered_by, own_words, rate_limit, retired_api_words
from airflow_doctor.checks.base import CheckContext, error_detail
from airflow_doctor import failures
from airflow_doctor.failures import STOPPED, answer_of
from airflow_doctor.probe import Layer, ProbeResponse, TransportError
from airflow_doctor.model import CheckResult, Finding, FindingCode, Fix, Status

SERVER_PROCESS = "the Airflow web server (Airflow 2: 'airflow webserver'; Airflow 3: 'airflow api-server')"


class Code(FindingCode):
    """Who answered instead of Airflow. A 429's code is failures.Code.RATE_LIMITED, shared with the requests an
    earlier 429 held back."""

    BAD_GATEWAY = "gateway-502", "a gateway in front of Airflow answered 502: no valid answer from its upstream"
    SERVICE_UNAVAILABLE = "gateway-503", "a gateway in front of Airflow answered 503: no healthy upstream"
    GATEWAY_TIMEOUT = "gateway-504", "a gateway in front of Airflow answered 504: its upstream did not answer in time"
    AIRFLOW2_API_ON_AIRFLOW3 = "airflow2-api-on-airflow3", "Airflow 3 answered /api/v1 with its own 'removed' words"
    V2_NOT_ROUTED = "airflow3-v2-not-routed", "Airflow 3 answers /api/v1, but the front does not route /api/v2 to it"


@dataclass(frozen=True)
class UpstreamFailure:
    """What a gateway's status says about the server behind it, and what to do about it."""

    code: Code
    reason: str
    cause: str
    fix: str


UPSTREAM = {
    502: UpstreamFailure(Code.BAD_GATEWAY, "Bad Gateway",
                         "it got no valid answer from the server behind it: that server is down, refuses the "
                         "connection (not running, or listening on another port than the gateway's upstream), or "
                         "crashed while answering",
                         f"Start {SERVER_PROCESS} (or find in its log why it stopped), and check that the gateway's "
                         "upstream address and port are the ones it listens on."),
    503: UpstreamFailure(Code.SERVICE_UNAVAILABLE, "Service Unavailable",
                         "it has no healthy server to send the request to: every upstream fails the gateway's health "
                         "check or is switched off, or the gateway itself is in maintenance",
                         f"Bring {SERVER_PROCESS} back, and check the gateway's health check for it (Airflow 3: "
                         "/api/v2/monitor/health, Airflow 2: /health; both answer 200 without credentials); if the "
                         "page announces maintenance, wait for it to end."),
    504: UpstreamFailure(Code.GATEWAY_TIMEOUT, "Gateway Timeout",
                         "the server behind it accepted the request but did not answer within the gateway's timeout: "
                         "it is hung or overloaded, or the gateway's timeout is shorter than the request takes",
                         f"Look at the load and the log of {SERVER_PROCESS} (a hung or overloaded worker), or raise "
                         "the gateway's upstream timeout if the server is merely slow."),
}
UPSTREAM_CODES = frozenset(failure.code for failure in UPSTREAM.values())


@dataclass(frozen=True)
class Behind:
    """Airflow's answer through the same address on a route other than the one that failed, if one came."""

    response: ProbeResponse | None
    airflow_up: bool
    asked: bool = True

    def words(self) -> str:
        if not self.asked:
            return "Whether Airflow answers other paths through the same address was not asked by this check"
        if self.response is None:
            return ("GET /health through the same address could not be read, so whether Airflow answers other paths "
                    "through it is not known")
        who = "Airflow answered" if self.airflow_up else f"{answered_by(self.response).label()} answered"
        return f"GET /health through the same address: {who} {self.response.status} ({error_detail(self.response, 80)})"


def airflow_behind(ctx: CheckContext) -> Behind:
    try:
        response = ctx.probe.get("/health")
    except TransportError:
        return Behind(None, False)
    return Behind(response, answered_by(response).airflow and response.status < 500)


def not_airflow(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """The finding for an answer a component in front of Airflow gave instead of it, or None when it is Airflow's."""
    if response.status == 429:
        return rate_limited(response)
    failure = UPSTREAM.get(response.status)
    who = answered_by(response)
    if failure is None or who.airflow:
        return None
    return gateway_error(response, who, failure, airflow_behind(ctx))


def gateway_error(response: ProbeResponse, who: Answerer, failure: UpstreamFailure, behind: Behind) -> Finding:
    status = response.status
    request = f"{response.exchange.method} {response.url}"
    if behind.airflow_up:
        verdict = "Airflow itself is up (it answers other paths through the same address)"
        fix = Fix(f"Airflow is up: it answered GET /health through this gateway. The gateway's route for /api/ sends "
                  f"requests to an upstream that fails ({status}): point it at the same Airflow server as the routes "
                  f"that work. {failure.fix}")
        why_ui = (f"The gateway sends some routes to an Airflow that answers ({behind.words()}) and the API's "
                  "requests to an upstream that does not, so pages served by the working route open; a script "
                  "calls /api/… and gets the gateway's page.")
    elif behind.response is None:
        verdict = "the Airflow behind it did not answer this request"
        fix = Fix(failure.fix)
        why_ui = ("Not observed. If the UI opens, the gateway sends the UI's requests to an upstream "
                  "that answers and this one to an upstream that does not, or the failure comes and goes.")
    else:
        verdict = "nothing behind it answered"
        fix = Fix(failure.fix)
        why_ui = (f"It may not: {behind.words()}, so the UI behind this gateway is down too. If the UI opens for you, "
                  "the browser shows a cached page or reaches Airflow at another address than the profile's url.")
    return Finding(
        Status.FAIL, f"the gateway answered {status} ({failure.reason}), not Airflow: {who.label()} for {request}; "
                     f"{verdict}",
        explanation=f"The {status} comes from {who.label()}, not from Airflow: its answer does not have Airflow's shape "
                    "(Airflow 2 answers problem+json, Airflow 3 JSON with 'detail', both from their own web server). "
                    f"A gateway answers {status} when {failure.cause}."
                    + (f" It says: '{words}'." if (words := own_words(response)) else "")
                    + (f" It asks to retry after {wait:.0f} s (Retry-After)." if (wait := rate_limit(response).wait_seconds)
                       is not None else "")
                    + f" {behind.words()}."
                    + _evidence_words(who),
        fix=fix, why_ui_works=why_ui, code=failure.code)


def rate_limited(response: ProbeResponse) -> Finding:
    """A 429: who limits, for how long, and the doctor's own restraint (no request is repeated into it)."""
    who, terms = answered_by(response), rate_limit(response)
    request = f"{response.exchange.method} {response.url}"
    limiter = ("Airflow's own web server limits this request (Airflow 2 with FAB limits login attempts: [fab] "
               "auth_rate_limited, auth_rate_limit)" if who.airflow else
               f"{who.label()} in front of Airflow limits the requests of this client; Airflow never saw this one")
    wait = terms.wait_seconds
    commands = (f"sleep {math.ceil(wait)}",) if wait is not None else ()
    return Finding(
        Status.FAIL, f"rate limited: {who.label()} answered 429 Too Many Requests for {request}; {terms.wait_words()}",
        explanation=f"{limiter}. The limit it states: {terms.limit or 'none given'}. airflow-doctor repeats no request "
                    "that got a 429 and, when Retry-After is given, sends nothing more to this server until it has "
                    "passed." + _evidence_words(who),
        fix=Fix((f"Wait {math.ceil(wait)} s before the next request; then " if wait is not None else
                 "Wait for the limit's window to pass; then ")
                + "make the script send fewer requests: one session or token reused for every call instead of a "
                  "login per call, and retries that wait for Retry-After instead of repeating at once.", commands),
        why_ui_works="Not observed. A limit counts per client address, credential or route, so the browser's requests "
                     "may be counted apart from the script's; the UI gets the same 429 once it crosses its own limit.",
        code=failures.Code.RATE_LIMITED)


def held_back_finding(error: TransportError) -> Finding | None:
    """A request not sent because of an earlier 429 is that rate limit's finding: who limits and for how long."""
    if error.layer is not Layer.HELD_BACK or error.answer is None:
        return None
    limited = rate_limited(error.answer)
    return replace(limited, explanation=f"{limited.explanation} So this check's next request, {error.exchange.method} "
                                        f"{error.exchange.url}, was not sent, and the check could not reach its verdict.")


def transport_finding(error: TransportError, consequence: str = STOPPED, first_contact_url: str | None = None) -> Finding:
    """failures.transport_finding, except that a request held back by an earlier 429 is that rate limit's finding."""
    return held_back_finding(error) or failures.transport_finding(error, consequence, first_contact_url)


def described(error: BaseException) -> Finding | None:
    """The runner's `describe` hook: failures.finding_for, with a held-back request read as its rate limit."""
    if isinstance(error, TransportError):
        return transport_finding(error)
    return failures.finding_for(error)


def login_wall_words(response: ProbeResponse) -> str:
    """' by <component>' for a login wall's headline, from the answer's own headers or page."""
    who = answered_by(response)
    return "" if who.airflow or not who.name else f" by {who.label()}"


def airflow2_api_on_airflow3(response: ProbeResponse, words: str) -> Finding:
    """Airflow 3 answered a request to /api/v1 with its own 'removed' message: the script speaks Airflow 2's API."""
    base, _, rest = response.url.partition("/api/v1")
    named = re.match(r"/dags/([^/?]+)", rest)
    return Finding(
        Status.FAIL, f"this is Airflow 3 and the request uses the Airflow 2 API: {response.exchange.method} "
                     f"{response.url} answered {response.status} '{words}'",
        explanation="Airflow 3 removed /api/v1 and answers every path under it with this message, from its own "
                    "api-server: the server is up and is Airflow 3. Neither the DAG nor a proxy is the cause. Moving "
                    "to /api/v2 also changes authentication (a JWT from POST /auth/token, sent as 'Authorization: "
                    "Bearer'; Basic auth is not accepted) and the trigger body (logical_date is required, null for "
                    "'now').",
        fix=Fix("Use Airflow 3's API: get a token with the same user, then trigger through /api/v2 with it (set "
                "AIRFLOW_USER and AIRFLOW_PASSWORD first):", v2_trigger_commands(base, named.group(1) if named else None)),
        why_ui_works="The UI is Airflow 3's own and calls /api/v2 (and /ui) with the token its login gives it; only "
                     "the script still calls the Airflow 2 paths.",
        code=Code.AIRFLOW2_API_ON_AIRFLOW3)


def v2_trigger_commands(base: str, dag_id: str | None) -> tuple[str, ...]:
    token = (f"TOKEN=$(curl -s -X POST {base}/auth/token -H 'Content-Type: application/json' "
             "-d \"{\\\"username\\\": \\\"$AIRFLOW_USER\\\", \\\"password\\\": \\\"$AIRFLOW_PASSWORD\\\"}\" "
             "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')")
    trigger = (f"curl -s -X POST {base}/api/v2/dags/{dag_id or '<dag_id>'}/dagRuns -H \"Authorization: Bearer $TOKEN\" "
               "-H 'Content-Type: application/json' -d '{\"logical_date\": null, \"conf\": {}}'")
    return token, trigger


def retired_api(response: ProbeResponse) -> Finding | None:
    words = retired_api_words(response)
    return airflow2_api_on_airflow3(response, words) if words else None


def _evidence_words(who: Answerer) -> str:
    return f" Evidence in the answer: {'; '.join(who.evidence[:6])}." if who.evidence else ""




class V2NotRouted(Exception):
    """Airflow 3 answered /api/v1 in its own words, while /api/v2 got another answer: what stands in front routes
    only the Airflow 2 paths to it."""

    def __init__(self, v2: ProbeResponse, v1: ProbeResponse) -> None:
        super().__init__("Airflow 3 behind a front that does not route /api/v2")
        self.v2, self.v1 = v2, v1

    def as_finding(self) -> Finding:
        who = answered_by(self.v2)
        words = retired_api_words(self.v1)
        return Finding(
            Status.FAIL, f"Airflow 3 is behind this address, but /api/v2 does not reach it: GET {self.v2.url} answered "
                         f"{self.v2.status} ({error_detail(self.v2, 80)}) from {who.label()}, while GET {self.v1.url} "
                         f"got Airflow 3's own answer '{words}'",
            explanation="Only Airflow 3's api-server answers /api/v1 with these words, so Airflow 3 runs behind this "
                        "address; its API is /api/v2 (and tokens come from /auth/token), and that path is sent "
                        "elsewhere: a proxy or ingress written for Airflow 2 routes only /api/v1 to it."
                        + _evidence_words(who),
            fix=Fix("Route /api/v2, /auth and /ui to the Airflow 3 api-server, like /api/v1 (in practice: the whole "
                    "path prefix Airflow is served under), then call /api/v2 with a token from /auth/token."),
            why_ui_works="If the UI opens, the front routes the UI's own paths to the api-server; a script calls "
                         "/api/v2 (or the Airflow 2 paths), which it does not route.",
            code=Code.V2_NOT_ROUTED)


def stopped_at_gateway(answer: ProbeResponse) -> Finding | None:
    """A check that stopped at a gateway's 502/503/504 in the middle of a run: the gateway's finding, without the
    comparison the reachability check makes (this check did not ask /health)."""
    failure = UPSTREAM.get(answer.status)
    who = answered_by(answer)
    if failure is None or who.airflow:
        return None
    return gateway_error(answer, who, failure, Behind(None, False, asked=False))


MWAA_SERVICE_CODES = frozenset({
    "mwaa-status", "mwaa-old", "mwaa-not-found", "mwaa-denied", "mwaa-service", "mwaa-credentials", "mwaa-private",
    "mwaa-web-login", "mwaa-role", "mwaa-timeout", "mwaa-path-length"})
"""The codes of platforms/mwaa/findings.py (by value: readers do not import the platforms): findings about AWS's
side of an MWAA environment, which already name what answered."""

ALREADY_WHAT_ANSWERED = frozenset({failures.Code.RATE_LIMITED, *UPSTREAM_CODES, *MWAA_SERVICE_CODES})
"""Results that already name the rate limit, gateway or AWS service that answered: unvouched leaves them as they are."""


def unvouched(result: CheckResult) -> CheckResult:
    """A verdict reached without the answer the check asked for is reported as what answered instead: a check that
    passed although a request got 429, or stopped at a 429, is the rate limit's finding; a check that failed at a
    gateway's own 502/503/504 is the gateway's."""
    if not result.evidence or result.code in ALREADY_WHAT_ANSWERED:
        return result
    last = result.evidence[-1]
    limited = next((e for e in result.evidence if e.status == 429), None)
    if limited is not None and (result.status is Status.PASS or last.status == 429 and result.status is not Status.SKIP):
        finding = rate_limited(answer_of(limited))
        finding = replace(finding, explanation=f"{finding.explanation} This check reached its verdict without the "
                                               "answer to that request, so it is not reported as passed.")
    elif result.status is Status.FAIL and last.status in (502, 503, 504):
        finding = stopped_at_gateway(answer_of(last))
        if finding is None:
            return result
    else:
        return result
    return CheckResult.from_finding(result.check_id, result.title, finding, result.evidence, result.duration_ms)


# --- the review hook: a verdict beside a front's refusal ------------------------------------------------

NAMES_WHAT_ANSWERED = frozenset({
    *ALREADY_WHAT_ANSWERED, "html-not-airflow",
    "login-page", "api-redirected-to-login", "not-airflow", "airflow3-v2-not-routed", "astronomer-token-refused",
    "token-endpoint-missing", "basic-header-dropped", "token-header-dropped", "sso-only-login",
    "api-backend-not-password", "airflow2-api-on-airflow3"})
"""Failures (by code value: readers import no check) whose finding already reads a front's answer as the front's:
front_controls.fronted restates them only when that front demands credentials of its own. Not among them: the
generic 'a front refused' findings (refused-in-front-of-airflow, front-demands-credentials), which the controls
replace with what the front keys on."""

PLATFORM_PREFIXES = ("composer-", "mwaa-", "astronomer-", "aws-")
"""The platforms' findings read their cloud's front (Google's, AWS's, Astronomer's) themselves."""


def names_what_answered(code: str) -> bool:
    return code in NAMES_WHAT_ANSWERED or code.startswith(PLATFORM_PREFIXES)


def reviewer(ctx: CheckContext) -> Callable[[CheckResult], CheckResult]:
    """The runner's `review` hook for one run: a check stopped by the environment's proxy is the proxy's finding
    (proxy.review); else unvouched (rate limits, gateways' 5xx), then any other answer that Airflow did not write,
    restated by front_controls.fronted with the controls that say what the front keys on."""
    from airflow_doctor.checks.readers import proxy
    from airflow_doctor.checks.readers.front_controls import fronted

    def review(result: CheckResult) -> CheckResult:
        if (by_proxy := proxy.review(ctx, result)) is not None:
            return by_proxy
        reviewed = unvouched(result)
        return reviewed if reviewed is not result else fronted(ctx, result, names_what_answered)

    return review
