"""cors: may a web page on the profile's `origin` trigger this DAG from a browser?

The Airflow UI calls the API from its own origin, so the browser applies no CORS rule to it. A page on another
origin (a portal, an internal tool) sends the same request with `fetch`, and the browser first asks the server a
preflight (OPTIONS with Origin, Access-Control-Request-Method: POST and Access-Control-Request-Headers naming the
non-safelisted headers the script sets: authorization, content-type), then checks the real answer's
Access-Control-Allow-Origin. The check sends both, the preflight to the trigger endpoint and the real request's
Origin on a safe read, and judges the answers as the browser does (the Fetch standard's CORS check):

- Airflow 2 (Flask): every /api/v1 answer, preflight included, gets `[api] access_control_allow_headers` and
  `access_control_allow_methods` verbatim and Access-Control-Allow-Origin when the Origin is one of the
  space-separated `access_control_allow_origins` (or the setting is `*`). It never sends
  Access-Control-Allow-Credentials, and POST is a method browsers allow without Access-Control-Allow-Methods.
- Airflow 3 (FastAPI, Starlette's CORSMiddleware with allow_credentials): the settings are comma-separated lists;
  with none set there is no middleware and a preflight is answered 405; with some set a refused preflight is
  answered 400 "Disallowed CORS origin, method, headers", naming what is missing (the method must be listed
  too). Content-Type is always allowed. From 3.3 a `*` origin stops the api-server from starting.

A credentialed request (cookies, `credentials: 'include'`, axios `withCredentials`) cannot be answered with `*`:
the browser refuses that answer, and the check says so whenever the server answers `*`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from airflow_doctor.checks.base import CheckContext, Fact, Uses
from airflow_doctor.checks.readers.credentials import Scheme
from airflow_doctor.model import Finding, FindingCode, Fix, Status
from airflow_doctor.probe import ProbeResponse

SETTINGS_DOCS = "https://airflow.apache.org/docs/apache-airflow/stable/configurations-ref.html#access-control-allow-origins"
SAFELISTED_METHODS = ("GET", "HEAD", "POST")
"""Methods a browser allows without Access-Control-Allow-Methods (the Fetch standard's CORS-safelisted methods)."""


class Code(FindingCode):
    """What the preflight and the real request's Access-Control-* headers say about a page on the profile's origin."""

    SKIPPED_NO_ORIGIN = "cors-skipped-no-origin", "no browser page to judge (the profile has no origin)"
    ALLOWED = "cors-allowed", "the preflight and the real answer allow the page's origin, method and headers"
    WILDCARD_WITH_CREDENTIALS = "cors-wildcard-with-credentials", ("'*' answers a page that sets Authorization itself; "
                                                                   "a credentialed page is refused")
    NO_CORS = "cors-not-configured", "no [api] access_control_* setting: the preflight gets no CORS answer"
    ORIGIN_NOT_ALLOWED = "cors-origin-not-allowed", "the origin is not in [api] access_control_allow_origins"
    HEADERS_NOT_ALLOWED = "cors-headers-not-allowed", "a header the script sets is not in access_control_allow_headers"
    METHOD_NOT_ALLOWED = "cors-method-not-allowed", "POST is not in access_control_allow_methods (Airflow 3 refuses)"
    PREFLIGHT_REFUSED = "cors-preflight-refused", "the preflight was answered with an error no CORS setting explains"


@dataclass(frozen=True)
class Allowed:
    """The Access-Control-* headers of one answer, as the browser reads them."""

    status: int
    origin: str | None
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    credentials: bool
    said: str

    @classmethod
    def of(cls, response: ProbeResponse) -> "Allowed":
        get = response.headers.get
        return cls(response.status, get("Access-Control-Allow-Origin"), _tokens(get("Access-Control-Allow-Methods")),
                   _tokens(get("Access-Control-Allow-Headers"), lower=True),
                   (get("Access-Control-Allow-Credentials") or "").strip() == "true", response.text.strip()[:120])

    def shown(self) -> str:
        parts = [f"Access-Control-Allow-Origin: {self.origin or '(none)'}"]
        parts += [f"Access-Control-Allow-Methods: {', '.join(self.methods)}"] if self.methods else []
        parts += [f"Access-Control-Allow-Headers: {', '.join(self.headers)}"] if self.headers else []
        parts += ["Access-Control-Allow-Credentials: true"] if self.credentials else []
        said = f" ('{self.said}')" if self.said and not 200 <= self.status < 300 and len(self.said) < 80 else ""
        return f"{self.status}{said}; " + "; ".join(parts)

    def origin_ok(self, origin: str, credentialed: bool) -> bool:
        return self.origin == origin or (self.origin == "*" and not credentialed)

    def missing_headers(self, wanted: tuple[str, ...], credentialed: bool = False) -> tuple[str, ...]:
        """Headers the browser would refuse: '*' stands for any header but authorization, and none when credentialed."""
        wildcard = "*" in self.headers and not credentialed
        return tuple(h for h in wanted if h not in self.headers and not (wildcard and h != "authorization"))


def _tokens(value: str | None, lower: bool = False) -> tuple[str, ...]:
    items = (item.strip() for item in (value or "").split(","))
    return tuple(dict.fromkeys(item.lower() if lower else item.upper() for item in items if item))


@dataclass(frozen=True)
class Page:
    """What the browser sends for the script's trigger from `origin`."""

    origin: str
    headers: tuple[str, ...]
    major: int

    def fix(self, origins: bool = True, headers: bool = True, methods: bool = True) -> Fix:
        """The [api] settings that let this page trigger, in this Airflow version's list syntax."""
        lines = []
        if origins:
            lines.append(f"AIRFLOW__API__ACCESS_CONTROL_ALLOW_ORIGINS={self.origin}")
        if headers:
            lines.append(f"AIRFLOW__API__ACCESS_CONTROL_ALLOW_HEADERS={','.join(self.headers)}")
        if methods and self.major >= 3:
            lines.append("AIRFLOW__API__ACCESS_CONTROL_ALLOW_METHODS=GET,POST")
        separator = ("comma-separated (Airflow 3 splits the setting on commas)" if self.major >= 3 else
                     "space-separated (Airflow 2 splits the setting on spaces and compares each entry with the "
                     "Origin header as a string)")
        text = (f"Set these in the [api] section of airflow.cfg (or as the environment variables below) on every "
                f"{'api-server' if self.major >= 3 else 'webserver'} and restart it. Where the setting already lists "
                f"origins, add {self.origin} to them: the list is {separator}. Never '*' with credentials"
                + (": Airflow 3.3 and later refuse to start with it." if self.major >= 3 else "."))
        return Fix(text, tuple(lines), SETTINGS_DOCS)


class Check:
    id = "cors"
    title = "A browser page on the profile's origin may trigger"
    requires = ("auth-backend",)
    uses = (Uses(Fact.API), Uses(Fact.CREDENTIALS))
    provides = ()
    needs = "the profile's origin; the API from reachability; working credentials from auth-backend"

    def run(self, ctx: CheckContext) -> Finding:
        origin = ctx.profile.origin
        if not origin:
            return Finding(Status.SKIP, "skipped: the profile has no origin (add origin: https://your-page.example "
                                        "or --origin to check a web page that triggers from a browser)",
                           code=Code.SKIPPED_NO_ORIGIN)
        facts = ctx.facts
        assert facts.credentials is not None
        sent = ("content-type",) if facts.credentials.scheme is Scheme.NONE else ("authorization", "content-type")
        page = Page(origin, sent, facts.major or 2)
        dag_id = quote(ctx.profile.dag_id or "~", safe="~")
        preflight = Allowed.of(ctx.probe.request("OPTIONS", facts.api_path(f"/dags/{dag_id}/dagRuns"), headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ",".join(sent)}))
        refused = judge_preflight(page, preflight)
        if refused is not None:
            return refused
        read = Allowed.of(ctx.probe.get(facts.api_path("/dags"), params={"limit": 1}, headers={"Origin": origin},
                                        auth=facts.credentials.auth()))
        if not read.origin_ok(origin, credentialed=False):
            return origin_not_allowed(page, read, "the real request")
        return allowed(page, preflight, read)


