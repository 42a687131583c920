"""Secret values and the registry of every form in which they could leak."""

from __future__ import annotations

import base64
import json
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "***"


class Secret:
    """A string that never shows itself: str() and repr() give `***`; reveal() is for building auth."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __len__(self) -> int:
        return len(self._value)


def _encodings(value: str) -> set[str]:
    forms = {value, value.strip(), quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    return {f for f in forms if f}


def _b64(raw: bytes) -> set[str]:
    encoded = base64.b64encode(raw).decode("ascii")
    return {encoded, encoded.rstrip("="), base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")}


COMMON_PASSWORDS = frozenset({
    "airflow", "admin", "password", "passw0rd", "secret", "changeme", "letmein", "welcome", "qwerty", "test",
    "testing", "default", "root", "user", "guest", "demo", "example", "123456", "12345678", "password1",
})
MIN_STRONG_LENGTH = 8


def weak_secret_reason(username: str | None, value: str) -> str | None:
    """Why a password is too weak to be told apart from ordinary words in a report (None: it is not).

    A weak secret is masked where it is a value and as a whole word, never inside other words, so the
    report stays readable; the profile gets a warning that says so.
    """
    bare = value.strip()
    if username and bare == username.strip():
        return "it equals the username"
    if bare.lower() in COMMON_PASSWORDS:
        return "it is a common default password"
    if len(bare) < MIN_STRONG_LENGTH:
        return f"it is shorter than {MIN_STRONG_LENGTH} characters"
    return None


"""A weak secret counts only as a whole token: after a space, quote or bracket, before one (or sentence punctuation).
So `lab_airflow`, `airflow-doctor`, `airflow.cfg` and `/opt/airflow/dags` never match the password `airflow`."""


class SecretRegistry:
    """Every secret value known to this process, with the derived forms it may take on the wire.

    A secret of real strength is matched everywhere, even inside other text. A weak one (see `weak_secret_reason`)
    is not matched as bare text at all: `airflow` is also a word of the tool's own commands (`airflow dags unpause`),
    of host names and of DAG ids, and masking it there would make the report unreadable and its commands useless.
    It is masked where it is a value (headers, bodies and form fields by key, URL userinfo, `password=...`: the
    redaction policy in redact.py), and its derived forms (base64 of `user:password`, `Bearer ...`) are specific
    enough to be matched everywhere once they are at least MIN_STRONG_LENGTH long. The profile warns about it.
    """

    def __init__(self) -> None:
        self._everywhere: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, secret: Secret | str | None) -> None:
        value = _revealed(secret)
        if value and value.strip():
            self._register(value, weak_secret_reason(None, value) is not None, _encodings(value) | _bearer(value)
                           | _b64_any(value))

    def add_basic(self, username: str, password: Secret | str) -> None:
        """Register `password` and the base64 forms of `username:password` a Basic header carries."""
        pw = _revealed(password)
        if not pw or not pw.strip():
            return
        derived = _encodings(pw) | _bearer(pw) | _b64_any(pw) | _b64_any(f"{username}:{pw}")
        self._register(pw, weak_secret_reason(username, pw) is not None, derived)

    def _register(self, value: str, weak: bool, forms: set[str]) -> None:
        bare = {value, value.strip()}
        with self._lock:
            self._everywhere |= {form for form in forms if len(form) >= MIN_STRONG_LENGTH and not (weak and form in bare)}
            self._pattern = None

    def clear(self) -> None:
        with self._lock:
            self._everywhere.clear()
            self._pattern = None

    @property
    def values(self) -> frozenset[str]:
        return frozenset(self._everywhere)

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._everywhere:
                forms = sorted(self._everywhere, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(form) for form in forms))
            return self._pattern

    def scrub(self, text: str) -> str:
        pattern = self._compiled()
        return pattern.sub(MASK, text) if pattern else text

    def leaks(self, text: str) -> bool:
        """Whether `text` holds a registered secret where `scrub` would mask it (a weak one as bare text does not)."""
        pattern = self._compiled()
        return bool(pattern and pattern.search(text))


def _revealed(secret: Secret | str | None) -> str | None:
    return secret.reveal() if isinstance(secret, Secret) else secret


def _bearer(value: str) -> set[str]:
    return {f"Bearer {value}", f"bearer {value}"}


def _b64_any(text: str) -> set[str]:
    forms: set[str] = set()
    for codec in ("utf-8", "latin-1"):
        try:
            forms |= _b64(text.encode(codec))
        except UnicodeEncodeError:
            pass
    return forms


REGISTRY = SecretRegistry()
"""The process-wide registry: profile loading and token exchanges add to it, every output path scrubs with it."""
