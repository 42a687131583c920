"""auth-backend: which authentication does the API accept, and do the profile's credentials pass it?

Airflow 2: an authenticated read of /api/v1/dags. On 401 the status and body never say why (a wrong
password and a disabled Basic backend answer byte for byte the same), so the check reproduces what
the browser does: it retries the same credentials in the forms the server may expect, then logs in
through the /login/ form with its CSRF token and reads the API with that session. Which of these
works names the cause.

Airflow 3: username and password are exchanged at POST /auth/token for a JWT, which is sent as a
Bearer token to /api/v2; its claims are decoded locally (never printed) to name the identity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum
from urllib.parse import urlsplit

from airflow_doctor.platforms.mwaa import findings as mwaa
from airflow_doctor.checks.readers import token_trust
from airflow_doctor.checks.readers.front import (AIRFLOW_SERVERS, airflows_own, front_label, intermediary, mount_hints, origin_of,
                                          proxy_realm, rate_limit)
from airflow_doctor.checks.readers.credentials import (Credentials, JwtClaims, Scheme, Trial, basic_variants, decode_jwt,
                                                stripped_secret)
from airflow_doctor.checks.base import (ApiFlavour, CheckContext, Fact, Uses, error_detail, json_object, read_dags,
                                        try_credentials)
from airflow_doctor.checks.readers.working_request import AUTH_SCHEME
from airflow_doctor.platforms import astronomer
from airflow_doctor.platforms.composer import findings as composer
from airflow_doctor.checks.readers.gateway import transport_finding
from airflow_doctor.failures import what_happened
from airflow_doctor.probe import NoAuth, ProbeResponse, TransportError
from airflow_doctor.model import Finding, Fix, Status
from airflow_doctor.sources.profile import AuthType, Profile
from airflow_doctor.secrets import Secret

BASIC_BACKEND = "airflow.api.auth.backend.basic_auth"
SESSION_BACKEND = "airflow.api.auth.backend.session"
BACKENDS_FIX = (f"[api]\nauth_backends = {BASIC_BACKEND},{SESSION_BACKEND}",
                f"AIRFLOW__API__AUTH_BACKENDS={BASIC_BACKEND},{SESSION_BACKEND}")
DOCS_V2 = "https://airflow.apache.org/docs/apache-airflow/2.10.5/security/api.html"
DOCS_V3 = "https://airflow.apache.org/docs/apache-airflow/stable/security/api.html"
NOT_ANSWERED_UI = ("If the UI loads at the same time, it goes another way (another network, proxy or address) or the "
                   "failure comes and goes: this request got no answer at all, so no credential was judged.")
NOT_JUDGED = ("The request got no answer, so the server never judged the credentials: nothing is known yet about the "
              "password, the token or the auth backend.")


class Check:
    id = "auth-backend"
    title = "API authentication"
    requires = ("reachability",)
    uses = (Uses(Fact.API),)
    provides = (Fact.CREDENTIALS, Fact.TRIALS)
    needs = "the profile's auth; the API flavour from reachability"

    def run(self, ctx: CheckContext) -> Finding:
        if ctx.facts.mwaa is not None:
            return mwaa.authenticate(ctx)
        if ctx.facts.api is ApiFlavour.V2:
            return airflow3(ctx)
        return airflow2(ctx)


def _accepted(ctx: CheckContext, credentials: Credentials, scheme_label: str, identity: str | None,
              notes: list[str]) -> Finding:
    ctx.facts.credentials = credentials
    ctx.facts.auth_scheme = scheme_label
    ctx.facts.identity = identity
    who = f" as {identity}" if identity else ""
    return Finding(Status.PASS, f"{scheme_label} accepted{who}: GET {ctx.facts.api_path('/dags')} answered 200",
                   details=tuple(notes))


def _no_answer(trial: Trial) -> Finding | None:
    """A credential form that got no answer at all: the failure as it was, and no claim about the credentials."""
    if trial.status is not None or trial.failure is None:
        return None
    return replace(transport_finding(trial.failure, NOT_JUDGED), why_ui_works=NOT_ANSWERED_UI)


def _server_error(response: ProbeResponse, what: str) -> Finding:
    return Finding(Status.FAIL, f"{what} answered {response.status} ({error_detail(response, 120)})",
                   explanation="The server failed while authenticating. This is a server-side error, not a problem "
                               "with the credentials; the web server's log has the traceback.",
                   fix=Fix("Look at the web server's (Airflow 3: api-server's) log at the time of this run.", ()),
                   why_ui_works="A logged-in browser does not authenticate again on each request (it sends its session), "
                                "so it does not run the failing code; if the UI login fails too, it is the same error.")


# --- Airflow 2 ---------------------------------------------------------------------------------------

def airflow2(ctx: CheckContext) -> Finding:
    auth = ctx.profile.auth
    if auth.type is AuthType.GOOGLE:
        return composer.google_auth(ctx)
    if auth.type is AuthType.NONE:
        return _v2_anonymous(ctx)
    if auth.type is AuthType.JWT:
        return _v2_jwt_profile(ctx)
    if auth.type is AuthType.TOKEN:
        return _v2_bearer(ctx)
    return _v2_basic(ctx)


def _v2_anonymous(ctx: CheckContext) -> Finding:
    trial = try_credentials(ctx, Credentials(Scheme.NONE))
    if trial.accepted:
        return _accepted(ctx, Credentials(Scheme.NONE), "no credentials", None,
                         ["the API serves anonymous callers (AUTH_ROLE_PUBLIC or a permissive backend)"])
    if (unanswered := _no_answer(trial)) is not None:
        return unanswered
    return Finding(Status.FAIL, f"the API requires credentials, and the profile has none ({trial.status}: {trial.note})",
                   explanation="The browser is logged in with a session cookie; a script must authenticate itself.",
                   fix=Fix("Add credentials to the profile (auth type basic with a user that can log in to the UI).",
                           ("auth:\n  type: basic\n  username: <user>\n  password: ${AIRFLOW_PASSWORD}",), DOCS_V2),
                   why_ui_works="The browser logged in once and sends its session cookie with every request.")


def _v2_jwt_profile(ctx: CheckContext) -> Finding:
    """Airflow 2 has no /auth/token: say so, and whether Basic with the same credentials would work."""
    auth = ctx.profile.auth
    assert auth.password is not None
    token = ctx.probe.post("/auth/token", json={})  # whether the endpoint exists; no credentials need to go there
    basic = Credentials(Scheme.BASIC, auth.username or "", auth.password)
    trial = try_credentials(ctx, basic)
    if trial.accepted:
        works = "Basic auth with the same credentials works"
    elif trial.failure is not None:
        works = f"whether Basic auth with the same credentials works is unknown ({what_happened(trial.failure)})"
    else:
        works = f"Basic auth with the same credentials was refused too ({trial.status})"
    return Finding(Status.FAIL, f"this is Airflow {ctx.facts.airflow_version}: there is no /auth/token to exchange "
                                f"credentials at (POST /auth/token answered {token.status}); {works}",
                   explanation="JWTs from /auth/token are how Airflow 3 authenticates. Airflow 2's /api/v1 takes Basic "
                               "auth or a browser session, as [api] auth_backends allows.",
                   fix=Fix("Set the profile's auth type to basic and have the script send Basic auth to /api/v1.",
                           ("auth:\n  type: basic",), DOCS_V2),
                   why_ui_works="The Airflow 2 UI logs in with its own form and keeps a session cookie; it never asks "
                                "for a token.", code=AUTH_SCHEME if trial.accepted else "")


def _v2_bearer(ctx: CheckContext) -> Finding:
    token = ctx.profile.auth.token
    assert token is not None
    credentials = token_credentials(ctx, token)
    trial = try_credentials(ctx, credentials)
    if trial.accepted:
        return _accepted(ctx, credentials, "Bearer token" if credentials.scheme is Scheme.BEARER else "API key", None,
                         ["a token backend is configured (managed platforms: Composer, Astronomer)"])
    if (unanswered := _no_answer(trial)) is not None:
        return unanswered
    if (platform := platform_token_refusal(ctx, token, trial)) is not None:
        return platform
    return Finding(Status.FAIL, f"the bearer token was refused ({trial.status}: {trial.note})",
                   explanation="Stock Airflow 2 accepts no bearer tokens on /api/v1: only Basic auth and browser "
                               "sessions, as [api] auth_backends allows. Managed platforms add their own token "
                               "backend (Cloud Composer: a Google access token; Astronomer: a deployment API token); "
                               "there, a refused token is expired, for another deployment, or lacks a role.",
                   fix=Fix("On self-hosted Airflow 2 use auth type basic; on a managed platform issue a fresh token "
                           "for this deployment.", ()),
                   why_ui_works="The UI uses the session cookie of its own login (or the platform's), not a bearer token.",
                   code=AUTH_SCHEME)


def _v2_basic(ctx: CheckContext) -> Finding:
    auth = ctx.profile.auth
    assert auth.password is not None
    as_sent = Credentials(Scheme.BASIC, auth.username or "", auth.password, auth.encoding)
    first = try_credentials(ctx, as_sent)
    if first.accepted:
        return _accepted(ctx, as_sent, "Basic auth", auth.username, [])
    refusals: tuple[int, ...] = (401,)
    if first.status == 403:
        anonymous = read_dags(ctx, Credentials(Scheme.NONE))
        if anonymous.status != 403:
            return _may_not_read(ctx, f"without them the API answers {anonymous.status}")
        refusals = (401, 403)  # answered as no credentials are: the `default` backend, or any refusal on Airflow 2.11
    if first.status is not None and first.status >= 500:
        return Finding(Status.FAIL, f"GET /api/v1/dags answered {first.status} ({first.note})",
                       explanation="The web server failed while authenticating; its log has the traceback.",
                       fix=Fix("Look at the web server's log at the time of this run.", ()),
                       why_ui_works="A logged-in browser sends its session instead of credentials, so it does not run "
                                    "the failing authentication code.")
    if first.status not in (None, *refusals):
        return _not_an_auth_answer(first)
    if first.response is not None and not airflows_own(first.response):
        return front_refusal(ctx, first)
    if first.status in refusals and (split := replicas_disagree(ctx, as_sent)) is not None:
        return split

    tried = [first]
    for variant in basic_variants(auth.username or "", auth.password, auth.encoding):
        trial = try_credentials(ctx, variant)
        if trial.accepted:
            ctx.facts.credentials = variant
            ctx.facts.auth_scheme = f"Basic auth ({variant.label})"
            ctx.facts.identity = variant.username
            return Finding(Status.WARN, f"Basic auth is accepted only when the credentials are sent {variant.label.removeprefix('Basic ')}",
                           explanation="The server accepts these credentials in another form than the one a script "
                                       "sends by default; credential-encoding explains the difference.")
        tried.append(trial)

    refusal = next((t for t in tried if t.status in refusals), None)
    if refusal is None:
        return _never_refused(tried)
    login = reproduce_browser_login(ctx, (auth.username or "").strip(), auth.password.reveal().strip())
    if refusal.status == 403 and login.outcome is LoginOutcome.NOT_REPRODUCED:
        return _authenticates_nobody()
    return _explain_v2_401(ctx, refusal, login)


REPLICA_READS = 3
"""How often a refused credential is sent again: a load balancer over replicas that disagree answers differently."""


def replicas_disagree(ctx: CheckContext, credentials: Credentials) -> Finding | None:
    """The same credentials sent again: if some reads pass and others are refused, the servers behind disagree."""
    answers: list[int] = []
    for _ in range(REPLICA_READS):
        try:
            answers.append(read_dags(ctx, credentials).status)
        except TransportError:
            return None
    if 200 not in answers:
        return None
    tally = ", ".join(f"{answers.count(s)}x {s}" for s in sorted(set(answers)))
    return Finding(
        Status.FAIL, f"the same credentials are accepted by some requests and refused by others ({tally} after a "
                     "first refusal): the servers behind this address disagree",
        explanation="Several web servers (replicas or workers behind a load balancer) answer at this address, and they "
                    "are not configured alike: one accepts these credentials, another refuses them (on Airflow 2 a "
                    "different [api] auth_backends, on Airflow 3 a different [api_auth] jwt_secret). A script fails "
                    "whenever its request lands on the one that refuses.",
        fix=Fix("Give every web server the same configuration (the same [api] auth_backends on Airflow 2, the same "
                "[api_auth] jwt_secret on Airflow 3) and restart them; a changed jwt_secret invalidates every token "
                "issued so far, so clients must fetch new ones.", ()),
        why_ui_works="The browser keeps one connection (and often a sticky session) to the web server that logged it "
                     "in; a script's requests are spread over all of them.")


def front_refusal(ctx: CheckContext, trial: Trial) -> Finding:
    """A 401/403 that is not in Airflow's shape: whatever stands in front refused, and Airflow never saw the request."""
    response = trial.response
    assert response is not None
    front = front_label(response)
    realm = proxy_realm(response)
    said = f"realm {realm!r}" if realm else error_detail(response, 80)
    return Finding(
        Status.FAIL, f"the {trial.status} comes from what stands in front of Airflow ({front}, {said}), not from "
                     "Airflow: the credentials never reached it",
        explanation=f"Airflow answers a refusal as JSON ({'problem+json' if ctx.facts.major == 2 else 'detail'}) and "
                    "never names a realm; this answer came from a proxy or gateway in front of it, which wants its own "
                    "credentials for the API. Nothing in Airflow's configuration changes this answer.",
        fix=Fix("Send the credentials the gateway expects (ask who runs it), or call Airflow at an address that does "
                "not go through it.", ()),
        why_ui_works="The browser is logged in to the gateway (its cookie or an interactive login) before it reaches "
                     "Airflow; the script is not.")


