"""reachability: is there an Airflow API at this URL, which version, and is it healthy?

Asks, without credentials: GET /api/v2/version (Airflow 3), else GET /api/v1/version (Airflow 2),
then the health endpoint of that version. Stock Airflow answers all of these to anyone, so any other
answer says something about the path between this machine and Airflow: DNS, TCP, TLS, a redirect,
a login page or proxy, a wrong sub-path, or a server that is not Airflow at all.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable
from urllib.parse import urlsplit

from airflow_doctor.platforms.mwaa import findings as mwaa
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.checks.readers.host_names import resolvable_neighbour
from airflow_doctor.checks.readers.front import (airflows_own, is_login_page, mount_hints, origin_of, redirects_to_sign_in,
                                                 retired_api_words)
from airflow_doctor.checks.readers.health import health_finding
from airflow_doctor.checks.readers.platforms import PLATFORM_NOTES, platform_of
from airflow_doctor.checks.readers.gateway import V2NotRouted, login_wall_words, not_airflow, retired_api
from airflow_doctor.checks.readers.gateway import transport_finding as gateway_transport_finding
from airflow_doctor.checks.readers.tls import tls_finding
from airflow_doctor.checks.readers.proxy import proxy_answer, proxy_failure
from airflow_doctor.checks.base import (ApiFlavour, CheckContext, Fact, Facts, Platform, Uses, error_detail, html_title,
                                        json_object)
from airflow_doctor.failures import what_happened
from airflow_doctor.probe import Layer, ProbeResponse, TransportError
from airflow_doctor.model import Assumption, Finding, FindingCode, Fix, Status
from airflow_doctor.sources.profile import AuthType

VERSION_PATHS = {ApiFlavour.V2: "/api/v2/version", ApiFlavour.V1: "/api/v1/version"}
HEALTH_PATHS = {ApiFlavour.V2: "/api/v2/monitor/health", ApiFlavour.V1: "/api/v1/health"}
COMPONENTS = ("metadatabase", "scheduler", "dag_processor", "triggerer")
_PASTED_API = re.compile(r"/api/v[12](/.*)?$")



class Code(FindingCode):
    """What answered at the url, when it was not Airflow's version (a transport failure's code is its layer's,
    failures.Code; a gateway's or Airflow 3's own answer has gateway.Code)."""

    REACHABLE = "airflow-reachable", "Airflow's version endpoint answered, and its health endpoint too when it could"
    URL_HAS_API_PATH = "url-has-api-path", "the profile's url already ends with /api/v1 or /api/v2 (corrected)"
    HOST_TYPO = "dns-host-typo", "the host does not resolve, one a typing slip away does"
    REDIRECTED_TO_LOGIN = "api-redirected-to-login", "the version endpoint redirects to an SSO or login page"
    REDIRECTED = "api-redirected", "the version endpoint redirects elsewhere: the API is at another address"
    WRONG_PATH = "url-wrong-path", "Airflow answered, but the url's path does not lead to its API"
    UNDER_SUBPATH = "airflow-under-subpath", "Airflow's version answers under a sub-path the url lacks"
    LOGIN_PAGE = "login-page", "an HTML login page answered instead of Airflow's JSON"
    NOT_AIRFLOW_PAGE = "html-not-airflow", "an HTML page that is not Airflow's answered at the url"
    CREDENTIALS_DEMANDED = "front-demands-credentials", "401/403 to the version endpoint, which Airflow serves to anyone"
    SERVER_ERROR = "web-server-error", "the web server answered the version endpoint with a 5xx of its own"
    NOT_AIRFLOW = "not-airflow", "nothing at the url, its root or a sub-path its pages name answered Airflow's version"

ASSUMABLE = (Code.REDIRECTED, Code.UNDER_SUBPATH, Code.WRONG_PATH)
"""Failures whose fix (a url) the later checks may assume, once Airflow's version answers at that url."""


