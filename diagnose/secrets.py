"""Secret values and the registry of every form in which they could leak."""

from __future__ import annotations

import base64
import json
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
# Shorter secrets are matched only as whole tokens, so that a one-letter password
# does not blank out every occurrence of that letter in a report.
_SHORT = 4


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


class SecretRegistry:
    """Every secret value known to this process, with the derived forms it may take on the wire."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, secret: Secret | str | None) -> None:
        if secret is None:
            return
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if not value or not value.strip():
            return
        forms = _encodings(value) | {f"Bearer {value}", f"bearer {value}"}
        for codec in ("utf-8", "latin-1"):
            try:
                forms |= _b64(value.encode(codec))
            except UnicodeEncodeError:
                pass
        with self._lock:
            self._values |= forms
            self._pattern = None

    def add_basic(self, username: str, password: Secret | str) -> None:
        """Register `password` and the base64 forms of `username:password` a Basic header carries."""
        self.add(password)
        pw = password.reveal() if isinstance(password, Secret) else password
        if not pw:
            return
        forms: set[str] = set()
        for codec in ("utf-8", "latin-1"):
            try:
                forms |= _b64(f"{username}:{pw}".encode(codec))
            except UnicodeEncodeError:
                pass
        with self._lock:
            self._values |= forms
            self._pattern = None

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    @property
    def values(self) -> frozenset[str]:
        return frozenset(self._values)

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                parts = []
                for value in sorted(self._values, key=len, reverse=True):
                    escaped = re.escape(value)
                    parts.append(escaped if len(value) >= _SHORT else rf"(?<![\w]){escaped}(?![\w])")
                self._pattern = re.compile("|".join(parts))
            return self._pattern

    def scrub(self, text: str) -> str:
        pattern = self._compiled()
        return pattern.sub(MASK, text) if pattern else text

    def leaks(self, text: str) -> bool:
        pattern = self._compiled()
        return bool(pattern and pattern.search(text))


REGISTRY = SecretRegistry()
"""The process-wide registry: profile loading and token exchanges add to it, every output path scrubs with it."""