def judge_preflight(page: Page, answer: Allowed) -> Finding | None:
    """The browser's verdict on the preflight, as a finding; None when the browser goes on to send the request."""
    if page.major >= 3 and answer.status == 405 and answer.origin is None:
        return not_configured(page, answer)
    if page.major >= 3 and answer.status == 400 and answer.said.startswith("Disallowed CORS"):
        return starlette_refusal(page, answer)
    if not 200 <= answer.status < 300:
        return Finding(
            Status.FAIL, f"the browser's preflight (OPTIONS) was answered {answer.status}: the page's trigger is never sent",
            explanation=f"A browser sends the trigger only after a 2xx answer to its preflight; this one was "
                        f"{answer.shown()}. Airflow's own answers to a preflight are 200 (2.x) and 405 or 400 "
                        "'Disallowed CORS ...' (3.x), so this one most likely comes from a proxy or gateway in front "
                        "of it that answers OPTIONS itself; the evidence (-vv) shows who answered.",
            fix=Fix("Let OPTIONS requests to /api/ through to Airflow in the proxy or gateway in front of it, then "
                    "check again."),
            why_ui_works=WHY_UI_WORKS, code=Code.PREFLIGHT_REFUSED)
    if answer.origin is None and not answer.headers and not answer.methods:
        return not_configured(page, answer)
    missing = answer.missing_headers(page.headers)
    if not answer.origin_ok(page.origin, credentialed=False):
        return origin_not_allowed(page, answer, "the preflight", headers=bool(missing))
    if missing:
        return headers_not_allowed(page, answer, missing)
    return None