class Check:
    id = "reachability"
    title = "Airflow API reachable"
    requires: tuple[str, ...] = ()
    uses: tuple[Uses, ...] = ()
    provides = (Fact.API, Fact.HEALTH)
    needs = "the profile's url; no credentials"

    def run(self, ctx: CheckContext) -> Finding:
        facts, probe = ctx.facts, ctx.probe
        warnings: list[Finding] = []
        facts.platform = platform_of(facts.base_url)
        managed = mwaa.environment_finding(ctx)
        if managed is not None:
            return managed
        warnings += mwaa.environment_warnings(ctx)

        pasted = _PASTED_API.search(urlsplit(facts.base_url).path)
        if pasted:
            corrected = facts.base_url[: len(facts.base_url) - len(pasted.group(0))]
            warnings.append(Finding(
                Status.WARN, f"the url already ends with {pasted.group(0)}; using {corrected}",
                explanation=f"The profile's url is the address you open in the browser; airflow-doctor adds the API "
                            f"path itself. {facts.base_url} already contains {pasted.group(0)}, so every request "
                            f"would go to {pasted.group(0)}/api/v…, which does not exist. Many scripts make the same "
                            "mistake when they join a base URL that already holds the API path.",
                fix=Fix(f"Set the profile's url to the web server's address: url: {corrected}", (f"url: {corrected}",)),
                code=Code.URL_HAS_API_PATH))
            facts.base_url = corrected
            probe.rebase(corrected)

        try:
            flavour, version_response = self._find_api(ctx)
        except TransportError as failure:
            return (mwaa.unreachable(ctx, failure) or proxy_failure(ctx, failure) or tls_finding(ctx, failure)
                    or transport_finding(failure, facts))
        except V2NotRouted as airflow3:
            return airflow3.as_finding()
        except CredentialsUnavailable as unavailable:
            return unavailable.finding
        if flavour is None:
            return (mwaa.service_refusal(ctx, version_response)
                    or self._assume_fixed_url(ctx, unexpected_answer(ctx, version_response)))

        notes = self._learn(ctx, flavour, version_response)
        if pasted and flavour is ApiFlavour.V2 and pasted.group(0).startswith("/api/v1"):
            notes.append("the pasted /api/v1 is Airflow 2's API; this server is Airflow 3, which serves only /api/v2")

        health_finding = self._health(ctx, notes)
        summary = f"Airflow {facts.airflow_version}, API at {facts.base_url}{flavour.value}"
        if health_finding is not None and health_finding.status is Status.FAIL:
            return health_finding
        problems = [w for w in (*warnings, health_finding) if w is not None]
        if problems:
            first = problems[0]
            return Finding(Status.WARN, f"{summary}; {'; '.join(p.summary for p in problems)}",
                           explanation="\n\n".join(p.explanation for p in problems if p.explanation),
                           fix=first.fix if len(problems) == 1 else Fix(
                               " ".join(p.fix.text for p in problems if p.fix),
                               tuple(c for p in problems if p.fix for c in p.fix.commands)),
                           details=tuple(notes), code=first.code or Code.REACHABLE)
        return Finding(Status.PASS, f"{summary}; {self._health_line(facts)}", details=tuple(notes),
                       code=Code.REACHABLE)

    def _assume_fixed_url(self, ctx: CheckContext, finding: Finding) -> Finding:
        """A redirect's target, or the sub-path found: when Airflow's version answers at the fixed url, the later checks
        run there (the runner's `assumed`), so the report goes on to what the script hits next."""
        fixed = next((c[len("url: "):] for c in (finding.fix.commands if finding.fix else ()) if c.startswith("url: ")),
                     None)
        if fixed is None or finding.code not in ASSUMABLE or finding.status is not Status.FAIL:
            return finding
        facts, given = ctx.facts, ctx.facts.base_url
        facts.base_url = fixed.rstrip("/")
        ctx.probe.rebase(facts.base_url)
        try:
            flavour, answer = self._find_api(ctx)
        except (TransportError, V2NotRouted, CredentialsUnavailable):
            flavour = None
        if flavour is None:
            facts.base_url = given
            ctx.probe.rebase(given)
            return finding
        notes = self._learn(ctx, flavour, answer)
        self._health(ctx, notes)
        where = "where the redirect points" if finding.code == Code.REDIRECTED else "the sub-path Airflow is served under"
        return replace(finding, details=(*finding.details, *notes), assumed=Assumption(
            f"the url is {facts.base_url} ({where}; Airflow {facts.airflow_version} answered its version there)"))

    @staticmethod
    def _learn(ctx: CheckContext, flavour: ApiFlavour, version_response: ProbeResponse) -> list[str]:
        """Keep what the version endpoint said (flavour, version, Server) and say it in notes."""
        facts = ctx.facts
        body = json_object(version_response) or {}
        facts.api = flavour
        facts.airflow_version = str(body.get("version"))
        facts.server = version_response.headers.get("Server")
        notes = [f"version endpoint: {VERSION_PATHS[flavour]} answered {facts.airflow_version}"
                 + (" only to the profile's credentials (a front demands them on every path)"
                    if sent_credentials(version_response) else ""),
                 *(mwaa.environment_notes(ctx) or [f"auth model: {auth_model(flavour)}"])]
        if facts.platform is not Platform.SELF_HOSTED and facts.mwaa is None:
            notes.append(f"platform: {facts.platform.value} ({PLATFORM_NOTES[facts.platform]})")
        return notes

    def _find_api(self, ctx: CheckContext) -> tuple[ApiFlavour | None, ProbeResponse]:
        """Ask both version endpoints without credentials; retry with the profile's auth only if a proxy demands it."""
        probe = ctx.probe
        first: ProbeResponse | None = None
        for flavour in mwaa.api_flavours(ctx) or (ApiFlavour.V2, ApiFlavour.V1):
            response = probe.get(VERSION_PATHS[flavour])
            if _is_version(response, flavour):
                return flavour, response
            if response.status == 429:
                return None, response
            if flavour is ApiFlavour.V1 and first is not None and retired_api_words(response):
                raise V2NotRouted(first, response)
            first = first or response
            if response.is_redirect or (response.status == 200 and response.is_html and not _is_airflow3_ui(response)):
                return None, response
        assert first is not None
        credentials = retry_credentials(ctx) if first.status in (401, 403) else None
        if credentials is not None:
            refused: ProbeResponse | None = None
            for flavour in (ApiFlavour.V2, ApiFlavour.V1):
                response = probe.get(VERSION_PATHS[flavour], auth=credentials.auth())
                if _is_version(response, flavour):
                    ctx.facts.server = response.headers.get("Server")
                    return flavour, response
                if refused is None and response.status in (401, 403):
                    refused = response
            return None, refused or first
        return None, first

    def _health(self, ctx: CheckContext, notes: list[str]) -> Finding | None:
        facts = ctx.facts
        assert facts.api is not None
        try:
            response = ctx.probe.get(HEALTH_PATHS[facts.api])
        except TransportError as failure:
            notes.append(f"health: {HEALTH_PATHS[facts.api]} could not be read ({failure.message})")
            return None
        body = json_object(response)
        if response.status != 200 or body is None:
            notes.append(f"health: {HEALTH_PATHS[facts.api]} answered {response.status} ({error_detail(response, 120)}); "
                         "component health unknown")
            return None
        for component in COMPONENTS:
            entry = body.get(component)
            facts.health[component] = entry.get("status") if isinstance(entry, dict) else None
        notes.append(f"health: {self._health_line(facts)}")
        return health_finding(facts)

    @staticmethod
    def _health_line(facts: Facts) -> str:
        if not facts.health:
            return "component health unknown"
        words = {"healthy": "healthy", "unhealthy": "UNHEALTHY", None: "not running"}
        return ", ".join(f"{c.replace('_', '-')} {words.get(facts.health.get(c), str(facts.health.get(c)))}"
                         for c in COMPONENTS if c in facts.health)


