"""Why Airflow 3 refuses a token that looks right: claims that do not fit the server's clock or configuration, and
api-servers behind one address that do not trust each other's tokens.

Airflow answers all of these alike (403 'Invalid JWT token'; 401 'Token Expired' past `exp`), so the cause is read
from evidence: the token's claims (decoded locally, never printed), the server's clock (the `Date` header of its
answer), this machine's clock, the claims of tokens the server issues now, and the same token sent again over new
connections (each may reach another api-server, as a script's requests do).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum

from airflow_doctor.checks.readers.clock import server_clock, span
from airflow_doctor.checks.readers.credentials import Credentials, JwtClaims, decode_jwt
from airflow_doctor.checks.base import CheckContext, error_detail, json_object
from airflow_doctor.probe import ProbeResponse, TransportError
from airflow_doctor.model import Finding, FindingCode, Fix, Status
from airflow_doctor.secrets import Secret

LEEWAY = timedelta(seconds=10)
"""[api_auth] jwt_leeway's default: Airflow tolerates this much clock difference on exp, nbf and iat."""
REQUIRED_CLAIMS = ("exp", "iat", "nbf")
"""Claims Airflow 3 requires in every token it accepts (its JWTValidator's required_claims)."""
CLOCKS_AGREE = LEEWAY
"""Two clocks closer than this are taken as agreeing: Airflow tolerates such a difference anyway, and a Date header
(one-second resolution, stamped before the answer travels) cannot measure less."""
SPREAD_READS = 3
"""How often a token is sent again, each time over a new connection: a balancer spreads new connections over the
api-servers behind it, as it spreads a script's requests."""
NEW_CONNECTION = {"Connection": "close"}
DOCS_JWT = "https://airflow.apache.org/docs/apache-airflow/stable/configurations-ref.html#api-auth"
NTP_FIX = ("date -u; curl -sI \"$AIRFLOW_URL/api/v2/version\" | grep -i '^date:'",
           "timedatectl set-ntp true   # or: chronyc makestep")
SHARED_SECRET = ("[api_auth]\njwt_secret = <one long random value, the same on every api-server>",
                 "AIRFLOW__API_AUTH__JWT_SECRET=<the same value everywhere>")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _instant(claims: JwtClaims, name: str) -> datetime | None:
    value = claims.claims.get(name)
    return datetime.fromtimestamp(value, timezone.utc) if isinstance(value, (int, float)) else None


class Misfit(str, Enum):
    NOT_YET_VALID = "not-yet-valid"
    EXPIRED = "expired"
    MISSING = "missing"


@dataclass(frozen=True)
class ClaimMisfit:
    """One claim of a token that the server's clock or configuration does not accept."""

    kind: Misfit
    claim: str
    said: str
    """The claim's fit in words ('its nbf is 5 min ahead of the server's clock')."""
    offset: timedelta | None = None
    """For a time claim: how far it is from the server's clock (positive: in the server's future)."""


class Code(FindingCode):
    NOT_YET_VALID = ("token-not-yet-valid", "the token's nbf/iat lie in the server's future: the issuer's clock runs "
                     "ahead")
    EXPIRED_BY_SKEW = ("token-expired-clock-skew", "401 'Token Expired' for a token this machine's clock says is "
                       "still valid: the clocks disagree")
    CLAIMS_MISSING = "token-claims-missing", "the token lacks exp, iat or nbf, which Airflow 3 requires"
    OTHER_PROVIDER = ("token-from-other-identity-provider", "a token whose issuer is another identity provider (its "
                      "iss names another host): Airflow's API accepts only tokens its own auth manager issues")
    SERVERS_DISTRUST = ("api-servers-distrust-tokens", "api-servers behind one address refuse each other's tokens: "
                        "no shared jwt_secret (or different issuer/audience)")


CLAIM_NAMES = {"nbf": "nbf (not before)", "iat": "iat (issued at)", "exp": "exp (expires)"}