def _not_an_auth_answer(trial: Trial) -> Finding:
    return Finding(Status.FAIL, f"GET /api/v1/dags with Basic auth answered {trial.status} ({trial.note})",
                   explanation="Airflow answers an authentication problem with 401; this answer comes from "
                               "something else on the path.", fix=None,
                   why_ui_works="The browser goes through whatever answered here with its own cookies or login.")


def _never_refused(tried: list[Trial]) -> Finding:
    """No form of the Basic credentials got a 401: report what they got instead, and claim no refusal."""
    answered = next((t for t in tried if t.status is not None), None)
    if answered is not None:
        return _not_an_auth_answer(answered)
    sent = [t.failure for t in tried if t.unanswered]
    failure = sent[0] if sent else tried[0].failure
    assert failure is not None
    return replace(transport_finding(failure, NOT_JUDGED), why_ui_works=NOT_ANSWERED_UI)


def _authenticates_nobody() -> Finding:
    """403 with and without credentials, and no UI login to tell more: the `default` backend."""
    return Finding(Status.FAIL, "GET /api/v1/dags answers 403 with and without credentials: the API authenticates "
                                "nobody",
                   explanation="With [api] auth_backends = airflow.api.auth.backend.default the stable "
                               "API does not look at credentials at all, so every request reaches the permission "
                               "check without a user and is forbidden. The 'default' backend only ever disabled "
                               "authentication for the old experimental API. The UI works because it has its own "
                               "login.",
                   fix=Fix("Enable Basic auth (and keep the session backend for the UI) in airflow.cfg or the "
                           "environment of the web server:", BACKENDS_FIX, DOCS_V2),
                   why_ui_works="The UI's pages are served by the web server behind its own login, not through "
                                "the REST API's auth backends.")


