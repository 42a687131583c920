"""reachability: is there an Airflow API at this URL, which version, and is it healthy?

Asks, without credentials: GET /api/v2/version (Airflow 3), else GET /api/v1/version (Airflow 2),
then the health endpoint of that version. Stock Airflow answers all of these to anyone, so any other
answer says something about the path between this machine and Airflow: DNS, TCP, TLS, a redirect,
a login page or proxy, a wrong sub-path, or a server that is not Airflow at all.
"""

from __future__ import annotations

import difflib
import re
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from airflow_doctor.platforms.mwaa import findings as mwaa
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.checks.readers.front import is_login_redirect, mount_hints, origin_of, retired_api_words
from airflow_doctor.checks.readers.gateway import V2NotRouted, held_back_finding, login_wall_words, not_airflow, retired_api
from airflow_doctor.checks.base import (ApiFlavour, CheckContext, Fact, Facts, Platform, Uses, error_detail, html_title,
                                        json_object)
from airflow_doctor import failures
from airflow_doctor.failures import what_happened
from airflow_doctor.probe import Layer, ProbeResponse, TransportError
from airflow_doctor.model import Finding, Fix, Status
from airflow_doctor.sources.profile import AuthType

VERSION_PATHS = {ApiFlavour.V2: "/api/v2/version", ApiFlavour.V1: "/api/v1/version"}
HEALTH_PATHS = {ApiFlavour.V2: "/api/v2/monitor/health", ApiFlavour.V1: "/api/v1/health"}
COMPONENTS = ("metadatabase", "scheduler", "dag_processor", "triggerer")
_PASTED_API = re.compile(r"/api/v[12](/.*)?$")
_SSO_HOSTS = ("accounts.google.com", "login.microsoftonline.com", "amazoncognito.com", "okta.com", "auth0.com",
              "onelogin.com", "pingidentity.com", "keycloak")


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
                fix=Fix(f"Set the profile's url to the web server's address: url: {corrected}", (f"url: {corrected}",))))
            facts.base_url = corrected
            probe.rebase(corrected)

        try:
            flavour, version_response = self._find_api(ctx)
        except TransportError as failure:
            return mwaa.unreachable(ctx, failure) or transport_finding(failure, facts)
        except V2NotRouted as airflow3:
            return airflow3.as_finding()
        except CredentialsUnavailable as unavailable:
            return unavailable.finding
        if flavour is None:
            return mwaa.service_refusal(ctx, version_response) or unexpected_answer(ctx, version_response)

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
                           details=tuple(notes))
        return Finding(Status.PASS, f"{summary}; {self._health_line(facts)}", details=tuple(notes))

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


PLATFORM_NOTES = {
    Platform.MWAA: "identity comes from AWS IAM: Airflow passwords and Basic auth do not work; call the API through "
                   "'aws mwaa invoke-rest-api' or a web login token",
    Platform.COMPOSER: "send a Google OAuth2 access token as 'Authorization: Bearer' (auth type google: "
                       "Application Default Credentials); Basic auth does not work",
    Platform.ASTRONOMER: "send a Deployment or Workspace API token as 'Authorization: Bearer' (auth type token); "
                         "the url must include the deployment's path",
    Platform.SELF_HOSTED: "",
}


def platform_of(url: str) -> Platform:
    host = (urlsplit(url).hostname or "").lower()
    if host.endswith((".airflow.amazonaws.com", ".on.aws")):
        return Platform.MWAA
    if host.endswith((".composer.googleusercontent.com", ".composer.cloud.google.com")):
        return Platform.COMPOSER
    if host.endswith(".astronomer.run"):
        return Platform.ASTRONOMER
    return Platform.SELF_HOSTED


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


def _login_page(response: ProbeResponse) -> bool:
    head = response.body[:50000].lower()
    return b'type="password"' in head or b"type='password'" in head or b"sign in" in head or b"log in" in head


_NETWORK_UI = ("The browser that shows the UI may be on a VPN, use another DNS server or an HTTP proxy, or open "
               "another address (a port-forward, a load balancer) than the profile's url.")