def claim_misfits(claims: JwtClaims, server_now: datetime | None) -> list[ClaimMisfit]:
    """The claims that do not fit: required ones missing, and times outside the server's clock (beyond the leeway)."""
    found = [ClaimMisfit(Misfit.MISSING, name, f"it has no {name} claim, which Airflow requires in every token")
             for name in REQUIRED_CLAIMS if name not in claims.claims]
    if server_now is not None:
        for name in ("nbf", "iat"):
            when = _instant(claims, name)
            if when is not None and when - server_now > LEEWAY:
                found.append(ClaimMisfit(Misfit.NOT_YET_VALID, name, f"its {CLAIM_NAMES[name]} is "
                                         f"{span(when - server_now)} ahead of the server's clock", when - server_now))
        expires = _instant(claims, "exp")
        if expires is not None and server_now - expires > LEEWAY:
            found.append(ClaimMisfit(Misfit.EXPIRED, "exp", f"its {CLAIM_NAMES['exp']} is {span(server_now - expires)} "
                                     "behind the server's clock", expires - server_now))
    return found


def _clock_note(server_now: datetime, local_now: datetime) -> tuple[str, timedelta]:
    skew = local_now - server_now
    if abs(skew) <= CLOCKS_AGREE:
        return "this machine's clock agrees with the server's", skew
    return f"this machine's clock is {span(skew)} {'ahead of' if skew > timedelta(0) else 'behind'} the server's", skew


def not_yet_valid(origin: str, answer: str, misfits: list[ClaimMisfit], claims: JwtClaims, server_now: datetime,
                  local_now: datetime, notes: tuple[str, ...]) -> Finding:
    """A token whose nbf/iat lie in the server's future: the clock of whoever issued it runs ahead."""
    worst = max(misfits, key=lambda m: m.offset or timedelta(0))
    assert worst.offset is not None
    clock, skew = _clock_note(server_now, local_now)
    issued_here = abs(skew - worst.offset) <= CLOCKS_AGREE and abs(skew) > CLOCKS_AGREE
    who = ("this machine's clock, which issued it by its own time, is" if issued_here
           else "the clock of whoever issued it was")
    return Finding(
        Status.FAIL, f"{origin} is not valid yet by the server's clock ({answer}): {worst.said} "
                     f"(server's Date: {server_now:%Y-%m-%d %H:%M:%S} UTC), so {who} {span(worst.offset)} ahead",
        explanation=f"Airflow 3 refuses a token whose nbf or iat lies in its future (beyond [api_auth] jwt_leeway, "
                    f"10 s by default) with the same 403 'Invalid JWT token' as a forged one. The signature is not "
                    f"the problem: the clocks are. {clock.capitalize()}. A new token from the same issuer is refused "
                    f"the same way until the clocks agree.",
        fix=Fix("Set the clock that is wrong right (NTP on the machine that issued the token, or on the api-server); "
                "compare the two clocks first:", NTP_FIX, DOCS_JWT),
        details=(*notes, f"the server's Date: {server_now:%Y-%m-%d %H:%M:%S} UTC; this machine: "
                         f"{local_now:%Y-%m-%d %H:%M:%S} UTC", *(m.said for m in misfits)),
        why_ui_works="The UI's token is issued by the api-server itself at login, stamped with the server's own clock, "
                     "so its nbf and iat always fit; only a token issued by another clock does not.",
        code=Code.NOT_YET_VALID)


def expired_by_skew(origin: str, answer: str, claims: JwtClaims, server_now: datetime, local_now: datetime,
                    notes: tuple[str, ...]) -> Finding | None:
    """401 'Token Expired' for a token that this machine's clock says is still valid: the clocks disagree."""
    expires = _instant(claims, "exp")
    if expires is None or local_now - expires > -LEEWAY or server_now - expires <= LEEWAY:
        return None
    clock, _ = _clock_note(server_now, local_now)
    return Finding(
        Status.FAIL, f"{origin} is expired by the server's clock but not by this machine's ({answer}): "
                     f"{clock} (its exp is {expires:%Y-%m-%d %H:%M:%S} UTC, the server's Date "
                     f"{server_now:%Y-%m-%d %H:%M:%S} UTC)",
        explanation=f"Airflow compares exp with its own clock. By this machine's clock the token is valid for "
                    f"{span(expires - local_now)} more, so a script that renews its token by its own clock renews "
                    f"too late, and every request in between gets 401 'Token Expired'. A new token does not cure "
                    f"this: the clocks do.",
        fix=Fix("Set the clock that is wrong right (NTP), and renew the token whenever a 401 says 'Token Expired':",
                NTP_FIX, DOCS_JWT),
        details=(*notes, f"the server's Date: {server_now:%Y-%m-%d %H:%M:%S} UTC; this machine: "
                         f"{local_now:%Y-%m-%d %H:%M:%S} UTC"),
        why_ui_works="The UI gets its token from the api-server at login and the server judges it by the same clock "
                     "that stamped it; a script that schedules renewal by a skewed clock does not.",
        code=Code.EXPIRED_BY_SKEW)