def _may_not_read(ctx: CheckContext, evidence: str) -> Finding:
    return Finding(Status.FAIL, f"{ctx.profile.auth.username} is authenticated but may not read DAGs (403)",
                   explanation=f"The credentials are accepted ({evidence}), but this user's "
                               "roles grant no 'can read on DAGs' permission, so the API refuses even the list.",
                   fix=Fix("Give the user a role with DAG access (User or Op), or per-DAG access_control for this "
                           "DAG.", (f"airflow users add-role -u {ctx.profile.auth.username} -r User",)),
                   why_ui_works="If the UI shows this DAG, it is logged in as another user (with more roles) than the "
                                "profile's.")


class LoginOutcome(str, Enum):
    LOGGED_IN = "logged-in"
    REJECTED = "rejected"
    SSO_ONLY = "sso-only"
    NOT_REPRODUCED = "not-reproduced"


@dataclass
class BrowserLogin:
    outcome: LoginOutcome
    detail: str
    cookies: dict[str, str] = field(default_factory=dict)
    providers: tuple[str, ...] = ()
    failure: TransportError | None = None


_CSRF_INPUT = re.compile(r"<input[^>]*name=[\"']csrf_token[\"'][^>]*>", re.I)
_VALUE = re.compile(r"value=[\"']([^\"']+)[\"']", re.I)
_PASSWORD_INPUT = re.compile(r"<input[^>]*type=[\"']password[\"']", re.I)
_PROVIDER = re.compile(r"id=[\"']btn-signin-([A-Za-z0-9_.-]+)[\"']|href=[\"'][^\"']*/login/([A-Za-z0-9_.-]+)[\"'/?]", re.I)


def reproduce_browser_login(ctx: CheckContext, username: str, password: str) -> BrowserLogin:
    """Log in like the browser: GET /login/, POST the form with its CSRF token, keep the session cookie."""
    probe = ctx.probe
    try:
        page = probe.get("/login/")
    except TransportError as failure:
        return BrowserLogin(LoginOutcome.NOT_REPRODUCED, f"GET /login/ failed ({failure.message})", failure=failure)
    if page.status != 200 or not page.is_html:
        return BrowserLogin(LoginOutcome.NOT_REPRODUCED, f"GET /login/ answered {page.status} ({error_detail(page, 80)})")
    html = page.text
    providers = tuple(dict.fromkeys(a or b for a, b in _PROVIDER.findall(html) if (a or b).lower() not in ("", "login")))
    if not _PASSWORD_INPUT.search(html):
        names = ", ".join(providers) if providers else "an external identity provider"
        return BrowserLogin(LoginOutcome.SSO_ONLY, f"the login page has no password field; it offers {names}",
                            providers=providers)
    field_tag = _CSRF_INPUT.search(html)
    token = _VALUE.search(field_tag.group(0)).group(1) if field_tag and _VALUE.search(field_tag.group(0)) else None
    if token is None:
        return BrowserLogin(LoginOutcome.NOT_REPRODUCED, "the login page has no CSRF token field")
    probe.registry.add(token)
    for value in page.cookies.values():
        probe.registry.add(value)
    try:
        answer = probe.post("/login/", data={"csrf_token": token, "username": username, "password": password},
                            cookies=page.cookies)
    except TransportError as failure:
        return BrowserLogin(LoginOutcome.NOT_REPRODUCED, f"POST /login/ failed ({failure.message})", failure=failure)
    if answer.status == 429:
        return BrowserLogin(LoginOutcome.NOT_REPRODUCED, "the UI login answered 429 Too Many Requests: Airflow limits "
                            f"login attempts (it says: {rate_limit(answer).limit or 'no limit stated'}; [fab] "
                            "auth_rate_limit), so wait a minute and run the doctor again")
    cookies = {**page.cookies, **answer.cookies}
    for value in answer.cookies.values():
        probe.registry.add(value)
    location = answer.location or ""
    if answer.is_redirect and "/login" not in location:
        return BrowserLogin(LoginOutcome.LOGGED_IN, f"the UI login form accepted them (302 to {location})", cookies)
    if answer.is_redirect or b"Invalid login" in answer.body:
        return BrowserLogin(LoginOutcome.REJECTED, "the UI login form rejected them (sent back to /login/)")
    return BrowserLogin(LoginOutcome.NOT_REPRODUCED, f"POST /login/ answered {answer.status} ({error_detail(answer, 80)})")


