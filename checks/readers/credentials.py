"""How credentials go on the wire, the variants worth trying when they are refused, and JWT claims.

Shared by auth-backend (which finds what the server accepts) and credential-encoding (which explains
why the profile's credentials, as a script would send them, are not it).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from requests.auth import AuthBase

from airflow_doctor.checks.readers.clock import span
from airflow_doctor.probe import AuthorizationAuth, BearerAuth, Layer, NoAuth, ProbeResponse, TransportError, basic_auth
from airflow_doctor.secrets import Secret


class Scheme(str, Enum):
    GOOGLE = "google"
    """A Google access token from Application Default Credentials, sent as Bearer (Cloud Composer)."""
    KEY = "key"
    """A platform API key alone in Authorization, no 'Bearer' word (Astro Private Cloud / Software)."""
    BASIC = "basic"
    BEARER = "bearer"
    NONE = "none"
    AWS = "aws"
    """AWS MWAA: through InvokeRestApi the transport signs (no header here); on the web-login path `secret` holds
    what the web server's login set: Airflow 3's `_token` (sent as Bearer) or, with username 'session', Airflow 2's
    session cookie."""


@dataclass(frozen=True)
class Credentials:
    """One way of authenticating: the scheme, the values, and how they are encoded."""

    scheme: Scheme
    username: str = ""
    secret: Secret | None = None
    encoding: str = "latin-1"
    stripped: bool = False

    def auth(self) -> AuthBase:
        if self.scheme is Scheme.GOOGLE and self.secret is not None:
            return BearerAuth(self.secret.reveal())
        if self.scheme is Scheme.KEY and self.secret is not None:
            return AuthorizationAuth(self.secret.reveal())
        if self.scheme is Scheme.BASIC and self.secret is not None:
            user, password = self.username, self.secret.reveal()
            if self.encoding == "utf-8":
                return basic_auth(user.encode("utf-8"), password.encode("utf-8"))
            return basic_auth(user, password)
        if self.scheme is Scheme.BEARER and self.secret is not None:
            return BearerAuth(self.secret.reveal())
        if self.scheme is Scheme.AWS and self.secret is not None:
            return SessionCookieAuth(self.secret.reveal()) if self.username == "session" else BearerAuth(self.secret.reveal())
        return NoAuth()

    @property
    def label(self) -> str:
        if self.scheme is not Scheme.BASIC:
            return f"{self.scheme.value}{' with surrounding whitespace removed' if self.stripped else ''}"
        parts = ["Basic"]
        if self.stripped:
            parts.append("with surrounding whitespace removed")
        parts.append("encoded as UTF-8 bytes" if self.encoding == "utf-8" else "as requests sends a str (latin-1)")
        return " ".join(parts)


class SessionCookieAuth(AuthBase):
    """Airflow 2's Flask `session` cookie, as a logged-in browser (or MWAA's web login) sends it."""

    def __init__(self, cookie: str) -> None:
        self._cookie = cookie

    def __call__(self, r):  # type: ignore[no-untyped-def]
        r.headers["Cookie"] = f"session={self._cookie}"
        return r

    def __repr__(self) -> str:
        return "SessionCookieAuth(***)"


def is_ascii(text: str) -> bool:
    return all(ord(c) < 128 for c in text)


def is_latin1(text: str) -> bool:
    return all(ord(c) < 256 for c in text)


def basic_variants(username: str, password: Secret, sent_as: str = "latin-1") -> list[Credentials]:
    """Other forms of the same Basic credentials that a server might accept when the form the script sends
    (encoded as `sent_as`) is refused."""
    raw = password.reveal()
    variants: list[Credentials] = []
    needs_utf8 = not (is_ascii(username) and is_ascii(raw))
    strippable = username != username.strip() or raw != raw.strip()
    if needs_utf8 and sent_as != "utf-8":
        variants.append(Credentials(Scheme.BASIC, username, password, "utf-8"))
    if strippable:
        stripped = Secret(raw.strip())
        variants.append(Credentials(Scheme.BASIC, username.strip(), stripped,
                                    "utf-8" if needs_utf8 or sent_as == "utf-8" else "latin-1", True))
    return variants


def stripped_secret(secret: Secret) -> Secret | None:
    raw = secret.reveal()
    return Secret(raw.strip()) if raw != raw.strip() else None


@dataclass(frozen=True)
class Trial:
    """A credential form the doctor sent, and what the server answered (None: no answer, see `failure`)."""

    credentials: Credentials
    status: int | None
    note: str = ""
    challenge: str | None = None
    failure: TransportError | None = field(default=None, compare=False)
    response: ProbeResponse | None = field(default=None, compare=False, repr=False)
    """The answer itself, for whose answer it was (Airflow's or a proxy's): its headers and body shape."""

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def unanswered(self) -> bool:
        """Sent, but no verdict came back: the network failed, not the credentials (unlike a form this client
        cannot even encode, which is a verdict on the form)."""
        return self.failure is not None and self.failure.layer is not Layer.CLIENT_ENCODING


@dataclass
class JwtClaims:
    header: dict[str, Any]
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str | None:
        return str(self.claims["sub"]) if "sub" in self.claims else None

    @property
    def role(self) -> str | None:
        return str(self.claims["role"]) if "role" in self.claims else None

    def expires_at(self) -> datetime | None:
        exp = self.claims.get("exp")
        return datetime.fromtimestamp(exp, timezone.utc) if isinstance(exp, (int, float)) else None

    def describe(self, now: datetime | None = None) -> str:
        """The claims worth showing (never the token): subject, role, issuer, audience, expiry."""
        now = now or datetime.now(timezone.utc)
        parts = []
        for key, label in (("sub", "subject"), ("role", "role"), ("iss", "issuer"), ("aud", "audience")):
            if key in self.claims:
                parts.append(f"{label} {self.claims[key]!r}")
        expires = self.expires_at()
        if expires is not None:
            delta = expires - now
            when = f"in {span(delta)}" if delta >= timedelta(0) else f"{span(delta)} ago"
            parts.append(f"expires {expires:%Y-%m-%d %H:%M:%S} UTC ({when})")
        if "alg" in self.header:
            parts.append(f"algorithm {self.header['alg']}")
        return ", ".join(parts) or "no standard claims"


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def decode_jwt(token: str) -> JwtClaims | None:
    """The header and claims of a JWT, decoded locally without verification; None if it is not a JWT."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return JwtClaims(header, claims)


def decodes_to_user_password(value: str) -> str | None:
    """If `value` is base64 of `user:password` (a Basic credential pasted whole), the user part."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if sep and user and password and decoded.isprintable():
        return user
    return None