def missing_claims(origin: str, answer: str, misfits: list[ClaimMisfit], notes: tuple[str, ...]) -> Finding:
    names = ", ".join(m.claim for m in misfits)
    return Finding(
        Status.FAIL, f"{origin} is refused for its claims ({answer}): it has no {names}, which Airflow 3 requires in "
                     "every token (exp, iat and nbf), so it is refused whatever its signature",
        explanation="Airflow 3 validates exp, iat and nbf as required claims and refuses a token without one as "
                    "'Invalid JWT token'. Tokens from /auth/token always carry them; this one was made by something "
                    "else.",
        fix=Fix("Use a token issued by this server's /auth/token (auth type jwt lets the doctor fetch one), or have "
                f"the issuer add {names}.", (), DOCS_JWT),
        details=(*notes, *(m.said for m in misfits)),
        why_ui_works="The UI's token comes from the api-server's own login, which always sets exp, iat and nbf.",
        code=Code.CLAIMS_MISSING)


def refused_for_claims(ctx: CheckContext, origin: str, response: ProbeResponse | None, claims: JwtClaims | None,
                       notes: tuple[str, ...]) -> Finding | None:
    """The claim the server could not accept, when the evidence names one; None when the claims fit."""
    if claims is None or response is None:
        return None
    server_now = server_clock(response)
    answer = f"{response.status} {error_detail(response, 80)!r}"
    misfits = claim_misfits(claims, server_now)
    if response.status == 401:
        return expired_by_skew(origin, answer, claims, server_now, utc_now(), notes) if server_now else None
    early = [m for m in misfits if m.kind is Misfit.NOT_YET_VALID]
    if early and server_now is not None:
        return not_yet_valid(origin, answer, early, claims, server_now, utc_now(), notes)
    missing = [m for m in misfits if m.kind is Misfit.MISSING]
    return missing_claims(origin, answer, missing, notes) if missing else None


# --- api-servers that do not trust each other's tokens ---------------------------------------------------

@dataclass(frozen=True)
class SpreadRead:
    status: int
    detail: str


def spread_reads(ctx: CheckContext, credentials: Credentials, times: int = SPREAD_READS) -> list[SpreadRead]:
    """The same read, each time over a new connection; stops at the first request that gets no answer."""
    reads: list[SpreadRead] = []
    for _ in range(times):
        try:
            response = ctx.probe.get(ctx.facts.api_path("/dags"), params={"limit": 1}, auth=credentials.auth(),
                                     headers=NEW_CONNECTION)
        except TransportError:
            break
        reads.append(SpreadRead(response.status, error_detail(response, 80)))
    return reads


def fresh_claims(ctx: CheckContext, username: str, password: Secret, times: int = SPREAD_READS) -> list[JwtClaims]:
    """The claims of tokens issued now, each over a new connection (so by whichever api-server answers)."""
    found: list[JwtClaims] = []
    for _ in range(times):
        try:
            response = ctx.probe.post("/auth/token", json={"username": username, "password": password.reveal()},
                                      headers=NEW_CONNECTION)
        except TransportError:
            break
        body = json_object(response)
        token = body.get("access_token") if body else None
        if isinstance(token, str) and (claims := decode_jwt(token)) is not None:
            ctx.probe.registry.add(token)
            found.append(claims)
    return found