def _front_of(ctx: CheckContext, trial: Trial) -> str | None:
    """What the refused answer's headers (or the version answer's Server) say stands in front of Airflow."""
    front = intermediary(trial.response)
    if front is None and ctx.facts.server and not ctx.facts.server.lower().startswith(AIRFLOW_SERVERS):
        front = f"Server: {ctx.facts.server}"
    return front


PASS_AUTHORIZATION = ("proxy_set_header Authorization $http_authorization;", "WSGIPassAuthorization On")
PASS_AUTHORIZATION_TEXT = ("Make the proxy pass the Authorization header on to Airflow (nginx: the first line, in the "
                           "location that proxies Airflow, instead of any proxy_set_header Authorization \"\"; "
                           "Apache with mod_wsgi: the second); then the same script works unchanged")


def _authorization_dropped_v2(ctx: CheckContext, first: Trial, login: BrowserLogin, front: str) -> Finding:
    user = ctx.profile.auth.username
    basic_enabled = (first.challenge or "").strip().lower() == "basic"
    certainty = ("Airflow's own 401 asks for Basic ('WWW-Authenticate: Basic'), so its Basic backend is enabled: the "
                 "header was dropped or replaced on the way." if basic_enabled else
                 "Airflow's 401 does not say which backends it has, so one other cause remains possible: [api] "
                 "auth_backends without basic_auth. A request sent to the web server directly, not through the proxy, "
                 "tells the two apart.")
    return Finding(
        Status.FAIL, f"the Authorization header does not reach Airflow: {user}'s password logs in to the UI through "
                     f"the same proxy ({front}), but the same credentials as Basic auth are refused ({first.status})",
        explanation="Answers pass through a proxy in front of Airflow. The UI login sends the password in the form body "
                    "and then uses a cookie, which the proxy passes; Basic auth travels in the Authorization header, "
                    "and Airflow answered as if it had received none. Proxies drop that header when they do their own "
                    "authentication, when they are told to (proxy_set_header Authorization \"\"), or by default "
                    "(Apache mod_wsgi). " + certainty,
        fix=Fix(PASS_AUTHORIZATION_TEXT + ". Check with a read through the proxy:", (*PASS_AUTHORIZATION,
                f"curl -s -o /dev/null -w '%{{http_code}}\\n' -u \"{user}:$AIRFLOW_PASSWORD\" "
                f"'{ctx.facts.base_url}{ctx.facts.api_path('/dags')}?limit=1'"), DOCS_V2),
        details=(f"Basic auth: {first.status} ({first.note})", f"UI login: {login.detail}", "API read with the UI session: 200",
                 f"in front of Airflow: {front}"),
        why_ui_works="The UI sends the password once in its login form and then a session cookie; the proxy passes "
                     "both, and drops only the Authorization header a script uses.")


FORBIDDEN_EITHER_WAY = ("\n\nThis server answered 403, not 401, to Basic auth and to no credentials alike: the "
                        "'default' backend (airflow.api.auth.backend.default) authenticates nobody and is answered "
                        "so, and Airflow 2.11 answers every refused request with 403. Either way Basic auth is not "
                        "among the enabled backends, and the fix is the same.")


def _explain_v2_401(ctx: CheckContext, first: Trial, login: BrowserLogin) -> Finding:
    user = ctx.profile.auth.username
    if login.outcome is LoginOutcome.LOGGED_IN:
        session_read = read_dags(ctx, Credentials(Scheme.NONE), cookies=login.cookies)
        if session_read.status == 403 and first.status == 403:
            return _may_not_read(ctx, "the UI login accepts them, and the API refuses the session of that login too")
        if session_read.status == 200 and (front := _front_of(ctx, first)) is not None:
            return _authorization_dropped_v2(ctx, first, login, front)
        if session_read.status == 200:
            ctx.facts.auth_scheme = "browser session only"
            return Finding(
                Status.FAIL, "Basic auth is not enabled: the same credentials log in to the UI and the API accepts "
                             f"that browser session, but refuses them as Basic auth ({first.status})" + (
                                 ", as it refuses no credentials at all: the API authenticates nobody by Basic auth"
                                 if first.status == 403 else ""),
                explanation="Since Airflow 2.3 the default [api] auth_backends is 'airflow.api.auth.backend.session': "
                            "the REST API accepts only the session cookie of a browser that logged in to the UI. That "
                            "is why the UI (and a browser calling the API) works while a script sending Basic auth "
                            "gets 401. The official docker-compose file enables Basic auth, which is why the same "
                            "script may work there. A configuration that still says deny_all (the default before "
                            "2.3) is silently replaced by the session backend at start-up, with the same effect. Beware "
                            "the spelling of the environment variable: two underscores on each side of API."
                            + (FORBIDDEN_EITHER_WAY if first.status == 403 else ""),
                fix=Fix("Add the Basic auth backend (keep the session backend for the UI) and restart the web "
                        "server:", BACKENDS_FIX, DOCS_V2),
                details=(f"Basic auth: {first.status} for {user}", f"UI login: {login.detail}",
                         "API read with the UI session: 200"),
                why_ui_works="The UI (and a browser calling the API) sends the session cookie of its login, which the "
                             "session backend accepts; Basic auth is not among the enabled backends.")
        challenge = first.note
        negotiate = "negotiate" in (first.challenge or "").lower()
        backend = "Kerberos (the 401 asks for Negotiate)" if negotiate else "something else (Kerberos, or a cloud provider's backend)"
        return Finding(
            Status.FAIL, "the API accepts neither Basic auth nor the browser session, although the UI login works",
            explanation=f"The credentials are right (the UI login accepts them) but [api] auth_backends is set to "
                        f"{backend}, so no username/password form of authentication reaches the API.",
            fix=Fix("Enable Basic auth for scripts:", BACKENDS_FIX, DOCS_V2),
            details=(f"Basic auth: {first.status} ({challenge})", f"UI login: {login.detail}",
                     f"API read with the UI session: {session_read.status}"),
            why_ui_works="The UI's pages are served behind the web server's own login, not through the REST API's "
                         "auth backends.")
    if login.outcome is LoginOutcome.REJECTED:
        return Finding(
            Status.FAIL, f"wrong username or password: the UI login rejects {user!r} with this password too",
            explanation="Both Basic auth and the UI's own login form refuse these credentials, so the problem is the "
                        "credentials, not the API configuration. If you log in to the UI through single sign-on, "
                        "your account has no Airflow password at all: Basic auth works only for users created in "
                        "Airflow's database (or LDAP).",
            fix=Fix("Check the username and the password the profile resolves to (airflow-doctor profiles show). "
                    f"If {user!r} exists, an admin can set its password (this replaces the password everyone using "
                    "this user has); or create a separate user for scripts:",
                    (f"airflow users reset-password --username {user} --password \"$AIRFLOW_PASSWORD\"",
                     "airflow users create --username svc-trigger --role User --email svc-trigger@example.com "
                     "--firstname svc --lastname trigger --password \"$AIRFLOW_PASSWORD\"")),
            details=(f"Basic auth: {first.status}", f"UI login: {login.detail}"),
            why_ui_works="The UI login form refuses these credentials too: whoever triggers from the UI logs in with "
                         "another user or password (or through single sign-on).")
    if login.outcome is LoginOutcome.SSO_ONLY:
        return Finding(
            Status.FAIL, "the UI logs in through single sign-on only; Basic auth cannot work for SSO users",
            explanation="This deployment's login page offers only external identity providers "
                        f"({', '.join(login.providers) or 'OAuth/OpenID'}). Basic auth checks passwords stored in "
                        "Airflow's database or LDAP, and SSO users have none, so the API refuses them even though the "
                        "browser logs in.",
            fix=Fix("Create a database user for scripts (if AUTH_DB is allowed) or use the token mechanism your "
                    "platform provides.", (), DOCS_V2),
            details=(f"Basic auth: {first.status}", f"UI login: {login.detail}"),
            why_ui_works="The browser logs in at the identity provider and keeps Airflow's session cookie; no password "
                         "ever reaches Airflow.")
    cause = (f"the UI login that would tell why got no answer: {what_happened(login.failure)}" if login.failure
             else "the cause could not be narrowed down")
    return basic_refused_v2(cause, login.detail)


