"""Airflow 3's API authentication: username and password exchanged at POST /auth/token for a JWT, sent as a Bearer
token to /api/v2.

The token's claims are decoded locally (never printed) to name the identity. A refusal is read from what Airflow 3
answers and from the claims: an expired token, one signed elsewhere or with another secret (token_trust reads the
clock and the replicas), a token endpoint served under another sub-path, an Authorization header that never arrives,
and Basic auth or no credentials sent to Airflow 3. explain rebuilds the same findings from a pasted answer.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from airflow_doctor.checks.base import (CheckContext, assume_base_url, assume_credentials, error_detail, json_object,
                                        read_dags, try_credentials)
from airflow_doctor.checks.readers import token_trust
from airflow_doctor.checks.readers.auth_common import (DOCS_V3, NOT_ANSWERED_UI, NOT_JUDGED, AuthManager, accepted, anonymous_access, anonymous_read,
                                                       airflow3_auth_manager, authorization_not_received, front_of, front_refusal, no_answer,
                                                       platform_token_refusal, token_credentials)
from airflow_doctor.checks.readers.auth_common import Code as AuthCode
from airflow_doctor.checks.readers.credentials import Credentials, JwtClaims, Scheme, Trial, decode_jwt, stripped_secret
from airflow_doctor.checks.readers.front import airflows_own, mount_hints, origin_of
from airflow_doctor.checks.readers.gateway import transport_finding
from airflow_doctor.failures import what_happened
from airflow_doctor.model import Finding, FindingCode, Fix, Status
from airflow_doctor.platforms.composer import findings as composer
from airflow_doctor.probe import ProbeResponse, TransportError
from airflow_doctor.secrets import Secret
from airflow_doctor.sources.profile import AuthType


class Code(FindingCode):
    TOKEN_REQUIRED = "token-required", "Airflow 3's API refused a request that carried no token"
    WHITESPACE_STRIPPED = ("token-only-with-whitespace-stripped", "/auth/token issues a token only for the "
                           "credentials with surrounding whitespace removed")
    TOKEN_EXCHANGE_REFUSED = ("token-exchange-refused", "/auth/token answered 401: the username or password is wrong "
                              "for this server's auth manager")
    TOKEN_ENDPOINT_CRASHED = "token-endpoint-crashed", "/auth/token answered 5xx before it judged the credentials"
    TOKEN_REQUEST_REFUSED = ("token-request-refused", "/auth/token refused the request itself (neither 401 nor 5xx "
                             "nor missing)")
    TOKEN_ENDPOINT_MOUNTED_ELSEWHERE = ("token-endpoint-under-sub-path", "/auth/token is missing at the url but "
                                       "issues a token under the sub-path the UI is served from")
    TOKEN_ENDPOINT_MISSING = ("token-endpoint-missing", "/auth/token is missing at the url and under every sub-path "
                              "this host's pages name")
    TOKEN_EXPIRED = "token-expired", "Airflow 3 answered 401 'Token Expired'"
    BEARER_REFUSED = "bearer-refused", "a Bearer token was refused for no cause the answer names"
    NOT_A_JWT = "token-not-a-jwt", "403 'Invalid JWT token' to a value that is no JWT at all"
    SIGNED_ELSEWHERE = ("token-signed-elsewhere", "403 'Invalid JWT token' to a pre-issued token: another deployment "
                        "or another secret signed it")
    SECRET_NOT_SHARED = ("jwt-secret-not-shared", "403 'Invalid JWT token' to a token this server just issued: its "
                         "api-servers do not share a signing secret")
    BASIC_IGNORED = ("basic-auth-on-airflow3", "Basic auth sent to Airflow 3, and /auth/token does not issue a token "
                     "for the same credentials either (or was not asked)")


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
    trial = anonymous_read(ctx)
    if isinstance(trial, Finding):
        return trial
    return no_token_v3(f"{trial.status}: {trial.note}")


def no_token_v3(answer: str, sent: str = "the profile has no credentials") -> Finding:
    """Airflow 3's API refused a request that carried no token (`sent` says what it carried instead)."""
    return Finding(Status.FAIL, f"the API requires a token, and {sent} ({answer})",
                   explanation="Airflow 3's /api/v2 accepts a JWT sent as 'Authorization: Bearer'. Scripts get one by "
                               "posting username and password to /auth/token.",
                   fix=Fix("Give the profile auth type jwt with a username and password.",
                           ("auth:\n  type: jwt\n  username: <user>\n  password: ${AIRFLOW_PASSWORD}",), DOCS_V3),
                   why_ui_works="The UI logged in once and sends its token in the _token cookie.",
                   code=Code.TOKEN_REQUIRED)


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
                                   "where the whitespace comes from.", details=result.details,
                                   code=Code.WHITESPACE_STRIPPED)
                return result
        return credentials_refused(username.strip(), airflow3_auth_manager(ctx))
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
                         "the same way.", code=Code.TOKEN_ENDPOINT_CRASHED)
    if response.status in (404, 405) or response.is_html:
        return _token_endpoint_elsewhere(ctx, response, username, password)
    return Finding(Status.FAIL, f"POST /auth/token answered {response.status} ({error_detail(response, 120)})",
                   explanation="The token endpoint refused the request itself, not the credentials.", fix=None,
                   why_ui_works="The UI logs in through its own login page, not by posting JSON to /auth/token.",
                   code=Code.TOKEN_REQUEST_REFUSED)


PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
SHOW_PASSWORD = ("python3 -c 'import json, os, sys; path = os.environ.get(\"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE\") "
                 "or os.path.join(os.environ.get(\"AIRFLOW_HOME\", os.path.expanduser(\"~/airflow\")), "
                 f"\"{PASSWORDS_FILE}\"); print(json.load(open(path)).get(sys.argv[1], \"(not in \" + path + \")\"))' ")
"""Prints one user's password from the simple auth manager's passwords file (the file is read at every login), or
says the user is not in it; it reads the file the environment or AIRFLOW_HOME names, as Airflow does."""
WHY_UI_LOGIN = ("Whoever triggers from the UI logs in there with another user or password (or through single sign-on); "
                "/auth/token is the same check as the UI's login form.")


def credentials_refused(username: str, manager: AuthManager | None) -> Finding:
    """/auth/token's 401 'Invalid credentials', with the fix of the auth manager this server runs: FAB's users
    commands, or the simple auth manager's passwords file; both only when the manager was not told by the server."""
    user = username or "svc-trigger"
    summary = f"wrong username or password: /auth/token rejects them for {username!r} (401 Invalid credentials)"
    if manager is AuthManager.FAB:
        return Finding(
            Status.FAIL, summary,
            explanation="Airflow 3 exchanges username and password for a token at /auth/token, and this server's auth "
                        "manager (FAB: its login page is /auth/login/) refused them. Its users and passwords are "
                        "in Airflow's database (or LDAP), as on Airflow 2; SSO users have no password and cannot get "
                        "a token this way.",
            fix=Fix(f"Check the password the profile resolves to (airflow-doctor profiles show). If {username!r} "
                    "exists, an admin can set its password on the Airflow host (this replaces the password everyone "
                    "using this user has); or create a separate user for scripts (Viewer; the permissions check "
                    "then names the grant for the DAG):",
                    (f"airflow users reset-password --username {shlex.quote(user)} --password \"$AIRFLOW_PASSWORD\"",
                     "airflow users create --username svc-trigger --role Viewer --email svc-trigger@example.com "
                     "--firstname svc --lastname trigger --password \"$AIRFLOW_PASSWORD\""), DOCS_V3),
            why_ui_works=WHY_UI_LOGIN, code=Code.TOKEN_EXCHANGE_REFUSED)
    known = manager is AuthManager.SIMPLE
    which = ("this server runs the simple auth manager (its login page is /auth/login)" if known else
             "the auth manager could not be told from the server's answers: with the simple auth manager")
    return Finding(
        Status.FAIL, summary,
        explanation=f"Airflow 3 exchanges username and password for a token at /auth/token, and that exchange failed; "
                    f"{which}, the users are the entries of [core] simple_auth_manager_users (name:role; "
                    "'admin:admin' means user admin with role admin, not password admin) and each one's password is "
                    f"generated once, at the api-server's start, into $AIRFLOW_HOME/{PASSWORDS_FILE} (or the file "
                    "[core] simple_auth_manager_passwords_file names); the file is read at every login."
                    + ("" if known else " With the FAB auth manager, users and passwords are in Airflow's database: "
                       "`airflow users reset-password` sets one."),
        fix=Fix(f"Read {user}'s password from the passwords file on the Airflow host (the command prints it, or that "
                f"{user} is not in the file). Only if it is not there, add one entry {user}:user to [core] "
                "simple_auth_manager_users, keeping every existing entry (the setting is the whole list), and restart "
                "the api-server, which generates its password; never add a second entry for a user already listed "
                "(the first entry's role wins, and its password does not change).",
                (SHOW_PASSWORD + shlex.quote(user), f"{user}:user"), DOCS_V3),
        why_ui_works=WHY_UI_LOGIN, code=Code.TOKEN_EXCHANGE_REFUSED)


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
            assumed = assume_base_url(ctx, mount, Credentials(Scheme.BEARER, secret=Secret(body["access_token"])),
                                      f"the url is {mount}, where /auth/token issued the token the script sends")
            return replace(Finding(
                Status.FAIL, f"POST {base}/auth/token answered {answered}, but POST {mount}/auth/token issued a token: "
                             f"this Airflow is served under {urlsplit(mount).path or '/'}",
                explanation=f"The UI at this host is mounted at {mount} ([api] base_url), and so is its token "
                            f"endpoint; the profile's url reaches the API through another route that does not carry "
                            f"/auth/token. Use the mounted address for both.",
                fix=Fix(f"Use {mount} as the profile's url and the script's base URL:", (f"url: {mount}",), DOCS_V3),
                why_ui_works="The UI logs in at its own address, under the sub-path it is served from.",
                code=Code.TOKEN_ENDPOINT_MOUNTED_ELSEWHERE), assumed=assumed)
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
        why_ui_works="The UI logs in through its own route (its login page's address), which the script's url misses.",
        code=Code.TOKEN_ENDPOINT_MISSING)


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
        label = f"Bearer JWT ({'from /auth/token' if obtained else 'pre-issued'})"
        if obtained and claims is not None and claims.subject == "Anonymous" and (claims.role or "").lower() == "admin":
            return anonymous_access(ctx, credentials, label, [*notes, "/auth/token issued the all-admins mode's "
                                                                     "'Anonymous' admin token for these credentials"])
        return accepted(ctx, credentials, label, identity, notes)
    if (unanswered := no_answer(trial)) is not None:
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
        if not obtained and (issuer := token_trust.foreign_issuer(claims, facts.base_url)) is not None:
            assert claims is not None
            return token_trust.other_provider(origin, f"{trial.status} {trial.note}", issuer, claims, facts.major,
                                              tuple(notes))
        if (split := _token_servers_disagree(ctx, credentials, 403, obtained)) is not None:
            return split
        return invalid_jwt(claims, origin, obtained, notes)
    return bearer_refused(origin, f"GET {facts.api_path('/dags')}", trial.status, trial.note, notes)


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
                     "that keeps one token outlives it.", code=Code.TOKEN_EXPIRED)