WHY_UI_BY_LAYER = {
    Layer.DNS: _NETWORK_UI,
    Layer.TCP_REFUSED: "If the UI opens, the browser reaches the web server at another address or port (a proxy, a "
                       "port-forward, a load balancer) than the profile's url.",
    Layer.TCP_TIMEOUT: _NETWORK_UI,
    Layer.TLS: "A browser trusts the certificates of the operating system's store (where company CAs are installed); "
               "this client trusts only its own CA bundle.",
    Layer.READ_TIMEOUT: "The UI's pages are small and cached; if the UI loads now, the API workers are the ones that "
                        "are busy or hung.",
    Layer.CONNECTION_CLOSED: "A browser retries a cut connection silently; a script sees the failure.",
    Layer.BODY_TOO_LARGE: "The browser renders whatever page answers at this address; the API is not there.",
    Layer.CONNECTION: _NETWORK_UI,
}


def transport_finding(failure: TransportError, facts: Facts, look_up_neighbours: bool = True) -> Finding:
    """The version request got no answer: say which layer failed, in words, with the fix for that layer.
    `look_up_neighbours` False keeps it offline (explain): no DNS lookup for a 'did you mean' host."""
    if (held_back := held_back_finding(failure)) is not None:
        return held_back
    host = urlsplit(facts.base_url).hostname or facts.base_url
    url = facts.base_url
    summary = what_happened(failure)
    if failure.layer is Layer.DNS and look_up_neighbours and (near := resolvable_neighbour(host)) is not None:
        corrected = url.replace(host, near, 1)
        return Finding(
            Status.FAIL, f"{summary}: did you mean {near}?",
            explanation=f"This machine cannot resolve {host}, but {near}, one typing slip away, resolves. ({failure.message})",
            fix=Fix(f"If {near} is the server, correct the host in the profile's url and in the script:",
                    (f"url: {corrected}",)),
            why_ui_works="The browser's address bar holds the right name; the profile's url has a typo.")
    plain_http = failure.layer is Layer.TLS and "did not answer TLS" in failure.message
    explanations = {
        Layer.DNS: (f"This machine cannot resolve {host}. The browser that shows the Airflow UI may be on a VPN, "
                    "use a different DNS server, or go through a proxy that resolves names for it.",
                    Fix("Check the host name in the profile's url, and that this machine uses the same network "
                        "(VPN, DNS) as the browser.", (f"getent hosts {host}", f"nslookup {host}"))),
        Layer.TCP_REFUSED: ("The host is reachable but nothing accepts connections on that port: the Airflow web "
                            "server (Airflow 2: 'airflow webserver'; Airflow 3: 'airflow api-server') is not running "
                            "there, or listens on another port or only on another interface.",
                            Fix("Start the web server, or correct the port in the profile's url.",
                                (f"curl -sv {url}/api/v2/version", f"curl -sv {url}/api/v1/version"))),
        Layer.TCP_TIMEOUT: ("Packets to this host and port get no answer at all: a firewall or security group drops "
                            "them, the address is private to another network, or the port is wrong.",
                            Fix("Check firewall rules and VPN, and that the url's host and port are the ones the "
                                "browser uses.", (f"curl -sv --connect-timeout 5 {url}/api/v2/version",))),
        Layer.TLS: ("The TLS handshake failed before any HTTP was exchanged. A browser trusts certificates from the "
                    "operating system's store (where company CAs are installed); this client uses its own CA bundle, "
                    "so a certificate the browser accepts can still be rejected here.",
                    Fix("Give the profile the CA bundle that signs the server's certificate:",
                        ("tls:\n  verify: /path/to/company-ca.pem",))),
        Layer.READ_TIMEOUT: ("The connection was accepted but the answer did not come in time: the web server is "
                             "overloaded or hung, or a proxy holds the connection open.",
                             Fix("Check the web server's health and logs; raise timeout.read in the profile if the "
                                 "server is just slow.", ("timeout:\n  read: 60",))),
        Layer.CONNECTION_CLOSED: ("The connection was closed before the answer was complete: a proxy or load "
                                  "balancer cut it, or the server process crashed while answering.",
                                  Fix("Check the proxy and web server logs at the time of this run.", ())),
        Layer.BODY_TOO_LARGE: ("A tiny version request got an enormous answer. Airflow's version endpoint answers "
                               "with a few dozen bytes, so this is not Airflow's API.",
                               Fix("Check that the profile's url points at the Airflow web server.", ())),
        Layer.INVALID_URL: ("The URL cannot be used as given.", Fix("Correct the profile's url.", ())),
        Layer.CLIENT_ENCODING: ("The request could not be built.", Fix("See the credential-encoding check.", ())),
        Layer.HELD_BACK: ("The server rate-limited an earlier request of this run (429), so airflow-doctor sent "
                          "nothing more to it.", failures.FIXES[Layer.HELD_BACK]),
        Layer.CONNECTION: ("The connection failed in a way that does not fit a known cause.",
                           Fix("Try the URL with curl -v from this machine to see more.", (f"curl -sv {url}/api/v2/version",))),
    }
    explanation, fix = explanations[failure.layer]
    why_ui = WHY_UI_BY_LAYER.get(failure.layer, "")
    if plain_http:
        http_url = "http://" + url.split("://", 1)[1]
        explanation = ("The port answered, but not in TLS: it serves plain HTTP, so the url's https:// is wrong for "
                       "it (no certificate is involved).")
        fix = Fix(f"Use http:// for this port, or the port where the server speaks TLS: url: {http_url}",
                  (f"url: {http_url}",))
        why_ui = "The browser's address bar holds http:// (or the TLS port); the profile's url says https:// to a plain-HTTP port."
    return Finding(Status.FAIL, f"{summary} ({failure.message})", explanation=explanation, fix=fix, why_ui_works=why_ui)