def basic_refused_v2(cause: str, login_detail: str) -> Finding:
    """Airflow 2's 401 to Basic auth, when no UI login told a wrong password from a disabled backend."""
    return Finding(
        Status.FAIL, f"Basic auth refused (401); {cause}",
        explanation="Airflow 2 answers a wrong password and a disabled Basic backend with the same 401. The doctor "
                    f"tried to reproduce the UI login to tell them apart, but {login_detail}. Check the credentials, "
                    "then [api] auth_backends.",
        fix=Fix("Make sure Basic auth is enabled and the credentials are right:", BACKENDS_FIX, DOCS_V2),
        details=("Basic auth: 401", f"UI login: {login_detail}"),
        why_ui_works="The UI sends the session cookie of its login form; whether that form accepts these credentials "
                     "could not be tried.")


# --- Airflow 3 ---------------------------------------------------------------------------------------

def airflow3(ctx: CheckContext) -> Finding:
    auth = ctx.profile.auth
    if auth.type is AuthType.GOOGLE:
        return composer.google_auth(ctx)
    if auth.type is AuthType.JWT:
        assert auth.password is not None
        return _v3_token_exchange(ctx, auth.username or "", auth.password)
    if auth.type is AuthType.TOKEN:
        assert auth.token is not None
        return _v3_bearer(ctx, auth.token, obtained=False)
    if auth.type is AuthType.BASIC:
        return _v3_basic_profile(ctx)
    trial = try_credentials(ctx, Credentials(Scheme.NONE))
    if trial.accepted:
        return _accepted(ctx, Credentials(Scheme.NONE), "no credentials", None,
                         ["the API serves anonymous callers: [core] simple_auth_manager_all_admins is on (every "
                          "caller is admin; development only)"])
    if (unanswered := _no_answer(trial)) is not None:
        return unanswered
    return no_token_v3(f"{trial.status}: {trial.note}")


def no_token_v3(answer: str, sent: str = "the profile has no credentials") -> Finding:
    """Airflow 3's API refused a request that carried no token (`sent` says what it carried instead)."""
    return Finding(Status.FAIL, f"the API requires a token, and {sent} ({answer})",
                   explanation="Airflow 3's /api/v2 accepts a JWT sent as 'Authorization: Bearer'. Scripts get one by "
                               "posting username and password to /auth/token.",
                   fix=Fix("Give the profile auth type jwt with a username and password.",
                           ("auth:\n  type: jwt\n  username: <user>\n  password: ${AIRFLOW_PASSWORD}",), DOCS_V3),
                   why_ui_works="The UI logged in once and sends its token in the _token cookie.")


@dataclass
class TokenExchange:
    response: ProbeResponse | None
    token: Secret | None
    failure: TransportError | None = None


def exchange_token(ctx: CheckContext, username: str, password: Secret) -> TokenExchange:
    try:
        response = ctx.probe.post("/auth/token", json={"username": username, "password": password.reveal()})
    except TransportError as failure:
        return TokenExchange(None, None, failure)
    body = json_object(response)
    token = body.get("access_token") if body and response.status in (200, 201) else None
    if isinstance(token, str) and token:
        ctx.probe.registry.add(token)
        return TokenExchange(response, Secret(token))
    return TokenExchange(response, None)


