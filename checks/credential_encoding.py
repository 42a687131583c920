"""credential-encoding: are the profile's credentials what the server will see?

Looks at the credentials locally first (characters a client encodes differently, whitespace from
secret files, a colon in a Basic username, values that are already encoded, a token with its own
'Bearer ' prefix, a token sent under the wrong scheme), then confirms with the server: the answers
auth-backend recorded for each form it tried, or, if it did not try, one read per suspect form.
It runs even when auth-backend failed, because it is often the explanation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_doctor.checks.readers.credentials import (Credentials, Scheme, basic_variants, decode_jwt, decodes_to_user_password, is_ascii,
                                 is_latin1)
from airflow_doctor.checks.base import ApiFlavour, CheckContext, Fact, Uses, try_credentials
from airflow_doctor.model import Finding, FindingCode, Fix, Status
from airflow_doctor.sources.profile import AuthType
from airflow_doctor.secrets import Secret

UTF8_UI = ("The browser, the UI login form and curl send the password as UTF-8 bytes, which is what Airflow "
           "decodes.")
UTF8_PYTHON = 'requests.get(url, auth=(user.encode("utf-8"), password.encode("utf-8")))'


class Code(FindingCode):
    ENCODED_BY_GOOGLE = "credentials-encoded-by-google-library", "a Google token: its client library encodes it"
    NO_CREDENTIALS = "no-credentials-to-encode", "the profile has no credentials"
    SIGNED_BY_BOTO3 = "credentials-signed-by-boto3", "AWS: boto3 signs each call, nothing is encoded by hand"
    ENCODE_CLEANLY = ("credentials-encode-cleanly", "the credentials hold nothing a client or server would encode "
                      "differently")
    NOT_LATIN1 = ("credentials-not-latin1", "characters outside latin-1, which requests cannot put in a Basic auth "
                  "header")
    NON_ASCII = ("credentials-non-ascii", "non-ASCII characters that requests sends as latin-1 and Airflow 2 decodes "
                 "as UTF-8")
    WHITESPACE = "credential-whitespace", "the username or password has a trailing newline or surrounding whitespace"
    COLON_IN_USERNAME = "colon-in-username", "a ':' in the username, which Basic auth cannot carry"
    PASSWORD_IS_BASIC_PAIR = ("password-is-basic-pair", "the password is a base64 'user:password' pair and would be "
                              "encoded twice")
    JWT_AS_PASSWORD = "jwt-as-password", "a JWT sent as a password"
    URL_ENCODED = "password-url-encoded", "the password holds %XX sequences: it may be URL-encoded"
    BEARER_PREFIX = "token-bearer-prefix", "the token starts with 'Bearer ', which the client adds again"
    TOKEN_WHITESPACE = "token-whitespace", "the token has surrounding whitespace or a trailing newline"
    TOKEN_IS_BASIC_PAIR = "token-is-basic-pair", "the token is a base64 'user:password' pair, not a token"


@dataclass
class Problem:
    code: Code
    summary: str
    explanation: str
    fix: Fix
    confirmed: bool | None = None
    """True: the server accepted the corrected form; False: it accepted the form as given; None: not tested."""
    why_ui_works: str = ""


class Check:
    id = "credential-encoding"
    title = "Credential encoding"
    requires = ("reachability",)
    uses = (Uses(Fact.API), Uses(Fact.TRIALS))
    """Without auth-backend's trials it sends the suspect forms itself, so a missing one is not worth a word."""
    provides = ()
    needs = "the profile's auth; the API flavour from reachability; the auth-backend trials, when it ran"

    def run(self, ctx: CheckContext) -> Finding:
        auth = ctx.profile.auth
        if auth.type is AuthType.GOOGLE:
            return Finding(Status.PASS, "the token comes from Google's client library, which encodes it itself",
                           code=Code.ENCODED_BY_GOOGLE)
        if auth.type is AuthType.NONE:
            return Finding(Status.PASS, "no credentials in the profile", code=Code.NO_CREDENTIALS)
        if auth.type is AuthType.AWS:
            return Finding(Status.PASS, "no Airflow credentials in the profile: boto3 signs each call with AWS "
                                        "credentials (SigV4), nothing is encoded by hand", code=Code.SIGNED_BY_BOTO3)
        problems = token_problems(ctx) if auth.type is AuthType.TOKEN else password_problems(ctx)
        if not problems:
            what = "token" if auth.type is AuthType.TOKEN else "username and password"
            return Finding(Status.PASS, f"the {what} contain nothing a client or server would encode differently",
                           code=Code.ENCODE_CLEANLY)
        confirmed = [p for p in problems if p.confirmed]
        untested = [p for p in problems if p.confirmed is None]
        harmless = [p for p in problems if p.confirmed is False]
        shown = confirmed or untested or harmless
        first = shown[0]
        status = Status.FAIL if confirmed or (untested and _auth_failed(ctx)) else Status.WARN
        if shown is harmless:
            status = Status.PASS
        details = tuple(f"{'confirmed' if p.confirmed else 'not confirmed' if p.confirmed is None else 'harmless here'}: {p.summary}"
                        for p in problems)
        return Finding(status, first.summary + (" (confirmed by the server)" if first.confirmed else ""),
                       explanation="\n\n".join(p.explanation for p in shown), fix=first.fix, details=details,
                       explains=("auth-backend",) if status is Status.FAIL else (),
                       why_ui_works=first.why_ui_works if status is not Status.PASS else "", code=first.code)


