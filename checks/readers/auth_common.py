"""What the Airflow 2 and Airflow 3 readings of API authentication share: the accepted finding, a request that got
no answer, a server error while authenticating, replicas that disagree, a refusal by whatever stands in front of
Airflow, an Authorization header that never arrives, and a platform's own reading of a refused token.

auth_airflow2 and auth_airflow3 both import this module and never each other; platform findings (MWAA) read a server
error with it too, so it imports no check and no MWAA finding.
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from urllib.parse import urlsplit

from airflow_doctor.checks.base import CheckContext, error_detail, read_dags, try_credentials
from airflow_doctor.checks.readers.credentials import Credentials, Scheme, Trial
from airflow_doctor.checks.readers.front import AIRFLOW_SERVERS, front_label, intermediary, proxy_realm
from airflow_doctor.checks.readers.gateway import transport_finding
from airflow_doctor.model import Finding, FindingCode, Fix, Status
from airflow_doctor.platforms import astronomer
from airflow_doctor.platforms.composer import findings as composer
from airflow_doctor.probe import ProbeResponse, TransportError
from airflow_doctor.secrets import Secret

DOCS_V2 = "https://airflow.apache.org/docs/apache-airflow/2.10.5/security/api.html"
DOCS_V3 = "https://airflow.apache.org/docs/apache-airflow/stable/security/api.html"
NOT_ANSWERED_UI = ("If the UI loads at the same time, it goes another way (another network, proxy or address) or the "
                   "failure comes and goes: this request got no answer at all, so no credential was judged.")
NOT_JUDGED = ("The request got no answer, so the server never judged the credentials: nothing is known yet about the "
              "password, the token or the auth backend.")


class Code(FindingCode):
    ACCEPTED = "credentials-accepted", "the API read with the profile's credentials answered 200"
    REQUEST_AUTH_SCHEME = ("request-auth-scheme", "the script sends the scheme the other Airflow generation takes "
                           "(Basic to Airflow 3, a token to Airflow 2): the request that works is the fix")
    SERVER_ERROR = "auth-server-error", "the server answered 5xx while authenticating; its log has the traceback"
    SERVERS_DISAGREE = ("web-servers-disagree", "the same credentials are accepted by some requests and refused by "
                        "others: replicas behind one address are configured differently")
    REFUSED_IN_FRONT = ("refused-in-front-of-airflow", "the 401/403 is not in Airflow's shape: a proxy or gateway in "
                        "front of Airflow refused, and the credentials never reached Airflow")
    ANONYMOUS_ACCESS = ("anonymous-api-access", "security: the API accepts requests without credentials (Airflow 2's "
                        "AUTH_ROLE_PUBLIC, Airflow 3's [core] simple_auth_manager_all_admins)")
    TOKEN_HEADER_DROPPED = ("token-header-dropped", "Airflow 3 answered 'Not authenticated' to a request that carried "
                            "a token: something in front removes the Authorization header")


def accepted(ctx: CheckContext, credentials: Credentials, scheme_label: str, identity: str | None,
             notes: list[str]) -> Finding:
    """The API read passed: the facts later checks send with (credentials, scheme, identity), and the PASS."""
    ctx.facts.credentials = credentials
    ctx.facts.auth_scheme = scheme_label
    ctx.facts.identity = identity
    who = f" as {identity}" if identity else ""
    return Finding(Status.PASS, f"{scheme_label} accepted{who}: GET {ctx.facts.api_path('/dags')} answered 200",
                   details=tuple(notes), code=Code.ACCEPTED)


ANONYMOUS_V2 = ("AUTH_ROLE_PUBLIC in webserver_config.py",
                "Airflow 2 gives every caller without credentials the role AUTH_ROLE_PUBLIC names (FAB's public role), "
                "and this API read answered 200 to a request that carried none",
                "Remove AUTH_ROLE_PUBLIC from webserver_config.py (or set it to a role without DAG access) and restart "
                "the web server; then give the script its own user (auth type basic).",
                ("# webserver_config.py: delete this line\nAUTH_ROLE_PUBLIC = ...",
                 "auth:\n  type: basic\n  username: <user>\n  password: ${AIRFLOW_PASSWORD}"))
ANONYMOUS_V3 = ("[core] simple_auth_manager_all_admins",
                "Airflow 3's simple auth manager in all-admins mode makes every caller admin, with or without "
                "credentials (/auth/token issues an admin token named 'Anonymous' whatever it is sent); it is meant "
                "for local development only",
                "Turn all-admins mode off and restart the api-server; list the users in [core] "
                "simple_auth_manager_users (or use a production auth manager such as FAB) and give the script a user "
                "of its own (auth type jwt).",
                ("[core]\nsimple_auth_manager_all_admins = False",
                 "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=False"))


def anonymous_read(ctx: CheckContext) -> Finding | Trial:
    """A profile without credentials: the read without any. Its finding when that settles it (the API answered
    without credentials: a security warning; no answer at all), else the refusal for the caller to explain."""
    trial = try_credentials(ctx, Credentials(Scheme.NONE))
    if trial.accepted:
        return anonymous_access(ctx, Credentials(Scheme.NONE), "no credentials",
                                [f"GET {ctx.facts.api_path('/dags')} without credentials: 200"])
    return no_answer(trial) or trial


def anonymous_access(ctx: CheckContext, credentials: Credentials, scheme_label: str, notes: list[str]) -> Finding:
    """The API accepted a caller without credentials (or, on Airflow 3, issued the all-admins 'Anonymous' token):
    the later checks go on with it, and the report says, as a warning with its own code, that anyone who reaches
    the server may trigger (and change) anything, and which setting does it."""
    accepted(ctx, credentials, scheme_label, None if ctx.facts.major == 2 else "Anonymous", notes)
    setting, why, fix, lines = ANONYMOUS_V3 if (ctx.facts.major or 0) >= 3 else ANONYMOUS_V2
    return Finding(
        Status.WARN, f"security: the API accepts requests without credentials ({setting}): anyone who can reach "
                     "this server may trigger DAGs",
        explanation=f"{why}. Every request is authorized without a login: not only this script's trigger but any "
                    "client on the network may read and change DAGs, runs, variables and connections.",
        fix=Fix(fix, lines, DOCS_V3 if (ctx.facts.major or 0) >= 3 else DOCS_V2), details=tuple(notes),
        code=Code.ANONYMOUS_ACCESS)


def no_answer(trial: Trial) -> Finding | None:
    """A credential form that got no answer at all: the failure as it was, and no claim about the credentials."""
    if trial.status is not None or trial.failure is None:
        return None
    return replace(transport_finding(trial.failure, NOT_JUDGED), why_ui_works=NOT_ANSWERED_UI)


def server_error(response: ProbeResponse, what: str) -> Finding:
    """A 5xx to an authenticated request: the server's own failure, which says nothing about the credentials."""
    return Finding(Status.FAIL, f"{what} answered {response.status} ({error_detail(response, 120)})",
                   explanation="The server failed while authenticating. This is a server-side error, not a problem "
                               "with the credentials; the web server's log has the traceback.",
                   fix=Fix("Look at the web server's (Airflow 3: api-server's) log at the time of this run.", ()),
                   why_ui_works="A logged-in browser does not authenticate again on each request (it sends its session), "
                                "so it does not run the failing code; if the UI login fails too, it is the same error.",
                   code=Code.SERVER_ERROR)


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
                     "in; a script's requests are spread over all of them.", code=Code.SERVERS_DISAGREE)


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
                     "Airflow; the script is not.", code=Code.REFUSED_IN_FRONT)