def _v3_token_exchange(ctx: CheckContext, username: str, password: Secret) -> Finding:
    exchange = exchange_token(ctx, username, password)
    if exchange.token is not None:
        return _v3_bearer(ctx, exchange.token, obtained=True)
    response = exchange.response
    if response is None:
        assert exchange.failure is not None
        return replace(transport_finding(exchange.failure, NOT_JUDGED), why_ui_works=NOT_ANSWERED_UI)
    if response.status == 401:
        ctx.facts.trials.append(Trial(Credentials(Scheme.BEARER, username, password), 401, error_detail(response, 120)))
        stripped = stripped_secret(password)
        if stripped is not None or username != username.strip():
            retry = exchange_token(ctx, username.strip(), stripped or password)
            trial = Trial(Credentials(Scheme.BEARER, username.strip(), stripped or password, stripped=True),
                          retry.response.status if retry.response else None)
            ctx.facts.trials.append(trial)
            if retry.token is not None:
                result = _v3_bearer(ctx, retry.token, obtained=True)
                if result.status is Status.PASS:
                    return Finding(Status.WARN, "/auth/token accepts the credentials only with surrounding "
                                                "whitespace removed", explanation="credential-encoding explains "
                                   "where the whitespace comes from.", details=result.details)
                return result
        return Finding(
            Status.FAIL, f"wrong username or password: /auth/token rejects them for {username!r} (401 Invalid credentials)",
            explanation="Airflow 3 exchanges username and password for a token at /auth/token, and that exchange "
                        "failed, so the credentials are wrong for this server's auth manager. With the simple auth "
                        "manager of a bare pip install, '[core] simple_auth_manager_users = admin:admin' means user "
                        "admin with role admin, not password admin: the passwords are generated into "
                        "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated. With the FAB auth manager only "
                        "database (or LDAP) users have passwords; SSO users cannot get a token this way.",
            fix=Fix("Use the password from the passwords file (simple auth manager) or of a database user (FAB). "
                    "To add a user to the simple auth manager, append it to [core] simple_auth_manager_users and "
                    "keep every existing entry: the setting is the whole list, so users left out can no longer log in.",
                    ("cat $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated",
                     f"[core]\nsimple_auth_manager_users = <the existing entries>,{username.strip() or 'svc-trigger'}:user"),
                    DOCS_V3),
            why_ui_works="Whoever triggers from the UI logs in there with another user or password (or through single "
                         "sign-on); /auth/token is the same check as the UI's login form.")
    if response.status >= 500:
        return Finding(
            Status.FAIL, f"POST /auth/token answered {response.status} ({error_detail(response, 80)}): the token "
                         "endpoint crashed",
            explanation="The server failed while issuing the token, before it judged the credentials. A known cause "
                        "is Airflow 3.0/3.1 installed with PyJWT 2.11 or newer and no [api_auth] jwt_issuer: PyJWT "
                        "rejects the empty issuer ('Issuer (iss) must be a string') and the endpoint answers 500. The "
                        "UI login uses the same code, so it fails too. The api-server's log names the exception.",
            fix=Fix("Set an issuer on every api-server (and restart), or install Airflow with its constraints file:",
                    ("[api_auth]\njwt_issuer = airflow", "AIRFLOW__API_AUTH__JWT_ISSUER=airflow"),
                    "https://github.com/apache/airflow/issues/61270"),
            why_ui_works="A browser that logged in before the failure keeps its token cookie; a new UI login fails "
                         "the same way.")
    if response.status in (404, 405) or response.is_html:
        return _token_endpoint_elsewhere(ctx, response, username, password)
    return Finding(Status.FAIL, f"POST /auth/token answered {response.status} ({error_detail(response, 120)})",
                   explanation="The token endpoint refused the request itself, not the credentials.", fix=None,
                   why_ui_works="The UI logs in through its own login page, not by posting JSON to /auth/token.")


def _token_endpoint_elsewhere(ctx: CheckContext, response: ProbeResponse, username: str, password: Secret) -> Finding:
    """/auth/token is not at the url while the API is: look for the sub-path the UI names, and try it there."""
    answered = f"{response.status}{' (an HTML page)' if response.is_html else ''}"
    base = ctx.facts.base_url
    for mount in token_mounts(ctx):
        try:
            exchange = ctx.probe.post(f"{mount}/auth/token", json={"username": username, "password": password.reveal()})
        except TransportError:
            break
        body = json_object(exchange)
        if exchange.status in (200, 201) and body and isinstance(body.get("access_token"), str):
            ctx.probe.registry.add(body["access_token"])
            return Finding(
                Status.FAIL, f"POST {base}/auth/token answered {answered}, but POST {mount}/auth/token issued a token: "
                             f"this Airflow is served under {urlsplit(mount).path or '/'}",
                explanation=f"The UI at this host is mounted at {mount} ([api] base_url), and so is its token "
                            f"endpoint; the profile's url reaches the API through another route that does not carry "
                            f"/auth/token. Use the mounted address for both.",
                fix=Fix(f"Use {mount} as the profile's url and the script's base URL:", (f"url: {mount}",), DOCS_V3),
                why_ui_works="The UI logs in at its own address, under the sub-path it is served from.")
    return Finding(
        Status.FAIL, f"POST {base}/auth/token answered {answered}, and no sub-path named by this host's pages "
                     "serves a token endpoint",
        explanation="Every Airflow 3 auth manager serves POST /auth/token next to /api/v2, under the deployment's "
                    "[api] base_url. Here the API answers but the token endpoint does not: a proxy routes only /api/ "
                    "to Airflow, or the deployment is mounted under a sub-path the pages did not reveal; managed "
                    "platforms issue their own tokens instead.",
        fix=Fix("Find the address where the UI's login page opens and use it (its sub-path included) as the url; on "
                "a managed platform, use its token with auth type token.",
                ("auth:\n  type: token\n  token: ${AIRFLOW_TOKEN}",), DOCS_V3),
        why_ui_works="The UI logs in through its own route (its login page's address), which the script's url misses.")


def token_mounts(ctx: CheckContext) -> list[str]:
    """Base urls other than the profile's where this host's pages say Airflow is mounted."""
    base = ctx.facts.base_url
    origin = origin_of(base)
    prefixes: list[str] = []
    for page in dict.fromkeys((base + "/", origin + "/")):
        try:
            prefixes += mount_hints(ctx.probe.get(page))
        except TransportError:
            break
    mounts = [origin + p for p in dict.fromkeys([*prefixes, "", "/airflow"])]
    return [m for m in mounts if m != base][:4]


