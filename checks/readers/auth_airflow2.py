"""Airflow 2's API authentication: Basic auth or a browser session, as [api] auth_backends allows.

An authenticated read of /api/v1/dags. On 401 the status and body never say why (a wrong password and a disabled
Basic backend answer byte for byte the same), so this reader reproduces what the browser does: it retries the same
credentials in the forms the server may expect, then logs in through the /login/ form with its CSRF token and reads
the API with that session. Which of these works names the cause; the explanation of each 401/403 sits next to the
evidence that selects it. A token or JWT profile sent to Airflow 2 is read here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum

from airflow_doctor.checks.base import CheckContext, error_detail, read_dags, try_credentials
from airflow_doctor.checks.readers.auth_common import (DOCS_V2, PASS_AUTHORIZATION, PASS_AUTHORIZATION_TEXT,
                                                       NOT_ANSWERED_UI, NOT_JUDGED, accepted, anonymous_read, front_of, front_refusal,
                                                       no_answer, platform_token_refusal, replicas_disagree,
                                                       token_credentials)
from airflow_doctor.checks.readers.auth_common import Code as AuthCode
from airflow_doctor.checks.readers import token_trust
from airflow_doctor.checks.readers.credentials import Credentials, Scheme, Trial, basic_variants, decode_jwt
from airflow_doctor.checks.readers.front import airflows_own, rate_limit
from airflow_doctor.checks.readers.gateway import transport_finding
from airflow_doctor.failures import what_happened
from airflow_doctor.model import Finding, FindingCode, Fix, Status
from airflow_doctor.platforms.composer import findings as composer
from airflow_doctor.probe import TransportError
from airflow_doctor.sources.profile import AuthType

BASIC_BACKEND = "airflow.api.auth.backend.basic_auth"
SESSION_BACKEND = "airflow.api.auth.backend.session"
BACKENDS_FIX = (f"[api]\nauth_backends = {BASIC_BACKEND},{SESSION_BACKEND}",
                f"AIRFLOW__API__AUTH_BACKENDS={BASIC_BACKEND},{SESSION_BACKEND}")


class Code(FindingCode):
    CREDENTIALS_REQUIRED = ("credentials-required", "the API refuses anonymous callers and the profile has no "
                            "credentials")
    NO_TOKEN_ENDPOINT = ("no-token-endpoint-on-airflow2", "a JWT profile on Airflow 2, which has no /auth/token, and "
                         "Basic auth with the same credentials is refused too (or could not be tried)")
    BASIC_IN_ANOTHER_FORM = ("basic-accepted-in-another-form", "Basic auth passes only with the credentials encoded "
                             "or trimmed otherwise than the script sends them")
    WEBSERVER_AUTH_ERROR = "webserver-auth-error", "Airflow 2's web server answered 5xx to Basic auth"
    NOT_AN_AUTH_ANSWER = ("not-an-auth-answer", "Basic auth got an answer that is neither 200 nor a refusal: "
                          "something else on the path answered")
    AUTHENTICATES_NOBODY = ("api-authenticates-nobody", "403 with and without credentials: the 'default' backend "
                            "authenticates nobody")
    MAY_NOT_READ = "user-may-not-read-dags", "the credentials are accepted but the user's roles may not read DAGs"
    BASIC_HEADER_DROPPED = ("basic-header-dropped", "the UI login works through the same proxy but Basic auth is "
                            "refused as if no Authorization header arrived")
    SESSION_ONLY = "basic-auth-not-enabled", "Airflow 2's [api] auth_backends has no Basic backend"
    OTHER_BACKEND = ("api-backend-not-password", "the UI login works but the API accepts neither Basic auth nor the "
                     "session: another backend (Kerberos, a cloud provider's)")
    WRONG_PASSWORD = "wrong-password", "Basic auth and the UI login form both refuse the credentials"
    SSO_ONLY = "sso-only-login", "the UI logs in through single sign-on only; SSO users have no password for Basic auth"
    BASIC_REFUSED = ("basic-auth-refused", "Airflow 2's 401 to Basic auth, with no UI login to tell a wrong password "
                     "from a disabled backend")


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
    trial = anonymous_read(ctx)
    if isinstance(trial, Finding):
        return trial
    return Finding(Status.FAIL, f"the API requires credentials, and the profile has none ({trial.status}: {trial.note})",
                   explanation="The browser is logged in with a session cookie; a script must authenticate itself.",
                   fix=Fix("Add credentials to the profile (auth type basic with a user that can log in to the UI).",
                           ("auth:\n  type: basic\n  username: <user>\n  password: ${AIRFLOW_PASSWORD}",), DOCS_V2),
                   why_ui_works="The browser logged in once and sends its session cookie with every request.",
                   code=Code.CREDENTIALS_REQUIRED)


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
                                "for a token.",
                   code=AuthCode.REQUEST_AUTH_SCHEME if trial.accepted else Code.NO_TOKEN_ENDPOINT)


def _v2_bearer(ctx: CheckContext) -> Finding:
    token = ctx.profile.auth.token
    assert token is not None
    credentials = token_credentials(ctx, token)
    trial = try_credentials(ctx, credentials)
    if trial.accepted:
        return accepted(ctx, credentials, "Bearer token" if credentials.scheme is Scheme.BEARER else "API key", None,
                        ["a token backend is configured (managed platforms: Composer, Astronomer)"])
    if (unanswered := no_answer(trial)) is not None:
        return unanswered
    if (platform := platform_token_refusal(ctx, token, trial)) is not None:
        return platform
    claims = decode_jwt(token.reveal())
    if (issuer := token_trust.foreign_issuer(claims, ctx.facts.base_url)) is not None and claims is not None:
        return token_trust.other_provider("the profile's token", f"{trial.status} {trial.note}", issuer, claims, 2,
                                          (f"token claims: {claims.describe()}",))
    return Finding(Status.FAIL, f"the bearer token was refused ({trial.status}: {trial.note})",
                   explanation="Stock Airflow 2 accepts no bearer tokens on /api/v1: only Basic auth and browser "
                               "sessions, as [api] auth_backends allows. Managed platforms add their own token "
                               "backend (Cloud Composer: a Google access token; Astronomer: a deployment API token); "
                               "there, a refused token is expired, for another deployment, or lacks a role.",
                   fix=Fix("On self-hosted Airflow 2 use auth type basic; on a managed platform issue a fresh token "
                           "for this deployment.", ()),
                   why_ui_works="The UI uses the session cookie of its own login (or the platform's), not a bearer token.",
                   code=AuthCode.REQUEST_AUTH_SCHEME)


def _v2_basic(ctx: CheckContext) -> Finding:
    auth = ctx.profile.auth
    assert auth.password is not None
    as_sent = Credentials(Scheme.BASIC, auth.username or "", auth.password, auth.encoding)
    first = try_credentials(ctx, as_sent)
    if first.accepted:
        return accepted(ctx, as_sent, "Basic auth", auth.username, [])
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
                                    "the failing authentication code.", code=Code.WEBSERVER_AUTH_ERROR)
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
                                       "sends by default; credential-encoding explains the difference.",
                           code=Code.BASIC_IN_ANOTHER_FORM)
        tried.append(trial)

    refusal = next((t for t in tried if t.status in refusals), None)
    if refusal is None:
        return _never_refused(tried)
    login = reproduce_browser_login(ctx, (auth.username or "").strip(), auth.password.reveal().strip())
    if refusal.status == 403 and login.outcome is LoginOutcome.NOT_REPRODUCED:
        return _authenticates_nobody()
    return _explain_v2_401(ctx, refusal, login)


def _not_an_auth_answer(trial: Trial) -> Finding:
    return Finding(Status.FAIL, f"GET /api/v1/dags with Basic auth answered {trial.status} ({trial.note})",
                   explanation="Airflow answers an authentication problem with 401; this answer comes from "
                               "something else on the path.", fix=None,
                   why_ui_works="The browser goes through whatever answered here with its own cookies or login.",
                   code=Code.NOT_AN_AUTH_ANSWER)


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
                                "the REST API's auth backends.", code=Code.AUTHENTICATES_NOBODY)


def _may_not_read(ctx: CheckContext, evidence: str) -> Finding:
    return Finding(Status.FAIL, f"{ctx.profile.auth.username} is authenticated but may not read DAGs (403)",
                   explanation=f"The credentials are accepted ({evidence}), but this user's "
                               "roles grant no 'can read on DAGs' permission, so the API refuses even the list.",
                   fix=Fix("Give the user a role with DAG access (User or Op), or per-DAG access_control for this "
                           "DAG.", (f"airflow users add-role -u {ctx.profile.auth.username} -r User",)),
                   why_ui_works="If the UI shows this DAG, it is logged in as another user (with more roles) than the "
                                "profile's.", code=Code.MAY_NOT_READ)


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
                     "both, and drops only the Authorization header a script uses.", code=Code.BASIC_HEADER_DROPPED)


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
        if session_read.status == 200 and (front := front_of(ctx, first)) is not None:
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
                             "session backend accepts; Basic auth is not among the enabled backends.",
                code=Code.SESSION_ONLY)
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
                         "auth backends.", code=Code.OTHER_BACKEND)
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
                         "another user or password (or through single sign-on).", code=Code.WRONG_PASSWORD)
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
                         "ever reaches Airflow.", code=Code.SSO_ONLY)
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
                     "could not be tried.", code=Code.BASIC_REFUSED)