def not_configured(page: Page, answer: Allowed) -> Finding:
    how = ("Airflow 3 adds its CORS middleware only when one of the three settings is set, so without them the "
           "API answers OPTIONS with 405 Method Not Allowed" if page.major >= 3 else
           "Airflow 2 answers OPTIONS itself (200) but adds no Access-Control-* header while the three settings "
           "are empty, their default")
    return Finding(
        Status.FAIL, f"a page on {page.origin} cannot trigger: the server allows no other origin (no [api] "
                     "access_control_allow_origins)",
        explanation=f"The browser's preflight was answered {answer.shown()}. {how}. The browser then blocks the "
                    f"request ('blocked by CORS policy' in the page's console) and the trigger is never sent.",
        fix=page.fix(), why_ui_works=WHY_UI_WORKS, code=Code.NO_CORS)


def starlette_refusal(page: Page, answer: Allowed) -> Finding:
    """Airflow 3's middleware names what it refused: origin, method, headers (in that order)."""
    failed = answer.said.removeprefix("Disallowed CORS ").replace(" ", "").split(",")
    if "origin" in failed:
        return origin_not_allowed(page, answer, "the preflight", headers="headers" in failed, method="method" in failed)
    if "method" in failed:
        return Finding(
            Status.FAIL, f"a page on {page.origin} cannot trigger: POST is not in [api] access_control_allow_methods",
            explanation=f"Airflow 3 refused the browser's preflight: {answer.shown()}. Its CORS "
                        "middleware checks the method itself, so POST must be listed (case matters: POST, not "
                        "post), although browsers need no method entry for a POST.",
            fix=page.fix(origins=False, headers="headers" in failed), why_ui_works=WHY_UI_WORKS,
            code=Code.METHOD_NOT_ALLOWED)
    return headers_not_allowed(page, answer, answer.missing_headers(page.headers) or page.headers)


