"""The one redaction policy. Applied when an exchange is recorded, so reports never hold raw values."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from airflow_doctor.secrets import MASK, REGISTRY, SecretRegistry

SENSITIVE_NAME_PARTS = (
    "token", "secret", "passw", "pwd", "key", "auth", "session", "cookie", "csrf", "credential", "signature",
)
# Headers whose names look sensitive but whose values are challenges or metadata worth showing.
_SHOWN_HEADERS = {"www-authenticate", "proxy-authenticate", "keep-alive"}

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_PEM = re.compile(r"-----BEGIN [A-Z ]+-----.*?(?:-----END [A-Z ]+-----|\Z)", re.S)
_ASSIGNMENT = re.compile(r"(?i)\b([\w.-]*(?:token|secret|passw|pwd|api_?key|credential)[\w.-]*\s*[=:]\s*)(['\"]?)([^\s'\",;&]+)")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """Control characters (ESC sequences, odd line breaks) shown as escapes, so no input can drive the terminal."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def one_line(text: str) -> str:
    """A message that must stay one line: line breaks and tabs from user input shown as escapes too."""
    return printable(text).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def is_sensitive_name(name: str) -> bool:
    lowered = name.lower()
    return lowered not in _SHOWN_HEADERS and any(part in lowered for part in SENSITIVE_NAME_PARTS)


def describe_authorization(value: str) -> str:
    """Keep the scheme word; for Basic show the username and the password's length, never the password."""
    scheme, _, credential = value.strip().partition(" ")
    if not credential:
        return MASK
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credential.strip(), validate=True)
            user, sep, password = decoded.partition(b":")
        except (binascii.Error, ValueError):
            return f"{scheme} {MASK} (not valid base64)"
        if not sep:
            return f"{scheme} {MASK} (decodes to no user:password pair)"
        shown_user = user.decode("utf-8", errors="replace")
        return f"{scheme} {shown_user}:{MASK} (password: {len(password)} bytes)"
    kind = "JWT, " if _JWT.fullmatch(credential.strip()) else ""
    return f"{scheme} {MASK} ({kind}{len(credential.strip())} chars)"


def _redact_cookie_pairs(value: str) -> str:
    pairs = []
    for part in value.split(";"):
        name, sep, _ = part.strip().partition("=")
        pairs.append(f"{name}={MASK}" if sep else name)
    return "; ".join(pairs)


def _redact_set_cookie(value: str) -> str:
    first, _, attributes = value.partition(";")
    name, _, _ = first.strip().partition("=")
    return f"{name}={MASK}" + (f";{attributes}" if attributes else "")


def redact_header(name: str, value: str, registry: SecretRegistry = REGISTRY) -> str:
    lowered = name.lower()
    if lowered in ("authorization", "proxy-authorization"):
        return describe_authorization(value)
    if lowered == "cookie":
        return _redact_cookie_pairs(value)
    if lowered == "set-cookie":
        return _redact_set_cookie(value)
    if lowered == "location":
        return redact_url(value, registry)
    if is_sensitive_name(name):
        return MASK
    return redact_text(value, registry)


def redact_headers(headers: Iterable[tuple[str, str]], registry: SecretRegistry = REGISTRY) -> tuple[tuple[str, str], ...]:
    return tuple((name, redact_header(name, value, registry)) for name, value in headers)


def redact_url(url: str, registry: SecretRegistry = REGISTRY) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url, registry)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if is_sensitive_name(k) else v) for k, v in pairs], safe="*")
    rebuilt = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return redact_text(rebuilt, registry)


def redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and is_sensitive_name(k) and v not in (None, "") else redact_json(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    return value


def redact_text(text: str, registry: SecretRegistry = REGISTRY) -> str:
    text = _PEM.sub("<PEM block redacted>", text)
    text = _JWT.sub("<JWT redacted>", text)
    text = _ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return printable(registry.scrub(text))


def redact_body(body: str, content_type: str = "", registry: SecretRegistry = REGISTRY) -> str:
    """Redact a request or response body: JSON by key, forms by field, anything else as free text."""
    stripped = body.strip()
    if stripped[:1] in ("{", "["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            pass
        else:
            return redact_text(json.dumps(redact_json(parsed), ensure_ascii=False), registry)
    if "x-www-form-urlencoded" in content_type:
        pairs = parse_qsl(body, keep_blank_values=True)
        return redact_text(urlencode([(k, MASK if is_sensitive_name(k) else v) for k, v in pairs], safe="*"), registry)
    return redact_text(body, registry)