def _distrusted(read: SpreadRead) -> bool:
    """Airflow 3's refusal of a token it cannot verify (not an outage or a gateway's answer)."""
    return read.status == 403 and "invalid jwt" in read.detail.lower()


def _tally(statuses: list[int]) -> str:
    counts = Counter(statuses)
    return ", ".join(f"{counts[s]}x {s}" for s in sorted(counts))


def _differing(issued: list[JwtClaims]) -> list[str]:
    """Which of aud / iss differ between tokens issued by the api-servers behind one address."""
    out = []
    for name, label in (("aud", "audience"), ("iss", "issuer")):
        values = {repr(c.claims.get(name)) for c in issued}
        if len(values) > 1:
            out.append(f"{label} ({name}): {' vs '.join(sorted(values))}")
    return out


def servers_disagree(ctx: CheckContext, credentials: Credentials, first_status: int, obtained: bool,
                     username: str | None = None, password: Secret | None = None) -> Finding | None:
    """The same token sent over new connections: accepted by some api-servers and refused by others names
    api-servers that do not share their token settings. None when every read agrees with the first."""
    reads = spread_reads(ctx, credentials)
    statuses = [first_status, *(r.status for r in reads)]
    refusals = [r for r in reads if _distrusted(r)]
    if 200 not in statuses or not (refusals or first_status == 403):
        return None
    refused_with = f"{refusals[0].status} {refusals[0].detail!r}" if refusals else f"{first_status}"
    issued = fresh_claims(ctx, username, password) if username is not None and password is not None else []
    differ = _differing(issued)
    token = "a token this server just issued" if obtained else "the profile's token"
    cause = (f"the api-servers issue tokens with different claims ({'; '.join(differ)})" if differ else
             "the api-servers behind this address do not share [api_auth] jwt_secret")
    return Finding(
        Status.FAIL, f"{token} is accepted by some requests and refused by others ({_tally(statuses)} over "
                     f"{len(statuses)} reads, each on a new connection): {cause}",
        explanation="Several api-servers (replicas, or processes on several hosts) answer at this address and do not "
                    "trust each other's tokens: each signs with its own [api_auth] jwt_secret (Airflow generates one "
                    "when the setting is empty, and writes a new one into each fresh airflow.cfg), or they differ in "
                    "jwt_issuer / jwt_audience. A token from one is refused by another as 'Invalid JWT token', so a "
                    "script fails whenever its request lands on another api-server than the one that issued its "
                    f"token; a single request cannot show this. The refusal said: {refused_with}."
                    + (f" Tokens issued over new connections differ in {'; '.join(differ)}." if differ else
                       " Tokens issued over new connections carry the same claims, so it is the signing secret."
                       if issued else ""),
        fix=Fix("Give every api-server the same [api_auth] jwt_secret (Helm: jwtSecret)"
                + (", jwt_issuer and jwt_audience" if differ else "")
                + " and restart them; the change invalidates the tokens issued so far, so clients fetch new ones:",
                SHARED_SECRET, "https://github.com/apache/airflow/issues/49871"),
        details=tuple(f"read {i}: {s}" for i, s in enumerate(statuses, 1)) + tuple(
            f"token {i} issued now: {c.describe()}" for i, c in enumerate(issued, 1)),
        why_ui_works="The browser keeps its connection open to the api-server that logged it in (or a balancer's "
                     "sticky session keeps it there), so its _token cookie is always checked by the server that "
                     "signed it; a script opens new connections, and each may land on another api-server. (Behind a "
                     "balancer that spreads every request rather than every connection, the UI fails now and then "
                     "too.)",
        code=Code.SERVERS_DISTRUST)


PRINT_ISSUER_AUDIENCE = (" \\\n  | python3 -c 'import base64, json, sys; p = json.load(sys.stdin)[\"access_token\"].split(\".\")[1]; "
                         "c = json.loads(base64.urlsafe_b64decode(p + \"=\" * (-len(p) % 4))); "
                         "print({k: c.get(k) for k in (\"iss\", \"aud\")})'")
"""Appended to the fresh-token command: prints only the issuer and audience this server puts in its tokens."""