def _v3_bearer(ctx: CheckContext, token: Secret, obtained: bool) -> Finding:
    facts = ctx.facts
    claims = decode_jwt(token.reveal())
    facts.claims = claims
    notes = [f"token claims: {claims.describe()}"] if claims else ["the token is not a JWT (an opaque platform token)"]
    credentials = token_credentials(ctx, token) if not obtained else Credentials(Scheme.BEARER, secret=token)
    trial = try_credentials(ctx, credentials)
    identity = claims.subject if claims else None
    if identity and identity.isdigit() and ctx.profile.auth.username:
        identity = f"{ctx.profile.auth.username} (user id {identity})"
    facts.role = claims.role if claims else None
    origin = "a token from /auth/token" if obtained else "the profile's token"
    if trial.accepted:
        if (split := _token_servers_disagree(ctx, credentials, 200, obtained)) is not None:
            return split
        return _accepted(ctx, credentials, f"Bearer JWT ({'from /auth/token' if obtained else 'pre-issued'})",
                         identity, notes)
    if (unanswered := _no_answer(trial)) is not None:
        return unanswered
    if not obtained and (platform := platform_token_refusal(ctx, token, trial)) is not None:
        return platform
    if (misfit := token_trust.refused_for_claims(ctx, origin, trial.response, claims, tuple(notes))) is not None:
        return misfit
    if is_token_expired(trial.status, trial.note):
        return token_expired(claims, origin, obtained, notes)
    if trial.response is not None and not airflows_own(trial.response):
        return front_refusal(ctx, trial)
    if trial.status == 401 and "not authenticated" in trial.note.lower():
        return _token_not_received(ctx, credentials, trial, origin, notes)
    if is_invalid_jwt(trial.status, trial.note):
        if (split := _token_servers_disagree(ctx, credentials, 403, obtained)) is not None:
            return split
        return invalid_jwt(claims, origin, obtained, notes)
    return bearer_refused(origin, f"GET {facts.api_path('/dags')}", trial.status, trial.note, notes)


def token_credentials(ctx: CheckContext, token: Secret) -> Credentials:
    """The profile's token as the script sends it: after 'Bearer', or alone (auth scheme none)."""
    return Credentials(Scheme.KEY if ctx.profile.auth.scheme == "none" else Scheme.BEARER, secret=token)


def platform_token_refusal(ctx: CheckContext, token: Secret, trial: Trial) -> Finding | None:
    """A refused token whose own claims or platform name the cause (a Google ID token, an Astronomer token)."""
    if (wrong_kind := composer.identity_token_sent(token.reveal(), trial)) is not None:
        return wrong_kind
    return astronomer.token_refused(ctx, token, trial)


def _token_servers_disagree(ctx: CheckContext, credentials: Credentials, first_status: int, obtained: bool
                            ) -> Finding | None:
    auth = ctx.profile.auth
    exchange = (auth.username or "", auth.password) if auth.type is AuthType.JWT and auth.password else (None, None)
    return token_trust.servers_disagree(ctx, credentials, first_status, obtained, *exchange)


def is_token_expired(status: int | None, detail: str) -> bool:
    return status == 401 and "expired" in detail.lower()


def is_invalid_jwt(status: int | None, detail: str) -> bool:
    return status == 403 and "invalid jwt" in detail.lower()


def token_expired(claims: JwtClaims | None, origin: str, obtained: bool, notes: list[str] | tuple[str, ...] = ()
                  ) -> Finding:
    """401 'Token Expired': what the refusal says by itself, with the expiry from the claims when the token is known."""
    expires = claims.expires_at() if claims else None
    when = f" (it expired at {expires:%Y-%m-%d %H:%M:%S} UTC)" if expires else ""
    return Finding(
        Status.FAIL, f"{origin} is expired{when}",
        explanation="Airflow 3 tokens are valid for [api_auth] jwt_expiration_time (24 h by default; CLI tokens "
                    "1 h). An integration that keeps one token for days starts getting 401 'Token Expired'."
                    + (" The server says the token it just issued is already expired: its clock, or a tiny "
                       "jwt_expiration_time, is the cause." if obtained else ""),
        fix=Fix("Get a fresh token from POST /auth/token before each batch of calls (or when a 401 says "
                "'Token Expired').", (FRESH_TOKEN,)), details=tuple(notes),
        why_ui_works="The UI fetches a new token at every login and renews it while the page is open; a script "
                     "that keeps one token outlives it.")


def bearer_refused(origin: str, request: str, status: int | None, detail: str,
                   notes: list[str] | tuple[str, ...] = ()) -> Finding:
    """A refusal of a Bearer token that names no known cause."""
    return Finding(Status.FAIL, f"{origin} was refused: {request} answered {status} ({detail})",
                   explanation="A Bearer token was sent and refused.", fix=None, details=tuple(notes),
                   why_ui_works="The UI holds its own token from its login, in the _token cookie.")


FRESH_TOKEN = ("python3 -c 'import json, os; print(json.dumps({\"username\": os.environ[\"AIRFLOW_USER\"], "
               "\"password\": os.environ[\"AIRFLOW_PASSWORD\"]}))' \\\n"
               "  | curl -sS -X POST \"$AIRFLOW_URL/auth/token\" -H 'Content-Type: application/json' -d @-")


def invalid_jwt(claims: JwtClaims | None, origin: str, obtained: bool, notes: list[str] | tuple[str, ...] = (),
                token_seen: bool = True) -> Finding:
    """403 'Invalid JWT token': the shared-secret advice only for a token this deployment issued. `token_seen` is
    False when only the answer is known (explain): then a missing claim says nothing about the token."""
    why_ui = "The UI logged in at this server's own /auth/token, so its token is signed with this server's secret."
    if claims is None and token_seen:
        return Finding(
            Status.FAIL, f"{origin} is not a JWT at all, and Airflow 3 accepts only JWTs it signed itself "
                         "(403 Invalid JWT token)",
            explanation="The value does not have a JWT's three dot-separated parts, so it is no Airflow 3 token: "
                        "perhaps an API key, a platform token, or an Airflow 2 password. Nothing on the server needs "
                        "to change; the client needs a token issued by this server.",
            fix=Fix("Get a fresh token from this server (or let the doctor do it: auth type jwt with username and "
                    "password):", (FRESH_TOKEN, "auth:\n  type: jwt"), DOCS_V3),
            details=tuple(notes), why_ui_works=why_ui)
    if not obtained:
        claimed = f", or is for {token_trust.audience_and_issuer(claims)} that this server does not accept" \
            if claims is not None else ""
        return Finding(
            Status.FAIL, f"{origin} is rejected as 'Invalid JWT token' (403): it was signed by another deployment or "
                         f"with another secret than this server's{claimed}",
            explanation="The server could not verify the token's signature or claims. A token issued by another "
                        "Airflow deployment (another environment, a re-created one) is refused this way; so is one "
                        "from an api-server replica whose [api_auth] jwt_secret, jwt_issuer or jwt_audience differ. "
                        "Only a token issued by this server now tells which: if a fresh one works, the old one came "
                        "from elsewhere; the issuer and audience it carries are the ones this server accepts (the "
                        "second command prints them, not the token).",
            fix=Fix("Get a fresh token from this server's /auth/token (auth type jwt lets the doctor try it):",
                    (FRESH_TOKEN, "auth:\n  type: jwt", FRESH_TOKEN + token_trust.PRINT_ISSUER_AUDIENCE), DOCS_V3),
            details=tuple(notes), why_ui_works=why_ui)
    return Finding(
        Status.FAIL, f"{origin} is rejected as 'Invalid JWT token' (403): the api-server that issued it and the one "
                     "that checked it do not share a signing secret",
        explanation="The token was issued by this same server moments ago, so the api-server that issued it and the "
                    "one that checked it do not share a signing secret: several api-server workers or replicas each "
                    "generated their own [api_auth] jwt_secret (or differ in jwt_issuer / jwt_audience).",
        fix=Fix("Give every api-server the same secret (Helm: jwtSecret) and restart them. Changing the secret "
                "invalidates every token issued so far: every client must fetch a new one.",
                ("[api_auth]\njwt_secret = <one long random value shared by all api-servers>",
                 "AIRFLOW__API_AUTH__JWT_SECRET=<the same value everywhere>"),
                "https://github.com/apache/airflow/issues/49871"),
        details=tuple(notes),
        why_ui_works="The browser stays on the api-server that logged it in (one connection, often a sticky session).")