# --- a front that demands credentials even for the version endpoint ---------------------------------

class CredentialsUnavailable(Exception):
    """The retry with credentials needs a token the doctor could not obtain: that failure is the finding."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.summary)
        self.finding = finding


def retry_credentials(ctx: CheckContext) -> Credentials | None:
    """The profile's credentials as its script sends them (the token scheme respected; for google a fresh ADC access
    token). None for aws (the MWAA code signs its own requests) and for profiles without credentials."""
    auth = ctx.profile.auth
    if auth.type is AuthType.BASIC and auth.password is not None:
        return Credentials(Scheme.BASIC, auth.username or "", auth.password, auth.encoding)
    if auth.type is AuthType.TOKEN and auth.token is not None:
        return Credentials(Scheme.KEY if auth.scheme == "none" else Scheme.BEARER, secret=auth.token)
    if auth.type is AuthType.GOOGLE:
        from airflow_doctor.platforms.composer.findings import adc_failure
        from airflow_doctor.platforms.composer.client import AdcError, access_token

        try:
            obtained = access_token(ctx.probe.registry, deadline=ctx.profile.connect_timeout + ctx.profile.read_timeout)
        except AdcError as failure:
            raise CredentialsUnavailable(adc_failure(failure)) from None
        return Credentials(Scheme.GOOGLE, obtained.principal.airflow_user or "", obtained.token)
    return None


def sent_credentials(response: ProbeResponse) -> bool:
    """Whether the request behind this answer carried credentials (as recorded, redacted, in its exchange)."""
    return any(name.lower() in ("authorization", "cookie") for name, _ in response.exchange.request_headers)


def front_credentials_fix(ctx: CheckContext, sent: bool) -> Fix:
    """What to change when a front refuses the version endpoint: depends on what the profile already sent."""
    auth = ctx.profile.auth
    if auth.type is AuthType.AWS:
        return Fix("With auth type aws the doctor reaches Airflow through MWAA's own paths (InvokeRestApi or the web "
                   "login); this front asked for credentials before them: check that the url is the environment's "
                   "web server, or remove url and let the doctor read it from the environment.", ())
    if not sent:
        return Fix("Give the profile the credentials the front end expects: auth type token for a token sent in "
                   "Authorization, basic for a user name and password.", ())
    if auth.type is AuthType.TOKEN and auth.scheme == "none":
        return Fix("The front refused the key sent alone in Authorization (auth scheme none) too. If it expects the "
                   "word Bearer before the token (Astro, most gateways), remove 'scheme: none'; otherwise the key is "
                   "not one this front accepts.", ("auth:\n  type: token\n  token: ${TOKEN}",))
    if auth.type is AuthType.TOKEN:
        return Fix("The front refused the token sent after the word Bearer too. If it expects the key alone in "
                   "Authorization (Astro Private Cloud / Software), set 'scheme: none'; otherwise the token is not "
                   "one this front accepts.", ("auth:\n  type: token\n  token: ${TOKEN}\n  scheme: none",))
    return Fix("The front refused the profile's credentials too: give the profile the credentials this front "
               "accepts (ask who runs it which kind: a token, or its own user and password).", ())


# --- what the answers mean -------------------------------------------------------------------------

def auth_model(flavour: ApiFlavour) -> str:
    if flavour is ApiFlavour.V2:
        return "Airflow 3: a JWT from POST /auth/token, sent as 'Authorization: Bearer'"
    return "Airflow 2: Basic auth or a browser session, as allowed by [api] auth_backends"


def _is_version(response: ProbeResponse, flavour: ApiFlavour) -> bool:
    body = json_object(response)
    if response.status != 200 or body is None or not isinstance(body.get("version"), str):
        return False
    major = body["version"].split(".")[0]
    return major == ("3" if flavour is ApiFlavour.V2 else "2") or (flavour is ApiFlavour.V2 and major.isdigit() and int(major) > 3)


def _is_airflow3_ui(response: ProbeResponse) -> bool:
    """Airflow 3's api-server answers any unknown non-API path with its single-page UI."""
    return response.status == 200 and response.is_html and html_title(response) == "Airflow" and b"static/assets" in response.body