def audience_and_issuer(claims: JwtClaims) -> str:
    """The token's aud and iss as the headline names them ('no audience' when absent)."""
    parts = [f"{label} {claims.claims[name]!r}" if name in claims.claims else f"no {label}"
             for name, label in (("aud", "audience"), ("iss", "issuer"))]
    return " and ".join(parts)


def foreign_issuer(claims: JwtClaims | None, base_url: str) -> str | None:
    """The issuer of a token that another identity provider issued, from its claims (decoded locally): an `iss`
    that is a URL of another host than this Airflow's. Airflow's own tokens carry [api_auth] jwt_issuer, a plain
    name by default or none at all; a URL of this host is taken as this deployment's own."""
    from urllib.parse import urlsplit

    issuer = claims.claims.get("iss") if claims is not None else None
    if not isinstance(issuer, str) or not issuer.startswith(("https://", "http://")):
        return None
    host = urlsplit(issuer).hostname or ""
    return issuer if host and host != urlsplit(base_url).hostname else None


def other_provider(origin: str, answer: str, issuer: str, claims: JwtClaims, major: int | None,
                   notes: tuple[str, ...] = ()) -> Finding:
    """A refused token issued by another identity provider: name the issuer (never the token) and, per version,
    what this Airflow accepts instead."""
    audience = claims.claims.get("aud")
    issued_for = f" for audience {audience!r}" if audience else ""
    if (major or 0) >= 3:
        explanation = (f"The token was issued by {issuer}{issued_for}, not by this Airflow. Airflow 3's API accepts "
                       "only tokens its own auth manager issues, signed with [api_auth] jwt_secret (or "
                       "jwt_private_key_path) and carrying its jwt_issuer and jwt_audience; a token from a company "
                       "identity provider is refused as 'Invalid JWT token' even when that provider is how people "
                       "log in to the UI.")
        fix = Fix("Either exchange this deployment's credentials for its own token at POST /auth/token (the "
                  "profile's auth type jwt does it), or run an auth manager that logs users in through that provider "
                  "(the Keycloak auth manager for Keycloak, the AWS auth manager for IAM Identity Center, FAB with "
                  "OAuth for others): the script then still gets its API token from this Airflow's /auth/token, not "
                  "from the provider.", ("auth:\n  type: jwt\n  username: <user>\n  password: ${AIRFLOW_PASSWORD}",),
                  "https://airflow.apache.org/docs/apache-airflow/stable/security/api.html")
        ui = ("The UI logs in (through the provider, if the auth manager uses one) and then holds a token this Airflow "
              "issued, in its _token cookie; the provider's own token never reaches the API.")
    else:
        explanation = (f"The token was issued by {issuer}{issued_for}, not by this Airflow. Airflow 2's /api/v1 "
                       "accepts what [api] auth_backends lists: Basic auth, the UI's session, Kerberos, or a "
                       "provider's backend (Google ID tokens with airflow.providers.google.common.auth_backend."
                       "google_openid); no stock backend verifies another provider's bearer tokens.")
        fix = Fix("Use Basic auth with a database user (auth type basic), or add to [api] auth_backends a backend "
                  "that verifies this provider's tokens (Google: google_openid; others: a custom backend).",
                  ("auth:\n  type: basic\n  username: <user>\n  password: ${AIRFLOW_PASSWORD}",),
                  "https://airflow.apache.org/docs/apache-airflow/2.10.5/security/api.html")
        ui = ("The UI logs in through its own login page (with the provider, if FAB is set up for OAuth) and keeps a "
              "session cookie; the provider's token is never sent to the API.")
    return Finding(Status.FAIL, f"{origin} was issued by another identity provider ({issuer}) and refused ({answer}): "
                                "this Airflow accepts only tokens it issues itself" if (major or 0) >= 3 else
                                f"{origin} was issued by another identity provider ({issuer}) and refused ({answer}): "
                                "this Airflow's API backends do not verify that provider's tokens",
                   explanation=explanation, fix=fix, details=notes, why_ui_works=ui, code=Code.OTHER_PROVIDER)