def resolvable_neighbour(host: str) -> str | None:
    """A host name one slip from `host` (swapped, missing or doubled letter) that resolves, e.g. localhsot."""
    if not host or host.replace(".", "").isdigit():
        return None
    known = ["localhost", *_hosts_file_names()]
    close = difflib.get_close_matches(host, known, n=1, cutoff=0.75)
    label, dot, rest = host.partition(".")
    swapped = [label[:i] + label[i + 1] + label[i] + label[i + 2:] + dot + rest for i in range(len(label) - 1)
               if label[i] != label[i + 1]]
    candidates = [c for c in dict.fromkeys((close + swapped)[:12]) if c != host]
    resolved = _resolving(candidates, NEIGHBOUR_LOOKUP_SECONDS)
    return next((c for c in candidates if c in resolved), None)


NEIGHBOUR_LOOKUP_SECONDS = 3.0
"""All neighbours are looked up at once, and no longer than this: a resolver that hangs must not hold the report."""


def _resolving(names: list[str], seconds: float) -> set[str]:
    """The names that resolve within `seconds`, looked up in parallel daemon threads (a hung lookup is abandoned)."""
    found: set[str] = set()
    threads = [threading.Thread(target=lambda n=name: _resolves(n) and found.add(n), daemon=True) for name in names]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return set(found)


def _hosts_file_names() -> list[str]:
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        return []
    return [name for line in lines if not line.lstrip().startswith("#") for name in line.split()[1:]]


def _resolves(name: str) -> bool:
    try:
        socket.getaddrinfo(name, None)
    except (OSError, UnicodeError):
        return False
    return True