def _auth_failed(ctx: CheckContext) -> bool:
    refused = [t for t in ctx.facts.trials if not t.accepted and not t.unanswered]
    return bool(refused) and not any(t.accepted for t in ctx.facts.trials if t.credentials == _as_sent(ctx))


def _as_sent(ctx: CheckContext) -> Credentials:
    auth = ctx.profile.auth
    if auth.type is AuthType.TOKEN:
        return Credentials(Scheme.BEARER, secret=auth.token)
    return Credentials(Scheme.BASIC, auth.username or "", auth.password, auth.encoding)


def _confirm(ctx: CheckContext, variant: Credentials) -> bool | None:
    """Did the server accept `variant` where the form as given was refused? Asks only if auth-backend did not."""
    if ctx.facts.api is None:
        return None
    as_sent = ctx.facts.trial(_as_sent(ctx))
    if as_sent is None and ctx.profile.auth.type is not AuthType.JWT:
        as_sent = try_credentials(ctx, _as_sent(ctx))
    if as_sent is not None and as_sent.accepted:
        return False
    known = ctx.facts.trial(variant)
    if known is None and (variant.scheme is Scheme.BEARER or ctx.facts.api is ApiFlavour.V1):
        known = try_credentials(ctx, variant)
    if known is None:
        stripped_trials = [t for t in ctx.facts.trials if t.credentials.stripped]
        known = stripped_trials[0] if stripped_trials and variant.stripped else None
    if known is None or known.unanswered:
        return None
    return known.accepted