def front_of(ctx: CheckContext, trial: Trial) -> str | None:
    """What the refused answer's headers (or the version answer's Server) say stands in front of Airflow."""
    front = intermediary(trial.response)
    if front is None and ctx.facts.server and not ctx.facts.server.lower().startswith(AIRFLOW_SERVERS):
        front = f"Server: {ctx.facts.server}"
    return front


PASS_AUTHORIZATION = ("proxy_set_header Authorization $http_authorization;", "WSGIPassAuthorization On")
PASS_AUTHORIZATION_TEXT = ("Make the proxy pass the Authorization header on to Airflow (nginx: the first line, in the "
                           "location that proxies Airflow, instead of any proxy_set_header Authorization \"\"; "
                           "Apache with mod_wsgi: the second); then the same script works unchanged")


def token_credentials(ctx: CheckContext, token: Secret) -> Credentials:
    """The profile's token as the script sends it: after 'Bearer', or alone (auth scheme none)."""
    return Credentials(Scheme.KEY if ctx.profile.auth.scheme == "none" else Scheme.BEARER, secret=token)


def platform_token_refusal(ctx: CheckContext, token: Secret, trial: Trial) -> Finding | None:
    """A refused token whose own claims or platform name the cause (a Google ID token, an Astronomer token)."""
    if (wrong_kind := composer.identity_token_sent(token.reveal(), trial)) is not None:
        return wrong_kind
    return astronomer.token_refused(ctx, token, trial)


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
                     "header a script uses is lost.", code=Code.TOKEN_HEADER_DROPPED)



class AuthManager(str, Enum):
    """Airflow 3's auth manager, as the server's own answers show it: the fixes for users, passwords and roles
    differ (FAB: `airflow users ...` / `airflow roles ...`; simple: [core] simple_auth_manager_users and its
    passwords file)."""

    FAB = "the FAB auth manager"
    SIMPLE = "the simple auth manager"
    SIMPLE_ALL_ADMINS = "the simple auth manager in all-admins mode"


def airflow3_auth_manager(ctx: CheckContext) -> AuthManager | None:
    """Which auth manager serves this Airflow 3, from evidence: a token's claims when one was issued (only the simple
    auth manager writes a 'role' claim; FAB's tokens carry the user id alone), else where GET /api/v2/auth/login
    redirects (the manager's login page: FAB '/auth/login/', simple '/auth/login', all-admins '/auth/token/login';
    read in apache-airflow-core 3.1-3.3 and the FAB provider). None: neither (another auth manager, or no answer)."""
    claims = ctx.facts.claims
    if claims is not None and claims.role:
        return AuthManager.SIMPLE
    try:
        response = ctx.probe.get("/api/v2/auth/login")
    except TransportError:
        return None
    return auth_manager_from_login_redirect(response.status, response.headers.get("Location", ""))


def auth_manager_from_login_redirect(status: int, location: str) -> AuthManager | None:
    if not 300 <= status < 400:
        return None
    path = urlsplit(location).path
    if path.endswith("/auth/login/"):
        return AuthManager.FAB
    if path.endswith("/auth/token/login"):
        return AuthManager.SIMPLE_ALL_ADMINS
    if path.endswith("/auth/login"):
        return AuthManager.SIMPLE
    return None