def bearer_refused(origin: str, request: str, status: int | None, detail: str,
                   notes: list[str] | tuple[str, ...] = ()) -> Finding:
    """A refusal of a Bearer token that names no known cause."""
    return Finding(Status.FAIL, f"{origin} was refused: {request} answered {status} ({detail})",
                   explanation="A Bearer token was sent and refused.", fix=None, details=tuple(notes),
                   why_ui_works="The UI holds its own token from its login, in the _token cookie.",
                   code=Code.BEARER_REFUSED)


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
            details=tuple(notes), why_ui_works=why_ui, code=Code.NOT_A_JWT)
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
            details=tuple(notes), why_ui_works=why_ui, code=Code.SIGNED_ELSEWHERE)
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
        why_ui_works="The browser stays on the api-server that logged it in (one connection, often a sticky session).",
        code=Code.SECRET_NOT_SHARED)


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
    return authorization_not_received(origin, request, trial.status, trial.note, front_of(ctx, trial), as_cookie,
                                      notes)


def _v3_basic_profile(ctx: CheckContext) -> Finding:
    """Basic auth sent to Airflow 3: say it is ignored, and whether the same credentials would get a token."""
    auth = ctx.profile.auth
    assert auth.password is not None
    basic = Credentials(Scheme.BASIC, auth.username or "", auth.password, auth.encoding)
    trial = try_credentials(ctx, basic)
    if trial.accepted:
        return accepted(ctx, basic, "Basic auth (accepted by something in front of Airflow 3)", auth.username, [])
    if (unanswered := no_answer(trial)) is not None:
        return unanswered
    exchange = exchange_token(ctx, auth.username or "", auth.password)
    assumed = None
    if exchange.token is not None:
        verdict = "the same credentials do get a token from /auth/token"
        assumed = assume_credentials(ctx, Credentials(Scheme.BEARER, secret=exchange.token),
                                     "the script sends a token from /auth/token as Bearer instead of Basic auth")
    elif exchange.response is not None:
        verdict = f"and /auth/token refuses the same credentials too ({exchange.response.status})"
    else:
        assert exchange.failure is not None
        verdict = f"and whether the same credentials get a token is unknown ({what_happened(exchange.failure)})"
    return replace(basic_ignored_v3(f"{trial.status} {trial.note}", verdict, exchange.token is not None),
                   assumed=assumed)


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
                     "Airflow 2's way and Airflow 3 ignores it.",
        code=AuthCode.REQUEST_AUTH_SCHEME if token_issued else Code.BASIC_IGNORED)