def password_problems(ctx: CheckContext) -> list[Problem]:
    auth = ctx.profile.auth
    assert auth.password is not None
    username, password = auth.username or "", auth.password.reveal()
    basic = auth.type is AuthType.BASIC
    latin1_script = basic and auth.encoding != "utf-8"
    problems: list[Problem] = []
    variants = {(v.encoding, v.stripped): v for v in basic_variants(username, auth.password, auth.encoding)}

    if latin1_script and not (is_latin1(username) and is_latin1(password)):
        problems.append(Problem(
            Code.NOT_LATIN1,
            "the credentials contain characters outside latin-1, which requests cannot put in a Basic auth header",
            "requests encodes a str username and password as latin-1 for Basic auth, so characters outside it "
            "(such as €, or any non-European script) raise UnicodeEncodeError before anything is sent. Airflow 2 "
            "decodes Basic credentials as UTF-8, so send UTF-8 bytes. The browser and curl send UTF-8, which is why "
            "they work.",
            Fix("Pass the credentials to requests as UTF-8 bytes:", (UTF8_PYTHON,)),
            _confirm(ctx, variants[("utf-8", False)]) if ("utf-8", False) in variants else None, UTF8_UI))
    elif latin1_script and not (is_ascii(username) and is_ascii(password)):
        problems.append(Problem(
            Code.NON_ASCII,
            "the password (or username) has non-ASCII characters, which requests sends as latin-1 while Airflow 2 "
            "decodes UTF-8",
            "requests encodes a str username and password as latin-1 for Basic auth ('ä' becomes the single byte "
            "0xE4). Airflow 2 (Werkzeug) decodes the header as UTF-8, fails, and treats the request as "
            "unauthenticated: 401. The browser, the UI login form and curl in a UTF-8 terminal all send UTF-8, "
            "which is why they work with the same password.",
            Fix("Pass the credentials to requests as UTF-8 bytes:", (UTF8_PYTHON,)),
            _confirm(ctx, variants[("utf-8", False)]), UTF8_UI))

    if username != username.strip() or password != password.strip():
        which = "password" if password != password.strip() else "username"
        value = password if which == "password" else username
        kind = "a trailing newline" if value.endswith(("\n", "\r")) else "surrounding whitespace"
        source = ctx.profile.sources.get(f"auth.{which}", "")
        origin = " It comes from a file, and files usually end with a newline." if source.startswith("file") else ""
        stripped = next((v for (enc, s), v in variants.items() if s), None)
        problems.append(Problem(
            Code.WHITESPACE,
            f"the {which} has {kind}",
            f"The {which} the profile resolves to has {kind}.{origin} A script that reads the secret with "
            "open(...).read() or $(cat file) sends it along, and the server compares it exactly, so it refuses the "
            "credentials while the same password typed into the UI works.",
            Fix(f"Strip the {which} where the script reads it (and remove the newline from the secret):",
                ("password = open(path).read().strip()", "printf '%s' 'the-password' > secret-file")),
            _confirm(ctx, stripped) if stripped else None,
            f"A {which} typed into the UI's login form has no trailing newline; the one read from the file has."))

    if basic and ":" in username:
        problems.append(Problem(
            Code.COLON_IN_USERNAME,
            "the username contains ':', which Basic auth cannot carry",
            "Basic auth sends 'username:password' in one base64 string and the server splits it at the first ':', so "
            f"the server sees the user {username.split(':')[0]!r} and a password that starts with the rest of the "
            "username.",
            Fix("Use a user whose name has no ':' for scripts.", ()), True if ctx.facts.api is ApiFlavour.V1 else None,
            "The UI's login form sends the username and password as separate fields, so the ':' stays in the name."))

    user_in_password = decodes_to_user_password(password)
    if basic and user_in_password:
        problems.append(Problem(
            Code.PASSWORD_IS_BASIC_PAIR,
            "the password is itself a base64-encoded 'user:password' pair: it would be encoded twice",
            f"The password decodes to a Basic credential for user {user_in_password!r}. A client encodes the "
            "username and password once more, so the server sees neither. This happens when a ready-made "
            "Authorization value is pasted where the plain password belongs.",
            Fix("Put the plain password in the profile (or send the ready-made value as the Authorization header "
                "yourself, prefixed with 'Basic ').", ()), None,
            "In the UI's login form you type the plain password, not the encoded pair."))
    if decode_jwt(password) is not None and auth.type in (AuthType.BASIC, AuthType.JWT):
        problems.append(Problem(
            Code.JWT_AS_PASSWORD,
            "the password is a JWT: a token is being sent as a password",
            "A JWT belongs in an 'Authorization: Bearer' header, not in Basic auth or the /auth/token form.",
            Fix("Set the profile's auth type to token and put the JWT there:", ("auth:\n  type: token\n  token: ${AIRFLOW_TOKEN}",)),
            None, "In the UI you type your password; the UI keeps the token it gets in a cookie by itself."))
    if re.search(r"%[0-9A-Fa-f]{2}", password):
        problems.append(Problem(
            Code.URL_ENCODED,
            "the password contains %XX sequences: it may be URL-encoded",
            "Credentials copied from a URL (https://user:p%40ss@host) stay percent-encoded; the server compares the "
            "decoded password.",
            Fix("Decode it (p%40ss is p@ss) unless the password really contains these characters.", ()), None,
            "In the UI's login form you type the decoded password."))
    return problems


def token_problems(ctx: CheckContext) -> list[Problem]:
    token = ctx.profile.auth.token
    assert token is not None
    raw = token.reveal()
    problems: list[Problem] = []
    if raw.strip().lower().startswith("bearer "):
        problems.append(Problem(
            Code.BEARER_PREFIX,
            "the token starts with 'Bearer ': the header would read 'Bearer Bearer …'",
            "The token value already carries the scheme word, and the client adds it again, so the server sees a "
            "malformed token (Airflow 3 answers 403 'Invalid JWT token').",
            Fix("Put only the token itself in the profile, without 'Bearer '.", ()),
            _confirm(ctx, Credentials(Scheme.BEARER, secret=Secret(raw.strip()[7:].strip()))),
            "The UI sends its token in a cookie, with no scheme word at all."))
    elif raw != raw.strip():
        problems.append(Problem(
            Code.TOKEN_WHITESPACE,
            "the token has surrounding whitespace or a trailing newline",
            "Tokens read from files or environment variables often end with a newline, which then ends up inside "
            "the Authorization header.",
            Fix("Strip the token where the script reads it.", ("token = open(path).read().strip()",)),
            _confirm(ctx, Credentials(Scheme.BEARER, secret=Secret(raw.strip()))),
            "The UI's token comes from its own login and lives in a cookie, never read from a file."))
    user = decodes_to_user_password(raw)
    if user:
        problems.append(Problem(
            Code.TOKEN_IS_BASIC_PAIR,
            f"the token is a base64 'user:password' pair (for {user!r}), not a token",
            "A Basic credential was put where a Bearer token belongs; the server does not accept it under the "
            "Bearer scheme.",
            Fix("Use auth type basic (Airflow 2) or jwt (Airflow 3) with the username and password.", ()), None,
            "The UI logs in with the username and password themselves, not an encoded pair."))
    return problems