def unexpected_answer(ctx: CheckContext, response: ProbeResponse) -> Finding:
    """Neither version endpoint answered like Airflow: name what did answer."""
    facts, probe = ctx.facts, ctx.probe
    where = f"GET {response.url}"
    server = response.headers.get("Server")
    server_note = f" (Server: {server})" if server else ""

    if response.is_redirect:
        target = response.location or ""
        target_host = (urlsplit(target).hostname or "").lower()
        if (any(sso in target_host for sso in _SSO_HOSTS) or is_login_redirect(response)
                or re.search(r"/(login|signin|sso|oauth|auth)\b", urlsplit(target).path, re.I)):
            return Finding(
                Status.FAIL, f"{where} was redirected ({response.status}) to a login page{login_wall_words(response)}: "
                             f"{target}",
                explanation="Something in front of Airflow (an SSO proxy such as IAP or oauth2-proxy, or a corporate "
                            "gateway) sends unauthenticated requests to a login page. Airflow's own API never "
                            "redirects to a login; it answers 401. The browser works because it follows the redirect "
                            "and logs you in interactively; a script cannot.",
                fix=Fix("Call the API with the credentials the proxy expects (often a bearer token for a service "
                        "account), or use an address that bypasses the proxy for API clients.", ()),
                why_ui_works="The browser follows the redirect, logs in interactively and keeps the proxy's cookie.")
        new_base = target.split("/api/v")[0] if "/api/v" in target else origin_of(target)
        if target.startswith("/"):
            new_base = origin_of(facts.base_url) + target.split("/api/v")[0]
        return Finding(
            Status.FAIL, f"{where} was redirected ({response.status}) to {target}",
            explanation="The server sends API clients elsewhere. Browsers follow redirects silently, but for a trigger "
                        "they are destructive: on 301, 302 and 303 clients turn the POST into a GET and drop its body, "
                        "and on a change of host (or of scheme or port) requests drops the Authorization header. A "
                        "trigger sent here can come back '200' with a list of runs while nothing was triggered, or "
                        "fail with 401. airflow-doctor never follows redirects on API calls.",
            fix=Fix(f"Use the address the server redirects to as the profile's url: {new_base}", (f"url: {new_base}",)),
            why_ui_works="The browser follows redirects silently and then stays on the address it was sent to.")

    if response.status == 200 and response.is_html:
        if _is_airflow3_ui(response):
            return _wrong_subpath(ctx, response, "Airflow 3's web UI answered instead of its API: the api-server "
                                  "serves its single-page UI for every path it does not know, so the url's path "
                                  f"({urlsplit(facts.base_url).path or '/'}) does not lead to the API.")
        title = html_title(response)
        if _login_page(response):
            return Finding(
                Status.FAIL, f"{where} answered with an HTML login page{f' ({title})' if title else ''}"
                             f"{login_wall_words(response)}, where JSON was expected",
                explanation="A login page stands in front of the API. Airflow's REST API never answers with a login "
                            "page (it answers 401 JSON), so this comes from an SSO or authentication proxy, or the url "
                            "points at a different application. The browser works because you log in there by hand.",
                fix=Fix("Use the API address that accepts tokens or Basic auth from scripts (ask who runs the proxy), "
                        "or correct the url.", ()),
                why_ui_works="You log in on that page by hand and the browser keeps the login cookie.")
        if (mount := find_mount(ctx)) is not None:
            return _mounted_elsewhere(response, mount, f"an HTML page{f' titled {title!r}' if title else ''}")
        return Finding(
            Status.FAIL, f"{where} answered 200 with an HTML page{f' titled {title!r}' if title else ''}{server_note}, not Airflow's JSON",
            explanation="Something answers at this address, but it is not Airflow's API: the url points at another "
                        "application or at a proxy's own page.",
            fix=Fix("Set the profile's url to the address where the Airflow UI opens in the browser.", ()),
            why_ui_works=_UI_ROUTE)

    if response.status == 403 and (facts.platform is Platform.COMPOSER or ctx.profile.auth.type is AuthType.GOOGLE):
        from airflow_doctor.platforms.composer.findings import blocked_before_airflow
        from airflow_doctor.checks.readers.front import airflows_own

        if not airflows_own(response):
            return blocked_before_airflow(response, "The request carried the Google access token of Application "
                                                    "Default Credentials and was refused all the same."
                                          if sent_credentials(response) else
                                          "The request carried no credentials: the profile has none to send.")

    if (front := not_airflow(ctx, response) or retired_api(response)) is not None:
        return front

    if response.status in (401, 403):
        return Finding(
            Status.FAIL, f"{where} answered {response.status} ({error_detail(response, 120)}){server_note}: credentials "
                         "are demanded even for the version endpoint",
            explanation="Stock Airflow serves its version endpoint without credentials, so something in front of it "
                        "(a proxy, API gateway or managed platform) demands authentication for every request. "
                        + (PLATFORM_NOTES[facts.platform] + "." if facts.platform is not Platform.SELF_HOSTED else
                           "The browser passes because it holds that front end's login cookie."),
            fix=front_credentials_fix(ctx, sent_credentials(response)),
            why_ui_works="The browser holds the front end's login cookie (or the platform's session), so it passes.")

    if response.status >= 500:
        return Finding(
            Status.FAIL, f"{where} answered {response.status} ({error_detail(response, 120)}){server_note}",
            explanation=("Airflow's own web server sent this answer: it is running but cannot serve the request "
                         "(overloaded: a concurrency limit or all workers busy, or a worker that failed)."
                         if response.status in (502, 503, 504) else
                         "The web server answered with an internal error: it is running but broken (often its "
                         "metadata database is unreachable or not migrated)."),
            fix=Fix("Check the web server's (Airflow 3: api-server's) logs and that its database is reachable.",
                    ("airflow db check",)),
            why_ui_works="If the UI loads now, the proxy sends it to another backend than the API, or the failure "
                         "comes and goes; the UI's pages are also often cached.")

    if _is_airflow_error(response):
        return _wrong_subpath(ctx, response, "Airflow answered, but not at its API: the url's path "
                              f"({urlsplit(facts.base_url).path or '/'}) is not where Airflow's web server is mounted.")

    kind = response.content_type or "no content type"
    if (mount := find_mount(ctx)) is not None:
        return _mounted_elsewhere(response, mount, f"{response.status} ({kind}){server_note}")
    return Finding(
        Status.FAIL, f"not Airflow: {where} answered {response.status} ({kind}){server_note}: {error_detail(response, 120)}",
        explanation="Neither /api/v2/version (Airflow 3) nor /api/v1/version (Airflow 2) answered with a version, and "
                    "no sub-path named by the pages at this host did either, so the server at this address is not an "
                    "Airflow web server, or a proxy in front of it routes the API elsewhere.",
        fix=Fix("Set the profile's url to the address where the Airflow UI opens, including any sub-path "
                "(for example https://host/airflow).", ()),
        why_ui_works=_UI_ROUTE)


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
                     "request it makes carries the sub-path; the script's URL does not.")