def _token_not_received(ctx: CheckContext, credentials: Credentials, trial: Trial, origin: str,
                        notes: list[str]) -> Finding:
    """401 'Not authenticated' to a request that carried a token: Airflow saw no Authorization header at all."""
    token = credentials.secret
    assert token is not None
    try:
        as_cookie = str(read_dags(ctx, Credentials(Scheme.NONE), cookies={"_token": token.reveal()}).status)
    except TransportError:
        as_cookie = "no answer"
    request = f"GET {ctx.facts.api_path('/dags')}"
    return authorization_not_received(origin, request, trial.status, trial.note, _front_of(ctx, trial), as_cookie,
                                      notes)


def authorization_not_received(origin: str, request: str, status: int | None, detail: str, front: str | None,
                               as_cookie: str, notes: list[str] | tuple[str, ...] = ()) -> Finding:
    """Airflow 3's 401 'Not authenticated' to a request that carried a token; `as_cookie` is what the same token got
    as the UI's cookie (its status, 'no answer' or 'not tried')."""
    through = f" ({front})" if front else ""
    proven = as_cookie == "200"
    return Finding(
        Status.FAIL, f"the Authorization header does not reach Airflow: {origin} was sent, and Airflow answered "
                     "401 'Not authenticated', its answer to a request with no token"
                     + ("; the same token sent as the UI's cookie is accepted" if proven else ""),
        explanation=f"Airflow 3 answers a token it cannot verify with 403 'Invalid JWT token' and an expired one with "
                    f"401 'Token Expired'; 'Not authenticated' means no Bearer token arrived. Something between this "
                    f"machine and Airflow{through} removes or replaces the Authorization header: a proxy doing its own "
                    f"authentication, or one told to drop the header."
                    + (" The same token sent as the _token cookie (as the UI sends it) was accepted, so the token "
                       "itself is good." if proven else ""),
        fix=Fix("Make the proxy pass the Authorization header on to the api-server (nginx: this line, in the location "
                "that proxies Airflow, instead of any proxy_set_header Authorization \"\"); then the same script works "
                "unchanged:", PASS_AUTHORIZATION[:1], DOCS_V3),
        details=(*notes, f"{request} with the token as Bearer: {status} ({detail})",
                 f"the same with the token as the _token cookie: {as_cookie}"),
        why_ui_works="The UI sends its token in the _token cookie, which the proxy passes; only the Authorization "
                     "header a script uses is lost.")


def _v3_basic_profile(ctx: CheckContext) -> Finding:
    """Basic auth sent to Airflow 3: say it is ignored, and whether the same credentials would get a token."""
    auth = ctx.profile.auth
    assert auth.password is not None
    basic = Credentials(Scheme.BASIC, auth.username or "", auth.password, auth.encoding)
    trial = try_credentials(ctx, basic)
    if trial.accepted:
        return _accepted(ctx, basic, "Basic auth (accepted by something in front of Airflow 3)", auth.username, [])
    if (unanswered := _no_answer(trial)) is not None:
        return unanswered
    exchange = exchange_token(ctx, auth.username or "", auth.password)
    if exchange.token is not None:
        verdict = "the same credentials do get a token from /auth/token"
    elif exchange.response is not None:
        verdict = f"and /auth/token refuses the same credentials too ({exchange.response.status})"
    else:
        assert exchange.failure is not None
        verdict = f"and whether the same credentials get a token is unknown ({what_happened(exchange.failure)})"
    return basic_ignored_v3(f"{trial.status} {trial.note}", verdict, exchange.token is not None)


def basic_ignored_v3(answer: str, verdict: str, token_issued: bool) -> Finding:
    """Basic auth sent to Airflow 3's API: `answer` is its refusal, `verdict` what /auth/token said to the same
    credentials (or that it was not asked)."""
    return Finding(
        Status.FAIL, f"Airflow 3 does not accept Basic auth ({answer}); {verdict}",
        explanation="Airflow 3's /api/v2 only accepts a JWT as 'Authorization: Bearer'. Scripts written for Airflow 2 "
                    "send Basic auth and get 401 'Not authenticated'. The browser works because the UI logs in "
                    "through /auth/token and keeps the token in a cookie.",
        fix=Fix("Exchange the credentials for a token, then send it as a Bearer token (profile: auth type jwt):",
                ("python3 -c 'import json, os; print(json.dumps({\"username\": os.environ[\"AIRFLOW_USER\"], "
                 "\"password\": os.environ[\"AIRFLOW_PASSWORD\"]}))' \\\n"
                 "  | curl -sS -X POST \"$AIRFLOW_URL/auth/token\" -H 'Content-Type: application/json' -d @-",
                 "auth:\n  type: jwt"), DOCS_V3),
        why_ui_works="The UI logs in through /auth/token and keeps the token in the _token cookie; Basic auth is "
                     "Airflow 2's way and Airflow 3 ignores it.", code=AUTH_SCHEME if token_issued else "")