def origin_not_allowed(page: Page, answer: Allowed, which: str, headers: bool = False, method: bool = False) -> Finding:
    """The origin is refused; `headers` and `method` say whether the same answer refused those too (fixed together)."""
    allows = (f"it allows {answer.origin} only" if answer.origin and answer.origin != "*" else
              "no Access-Control-Allow-Origin came back for it")
    more = [name for name, refused in (("method POST", method), ("headers", headers)) if refused]
    return Finding(
        Status.FAIL, f"a page on {page.origin} cannot trigger: {page.origin} is not in [api] access_control_allow_origins",
        explanation=f"The browser sent Origin: {page.origin}; {which} was answered {answer.shown()}: {allows}. "
                    "The browser blocks the answer ('blocked by CORS policy'), so the page never sees it. Airflow "
                    "compares the Origin with each entry as a string: the scheme, the host and a non-default port "
                    "must be the same, with no path or trailing slash."
                    + (f" The {' and the '.join(more)} would be refused too." if more else ""),
        fix=page.fix(headers=headers, methods=method), why_ui_works=WHY_UI_WORKS, code=Code.ORIGIN_NOT_ALLOWED)


def headers_not_allowed(page: Page, answer: Allowed, missing: tuple[str, ...]) -> Finding:
    wildcard = (" A '*' in the setting does not cover Authorization: browsers require it by name."
                if "*" in answer.headers and "authorization" in missing else "")
    return Finding(
        Status.FAIL, f"a page on {page.origin} cannot trigger: {', '.join(missing)} not in [api] "
                     "access_control_allow_headers",
        explanation=f"The trigger carries {', '.join(page.headers)}, which the browser must clear with the server "
                    f"first; the preflight was answered {answer.shown()}." + wildcard,
        fix=page.fix(origins=False, methods=False), why_ui_works=WHY_UI_WORKS, code=Code.HEADERS_NOT_ALLOWED)


def allowed(page: Page, preflight: Allowed, read: Allowed) -> Finding:
    details = (f"preflight OPTIONS (Origin {page.origin}, POST, {', '.join(page.headers)}): {preflight.shown()}",
               f"real request's Origin on GET /dags: {read.shown()}")
    if "*" in (preflight.origin, read.origin):
        return Finding(
            Status.WARN, f"a page on {page.origin} that sets Authorization itself may trigger; a page that sends "
                         "credentials is refused ('*')",
            explanation="The server answered Access-Control-Allow-Origin: *. That serves a page whose script sets "
                        "the Authorization header itself with fetch's default credentials mode. A credentialed "
                        "request (cookies, fetch credentials: 'include', axios withCredentials) cannot use '*': "
                        "the browser refuses an answer with '*' to it, so such a page fails while this check's "
                        "requests pass. List the origin instead."
                        + (" Airflow 3.1's middleware answers '*' only to a request without a cookie (one with a "
                           "cookie gets its own origin back), so a page that sends Authorization with credentials: "
                           "'include' and no Airflow cookie is refused." if page.major >= 3 else ""),
            fix=page.fix(headers=False, methods=False), details=details, why_ui_works=WHY_UI_WORKS,
            code=Code.WILDCARD_WITH_CREDENTIALS)
    no_credentials = () if read.credentials else (
        "the server sends no Access-Control-Allow-Credentials (Airflow 2 never does): the page must set "
        "Authorization itself; one relying on cookies or credentials: 'include' is refused by the browser",)
    return Finding(Status.PASS, f"a page on {page.origin} may trigger: the server allows its origin and the "
                                f"{', '.join(page.headers)} headers", details=details + no_credentials,
                   code=Code.ALLOWED)


WHY_UI_WORKS = ("The Airflow UI calls the API from the server's own origin, where the browser applies no CORS rule; "
                "scripts and curl apply none at all. Only a page on another origin is held to the server's "
                "Access-Control-Allow-* answers.")