def _is_airflow_error(response: ProbeResponse) -> bool:
    """An answer only Airflow gives: 2.x's 'Airflow 404' page or problem+json, 3.x's {"error": ...} JSON."""
    body = json_object(response)
    return (html_title(response) == "Airflow 404"
            or (body is not None and ("apache-airflow" in str(body.get("type", "")) or "Airflow" in str(body.get("error", "")))))


def transport_finding(failure: TransportError, facts: Facts, look_up_neighbours: bool = True) -> Finding:
    """The version request got no answer: the layer's first-contact words (failures.TRANSPORT_FAILURES), except a
    host name one typing slip from one that resolves. `look_up_neighbours` False keeps it offline (explain)."""
    if look_up_neighbours and failure.layer is Layer.DNS and (typo := host_typo_finding(failure, facts.base_url)):
        return typo
    return gateway_transport_finding(failure, first_contact_url=facts.base_url)


def host_typo_finding(failure: TransportError, url: str) -> Finding | None:
    """A host that does not resolve while a neighbour one slip away does: the profile's url has a typo."""
    host = urlsplit(url).hostname or url
    near = resolvable_neighbour(host)
    if near is None:
        return None
    corrected = url.replace(host, near, 1)
    return Finding(
        Status.FAIL, f"{what_happened(failure)}: did you mean {near}?",
        explanation=f"This machine cannot resolve {host}, but {near}, one typing slip away, resolves. ({failure.message})",
        fix=Fix(f"If {near} is the server, correct the host in the profile's url and in the script:",
                (f"url: {corrected}",)),
        why_ui_works="The browser's address bar holds the right name; the profile's url has a typo.",
        code=Code.HOST_TYPO)