def _wrong_subpath(ctx: CheckContext, response: ProbeResponse, why: str) -> Finding:
    """Airflow itself answered but not at the API: find where its API is mounted and name that url."""
    mount = find_mount(ctx)
    fix = (Fix(f"The API answers at {mount}: set the profile's url (and the script's base URL) to {mount}",
               (f"url: {mount}",)) if mount else _UNKNOWN_MOUNT_FIX)
    return Finding(Status.FAIL, f"wrong path: GET {response.url} reached Airflow, but not its API",
                   explanation=why, fix=fix, why_ui_works=_UI_ROUTE)


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


def health_finding(facts: Facts) -> Finding | None:
    """What the component health means for a triggered run."""
    health = facts.health
    if health.get("metadatabase") not in (None, "healthy"):
        return Finding(Status.FAIL, "the metadata database is unhealthy",
                       explanation="The web server cannot use its metadata database; no API call that reads or "
                                   "writes DAGs or runs can succeed.",
                       fix=Fix("Check the database connection ([database] sql_alchemy_conn) and that it is migrated.",
                               ("airflow db check", "airflow db migrate")),
                       why_ui_works="It does not: the UI reads the same database, so it fails or shows stale pages too.")
    problems = []
    if health.get("scheduler") != "healthy":
        problems.append(("no healthy scheduler", "The scheduler has no recent heartbeat. A trigger is still accepted "
                         "(200, state 'queued'), but the run will sit queued until a scheduler runs: the API accepts, "
                         "nothing happens.", "Start the scheduler (airflow scheduler) or look at why it stopped."))
    if facts.major is not None and facts.major >= 3 and health.get("dag_processor") != "healthy":
        problems.append(("no healthy dag-processor", "In Airflow 3 DAG files are parsed by a separate dag-processor. "
                         "Without it new DAGs never appear (404) and changed DAGs are not picked up.",
                         "Start it (airflow dag-processor) next to the scheduler."))
    if not problems:
        return None
    return Finding(Status.WARN, "; ".join(p[0] for p in problems), explanation=" ".join(p[1] for p in problems),
                   fix=Fix(" ".join(p[2] for p in problems), ()))