def _where(response: ProbeResponse) -> str:
    return f"GET {response.url}"


def _server_note(response: ProbeResponse) -> str:
    server = response.headers.get("Server")
    return f" (Server: {server})" if server else ""


def _html_page(response: ProbeResponse) -> bool:
    return response.status == 200 and response.is_html


def redirect_to_login(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """A redirect to an SSO host, a login path or an identity provider's sign-in request (front.redirects_to_sign_in)."""
    if not redirects_to_sign_in(response):
        return None
    return Finding(
        Status.FAIL, f"{_where(response)} was redirected ({response.status}) to a login page"
                     f"{login_wall_words(response)}: {response.location or ''}",
        explanation="Something in front of Airflow (an SSO proxy such as IAP or oauth2-proxy, or a corporate "
                    "gateway) sends unauthenticated requests to a login page. Airflow's own API never "
                    "redirects to a login; it answers 401. The browser works because it follows the redirect "
                    "and logs you in interactively; a script cannot.",
        fix=Fix("Call the API with the credentials the proxy expects (often a bearer token for a service "
                "account), or use an address that bypasses the proxy for API clients.", ()),
        why_ui_works="The browser follows the redirect, logs in interactively and keeps the proxy's cookie.",
        code=Code.REDIRECTED_TO_LOGIN)


def redirect(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """Any other redirect: its Location names the address the server sends API clients to."""
    if not response.is_redirect:
        return None
    target = response.location or ""
    new_base = target.split("/api/v")[0] if "/api/v" in target else origin_of(target)
    if target.startswith("/"):
        new_base = origin_of(ctx.facts.base_url) + target.split("/api/v")[0]
    return Finding(
        Status.FAIL, f"{_where(response)} was redirected ({response.status}) to {target}",
        explanation="The server sends API clients elsewhere. Browsers follow redirects silently, but for a trigger "
                    "they are destructive: on 301, 302 and 303 clients turn the POST into a GET and drop its body, "
                    "and on a change of host (or of scheme or port) requests drops the Authorization header. A "
                    "trigger sent here can come back '200' with a list of runs while nothing was triggered, or "
                    "fail with 401. airflow-doctor never follows redirects on API calls.",
        fix=Fix(f"Use the address the server redirects to as the profile's url: {new_base}", (f"url: {new_base}",)),
        why_ui_works="The browser follows redirects silently and then stays on the address it was sent to.",
        code=Code.REDIRECTED)


def airflow3_ui(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """A 200 with Airflow 3's single-page UI (title 'Airflow', static/assets): Airflow, but off its API path."""
    if not _is_airflow3_ui(response):
        return None
    return _wrong_subpath(ctx, response, "Airflow 3's web UI answered instead of its API: the api-server serves its "
                          "single-page UI for every path it does not know, so the url's path "
                          f"({urlsplit(ctx.facts.base_url).path or '/'}) does not lead to the API.")


def login_page(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """A 200 HTML page with a password field, 'sign in' or 'log in' in its first 50 kB (front.is_login_page)."""
    if not _html_page(response) or not is_login_page(response):
        return None
    title = html_title(response)
    return Finding(
        Status.FAIL, f"{_where(response)} answered with an HTML login page{f' ({title})' if title else ''}"
                     f"{login_wall_words(response)}, where JSON was expected",
        explanation="A login page stands in front of the API. Airflow's REST API never answers with a login "
                    "page (it answers 401 JSON), so this comes from an SSO or authentication proxy, or the url "
                    "points at a different application. The browser works because you log in there by hand.",
        fix=Fix("Use the API address that accepts tokens or Basic auth from scripts (ask who runs the proxy), "
                "or correct the url.", ()),
        why_ui_works="You log in on that page by hand and the browser keeps the login cookie.",
        code=Code.LOGIN_PAGE)


def html_page_mounted_elsewhere(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """A 200 HTML page, while the host's root or a sub-path its pages name answers Airflow's version."""
    if not _html_page(response) or (mount := find_mount(ctx)) is None:
        return None
    title = html_title(response)
    return _mounted_elsewhere(response, mount, f"an HTML page{f' titled {title!r}' if title else ''}")


def html_page(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """Any other 200 HTML page (its title and Server header): another application answers at the url."""
    if not _html_page(response):
        return None
    title = html_title(response)
    return Finding(
        Status.FAIL, f"{_where(response)} answered 200 with an HTML page{f' titled {title!r}' if title else ''}"
                     f"{_server_note(response)}, not Airflow's JSON",
        explanation="Something answers at this address, but it is not Airflow's API: the url points at another "
                    "application or at a proxy's own page.",
        fix=Fix("Set the profile's url to the address where the Airflow UI opens in the browser.", ()),
        why_ui_works=_UI_ROUTE, code=Code.NOT_AIRFLOW_PAGE)


def google_front_refusal(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """A 403 not in Airflow's own shape, on Composer or with Google credentials: refused before Airflow."""
    if response.status != 403 or not (ctx.facts.platform is Platform.COMPOSER
                                      or ctx.profile.auth.type is AuthType.GOOGLE):
        return None
    from airflow_doctor.platforms.composer.findings import blocked_before_airflow

    if airflows_own(response):
        return None
    return blocked_before_airflow(response, "The request carried the Google access token of Application "
                                            "Default Credentials and was refused all the same."
                                  if sent_credentials(response) else
                                  "The request carried no credentials: the profile has none to send.")


def gateway_or_retired_api(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """A 429, or a 502/503/504 not in Airflow's shape (gateway.not_airflow); Airflow 3's answer to /api/v1."""
    return not_airflow(ctx, response) or retired_api(response)


def credentials_demanded(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """A 401 or 403 to the version endpoint, which stock Airflow serves to anyone."""
    if response.status not in (401, 403):
        return None
    facts = ctx.facts
    return Finding(
        Status.FAIL, f"{_where(response)} answered {response.status} ({error_detail(response, 120)})"
                     f"{_server_note(response)}: credentials are demanded even for the version endpoint",
        explanation="Stock Airflow serves its version endpoint without credentials, so something in front of it "
                    "(a proxy, API gateway or managed platform) demands authentication for every request. "
                    + (PLATFORM_NOTES[facts.platform] + "." if facts.platform is not Platform.SELF_HOSTED else
                       "The browser passes because it holds that front end's login cookie."),
        fix=front_credentials_fix(ctx, sent_credentials(response)),
        why_ui_works="The browser holds the front end's login cookie (or the platform's session), so it passes.",
        code=Code.CREDENTIALS_DEMANDED)


def server_error(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """A 5xx no gateway claimed: the web server itself is up but cannot serve (502/503/504: overloaded)."""
    if response.status < 500:
        return None
    return Finding(
        Status.FAIL, f"{_where(response)} answered {response.status} ({error_detail(response, 120)}){_server_note(response)}",
        explanation=("Airflow's own web server sent this answer: it is running but cannot serve the request "
                     "(overloaded: a concurrency limit or all workers busy, or a worker that failed)."
                     if response.status in (502, 503, 504) else
                     "The web server answered with an internal error: it is running but broken (often its "
                     "metadata database is unreachable or not migrated)."),
        fix=Fix("Check the web server's (Airflow 3: api-server's) logs and that its database is reachable.",
                ("airflow db check",)),
        why_ui_works="If the UI loads now, the proxy sends it to another backend than the API, or the failure "
                     "comes and goes; the UI's pages are also often cached.",
        code=Code.SERVER_ERROR)


def airflow_off_its_api(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """Airflow 2's 'Airflow 404' page or problem+json, or Airflow 3's {"error": ...}: Airflow, not at its API."""
    if not _is_airflow_error(response):
        return None
    return _wrong_subpath(ctx, response, "Airflow answered, but not at its API: the url's path "
                          f"({urlsplit(ctx.facts.base_url).path or '/'}) is not where Airflow's web server is mounted.")


def answer_mounted_elsewhere(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """Any other answer, while the host's root or a sub-path its pages name answers Airflow's version."""
    if (mount := find_mount(ctx)) is None:
        return None
    return _mounted_elsewhere(response, mount,
                              f"{response.status} ({response.content_type or 'no content type'}){_server_note(response)}")


def not_airflow_at_all(ctx: CheckContext, response: ProbeResponse) -> Finding:
    """Anything else (its status, content type and Server header): no Airflow at this address."""
    kind = response.content_type or "no content type"
    return Finding(
        Status.FAIL, f"not Airflow: {_where(response)} answered {response.status} ({kind}){_server_note(response)}: "
                     f"{error_detail(response, 120)}",
        explanation="Neither /api/v2/version (Airflow 3) nor /api/v1/version (Airflow 2) answered with a version, and "
                    "no sub-path named by the pages at this host did either, so the server at this address is not an "
                    "Airflow web server, or a proxy in front of it routes the API elsewhere.",
        fix=Fix("Set the profile's url to the address where the Airflow UI opens, including any sub-path "
                "(for example https://host/airflow).", ()),
        why_ui_works=_UI_ROUTE, code=Code.NOT_AIRFLOW)


UNEXPECTED_ANSWERS: tuple[Callable[[CheckContext, ProbeResponse], Finding | None], ...] = (
    proxy_answer, redirect_to_login, redirect, airflow3_ui, login_page, html_page_mounted_elsewhere, html_page,
    google_front_refusal, gateway_or_retired_api, credentials_demanded, server_error, airflow_off_its_api,
    answer_mounted_elsewhere, not_airflow_at_all)
"""What answered instead of Airflow's version, tried in this order: the first that recognises the answer names it.
Some ask more (find_mount reads the host's pages, gateway.not_airflow asks /health), so the order is also the
order of those requests."""


def unexpected_answer(ctx: CheckContext, response: ProbeResponse) -> Finding:
    """Neither version endpoint answered like Airflow: name what did answer."""
    return next(finding for classify in UNEXPECTED_ANSWERS if (finding := classify(ctx, response)) is not None)


def _mounted_elsewhere(response: ProbeResponse, mount: str, answer: str) -> Finding:
    """The url misses the sub-path Airflow is served under; `mount` is where its version endpoint answered."""
    path = urlsplit(mount).path or "/"
    return Finding(
        Status.FAIL, f"Airflow is served under {path}: GET {response.url} answered {answer}, while GET "
                     f"{mount}/api/…/version answered Airflow's version",
        explanation=f"A proxy serves this Airflow under the sub-path {path} (the deployment's [webserver] base_url in "
                    "Airflow 2, [api] base_url in Airflow 3), so the API and /auth/token live under it too. A script "
                    "that joins /api/… to the host alone reaches the proxy, not Airflow.",
        fix=Fix(f"Use {mount} as the profile's url and as the script's base URL:", (f"url: {mount}",)),
        why_ui_works="The browser opens the UI at its full address (with the sub-path) and follows its links, so every "
                     "request it makes carries the sub-path; the script's URL does not.",
        code=Code.UNDER_SUBPATH)


def _wrong_subpath(ctx: CheckContext, response: ProbeResponse, why: str) -> Finding:
    """Airflow itself answered but not at the API: find where its API is mounted and name that url."""
    mount = find_mount(ctx)
    fix = (Fix(f"The API answers at {mount}: set the profile's url (and the script's base URL) to {mount}",
               (f"url: {mount}",)) if mount else _UNKNOWN_MOUNT_FIX)
    return Finding(Status.FAIL, f"wrong path: GET {response.url} reached Airflow, but not its API",
                   explanation=why, fix=fix, why_ui_works=_UI_ROUTE, code=Code.WRONG_PATH)


_UI_ROUTE = ("The browser starts from the UI's own address and follows its links and redirects to wherever the "
             "deployment is mounted; a script calls the API at the url it was given, and nothing answers there.")
_UNKNOWN_MOUNT_FIX = Fix("Set the profile's url to the address where the Airflow UI opens, with exactly the sub-path "
                         "the deployment is served under ([webserver] base_url in Airflow 2, [api] base_url in "
                         "Airflow 3).", ())


def find_mount(ctx: CheckContext) -> str | None:
    """The base url whose version endpoint answers: the host's root, or a sub-path the UI's pages or redirects name
    (a proxy mounting Airflow under /airflow). Only answers received count."""
    base = ctx.facts.base_url
    origin = origin_of(base)
    prefixes: list[str] = [""]
    for page in dict.fromkeys((origin + "/", base + "/")):
        try:
            prefixes += mount_hints(ctx.probe.get(page))
        except TransportError:
            break
    prefixes.append("/airflow")
    for prefix in dict.fromkeys(prefixes):
        candidate = origin + prefix
        if candidate == base:
            continue
        for flavour in (ApiFlavour.V2, ApiFlavour.V1):
            try:
                answer = ctx.probe.get(f"{candidate}{VERSION_PATHS[flavour]}")
            except TransportError:
                return None
            if _is_version(answer, flavour):
                return candidate
    return None
