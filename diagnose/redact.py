"""The one redaction policy, for headers, URLs, bodies and free text.

Applied when an exchange is recorded and to every string a check result holds, so reports never hold raw
values. Two kinds of secret are masked: every value this process registered (secrets.REGISTRY), and values
it never saw that a server's own words carry (a traceback, a redirect, an error body, a task log), found by
the key that names them (`api_key = "..."`) or by their shape (URL userinfo, JWTs, PEM blocks, cloud keys).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from airflow_doctor.model import CheckResult, Fix
from airflow_doctor.secrets import MASK, REGISTRY, SecretRegistry

SENSITIVE_NAME_PARTS = (
    "token", "secret", "passw", "pwd", "key", "auth", "session", "cookie", "csrf", "credential", "signature",
)
# Headers whose names look sensitive but whose values are challenges or metadata worth showing.
_SHOWN_HEADERS = {"www-authenticate", "proxy-authenticate", "keep-alive"}

SECRET_WORDS = frozenset({
    "password", "passwd", "pwd", "passphrase", "passcode", "secret", "token", "credential", "credentials", "apikey",
})
"""A word that, anywhere in a key's name, says its value is a secret (`client_secret`, `AUTH_TOKEN`, `db_password`)."""
KEY_QUALIFIERS = frozenset({
    "api", "access", "private", "secret", "signing", "client", "encryption", "fernet", "master", "account", "ssh",
    "shared", "storage", "app", "service",
})
"""The words before `key` that make it a credential (`api_key`, `fernet_key`), unlike `primary_key` or `sort_key`."""
METADATA_WORDS = frozenset({
    "type", "kind", "scheme", "format", "file", "path", "dir", "url", "uri", "endpoint", "name", "label", "length",
    "size", "expires", "expiry", "expiration", "ttl", "lifetime", "hint", "field", "prompt", "policy", "backend",
    "backends", "manager", "required", "enabled", "version", "algorithm", "issuer", "audience", "env", "var",
})
"""A last word that makes the key describe a secret rather than hold it: `token_type`, `password_file`, `auth_backends`."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """Control characters (ESC sequences, odd line breaks) shown as escapes, so no input can drive the terminal."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def one_line(text: str) -> str:
    """A message that must stay one line: line breaks and tabs from user input shown as escapes too."""
    return printable(text).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


# --- names ------------------------------------------------------------------------------------------

def _words(name: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]


def _describes_a_secret(words: list[str]) -> bool:
    return bool(words) and words[-1] in METADATA_WORDS


def is_sensitive_name(name: str) -> bool:
    """A header, JSON key, form field or query parameter whose value is hidden (fail closed: any part of the name)."""
    lowered = name.lower()
    if lowered in _SHOWN_HEADERS or _describes_a_secret(_words(name)):
        return False
    return any(part in lowered for part in SENSITIVE_NAME_PARTS)


def names_secret(name: str) -> bool:
    """A name in free text whose value is a secret, judged by whole words so prose and identifiers survive."""
    words = _words(name)
    if not words or _describes_a_secret(words):
        return False
    if any(word in SECRET_WORDS for word in words):
        return True
    return words[-1] == "key" and len(words) > 1 and words[-2] in KEY_QUALIFIERS


# --- headers and URLs -------------------------------------------------------------------------------

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


# --- bodies -----------------------------------------------------------------------------------------

def redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and is_sensitive_name(k) and v not in (None, "") else redact_json(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    return value


def redact_body(body: str, content_type: str = "", registry: SecretRegistry = REGISTRY) -> str:
    """Redact a whole request or response body: JSON by key, forms by field, anything else as free text.

    Callers cut the result for display, never the body before it: a key past the cut would not be parsed.
    """
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


# --- free text --------------------------------------------------------------------------------------

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|\Z)", re.S)
_URL_USERINFO = re.compile(r"(?<![\w+.-])([A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@'\"\\]*:)([^\s/?#'\"\\]+)@")
_AUTHORIZATION = re.compile(
    r"(?i)\b((?:proxy-)?authorization\\*[\"']?[ \t]*[:=][ \t]*(?:[fbr]?\\*[\"'])?)"
    r"((?:basic|bearer|token|digest|negotiate|ntlm|jwt|apikey)[ \t]+)?([^\s\"'\\,;]+)")
_COOKIE = re.compile(r"(?i)\b(set-cookie|cookie)(\\?[\"']?[ \t]*:[ \t]*\\?[\"']?)([^\r\n\"'\\]+)")
_BEARER = re.compile(r"\b(Bearer[ \t]+)([A-Za-z0-9._~+/=-]{16,})")
_CLOUD_KEY = re.compile(
    r"(?<![\w-])(?P<prefix>AKIA|ASIA|gh[pousr]_|github_pat_|xox[abprs]-|sk-|[sr]k_live_|[sr]k_test_|AIza)"
    r"(?P<body>[A-Za-z0-9_-]{8,})")
_CLOUD_KEY_BODY = {"AKIA": r"[0-9A-Z]{16}", "ASIA": r"[0-9A-Z]{16}", "github_pat_": r"[A-Za-z0-9_]{20,}",
                   "sk-": r"[A-Za-z0-9_-]{20,}", "AIza": r"[0-9A-Za-z_-]{30,}"}
"""Keys whose prefix says what they are (AWS, GitHub, Slack, OpenAI, Stripe, Google); the body is what is secret."""
_ASSIGNMENT = re.compile(r"""
    (?:(?<![\w.$%-])|(?<=%[0-9A-Fa-f]{2})) (?P<flag>--)?
    (?=[\w.-]*(?i:passw|pwd|passphrase|passcode|secret|token|credential|key))
    (?P<key>[A-Za-z_](?:[\w.-]*\w)?) (?P<key_quote>\\*["'])?
    (?P<sep>[ \t]*(?:[:=]=?|=>|%3[dD])[ \t]*|(?(flag)[ \t]+|(?!)))
    (?: (?P<backslashes>\\+)(?P<quote>["'])(?P<escaped>(?:(?!(?P=backslashes)(?P=quote)).){0,2000})(?P=backslashes)(?P=quote)
      | "(?P<double>(?:\\.|[^"\\\n]){0,2000})"
      | '(?P<single>(?:\\.|[^'\\\n]){0,2000})'
      | (?P<bare>[^\s"'`,;&)\]}\\]+) )
""", re.X)
_REFERENCE = re.compile(r"""(?x) ^(?: \$ | %\( | \{ | <[^<>]*>?$ | \*\*\* | [A-Za-z_][\w.]*[(\[]
                                      | (?i:none|null|true|false|undefined)$ )""")
"""Values that point at a secret rather than hold one: `$VAR`, `${VAR}`, `$(cmd)`, `{token}`, `<password>`,
`os.environ["X"]`, `open(path).read()`, a value already masked. The tool's own snippets are made of these."""
_KEY_FILE = re.compile(r"(?:~|\.{1,2})?(?:/[\w.@+-]+)+\.(?:pem|key|crt|cer|der|p12|pfx)")
"""A key file's path (`client_key: /etc/ssl/client.key`, `--client-key ./k.pem`): where a key is, not a key; shown
after a `<qualifier> key` name, never after a password, secret or token word."""


def _names_secret_word(name: str) -> bool:
    return any(word in SECRET_WORDS for word in _words(name))


_CLAUSE_END = re.compile(r"[ \t]*(?:$|[\r\n,;})\]]|\\[nr])")


def _mask_userinfo(match: re.Match[str]) -> str:
    """A password in a url is masked; a `${VAR}` standing for one (a printed fix: proxy credentials) is not."""
    if re.fullmatch(r"\$\{[A-Za-z_]\w*\}", match.group(2)):
        return match.group(0)
    return f"{match.group(1)}{MASK}@"


def _mask_authorization(match: re.Match[str]) -> str:
    lead, scheme, credential = match.group(1), match.group(2) or "", match.group(3)
    if _REFERENCE.match(credential) or MASK in credential:
        return match.group(0)
    if not scheme and (_is_scheme_word(credential) or _is_prose(lead, match)):
        return match.group(0)
    return f"{lead}{scheme}{MASK}"


def _is_prose(lead: str, match: re.Match[str]) -> bool:
    """`name: word more words` without quotes is a sentence; a value ends its line, list item or clause."""
    return lead.rstrip()[-1:] == ":" and lead != lead.rstrip() and not _CLAUSE_END.match(match.string, match.end())


def _is_scheme_word(word: str) -> bool:
    return word.lower() in ("basic", "bearer", "token", "digest", "negotiate", "ntlm", "jwt", "apikey")


def _mask_cookie(match: re.Match[str]) -> str:
    kind, lead, value = match.groups()
    if "=" not in value.partition(";")[0]:
        return match.group(0)
    shown = _redact_set_cookie(value) if kind.lower() == "set-cookie" else _redact_cookie_pairs(value)
    return f"{kind}{lead}{shown}"


def _mask_bearer(match: re.Match[str]) -> str:
    token = match.group(2)
    return f"{match.group(1)}{MASK}" if _looks_generated(token) else match.group(0)


def _looks_generated(value: str) -> bool:
    """Letters and digits mixed, as in generated keys and tokens, unlike words joined by hyphens."""
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _mask_cloud_key(match: re.Match[str]) -> str:
    prefix, body = match.group("prefix"), match.group("body")
    shape = _CLOUD_KEY_BODY.get(prefix, r"[A-Za-z0-9-]{8,}" if prefix.startswith("xox") else r"[A-Za-z0-9]{16,}")
    if not re.fullmatch(shape, body) or prefix == "sk-" and not _looks_generated(body):
        return match.group(0)
    return prefix + MASK


def _masked_assignment(match: re.Match[str]) -> str | None:
    """The assignment with its value masked, or None when the value is no secret (so the scan moves on)."""
    if not names_secret(match.group("key")):
        return None
    kind = next(k for k in ("escaped", "double", "single", "bare") if match.group(k) is not None)
    value = match.group(kind)
    if not value or _REFERENCE.match(value) or _KEY_FILE.fullmatch(value) and not _names_secret_word(match.group("key")):
        return None
    if kind == "bare" and _is_prose(match.group(0)[: match.start(kind) - match.start()], match):
        return None  # "password: the UI rejects it" is prose; "password: hunter2" ends its line
    start, end = match.span(kind)
    return match.string[match.start():start] + MASK + match.string[end:match.end()]


def _mask_assignments(text: str) -> str:
    """Mask the values of names that name a secret; a name whose value stays shown does not swallow the next one."""
    parts, copied, pos = [], 0, 0
    while (match := _ASSIGNMENT.search(text, pos)) is not None:
        masked = _masked_assignment(match)
        if masked is None:
            pos = match.end("key")
            continue
        parts += [text[copied:match.start()], masked]
        copied = pos = match.end()
    return "".join(parts) + text[copied:]


_TEXT_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str], ...] = (
    (_PEM, "<PEM block redacted>"),
    (_JWT, "<JWT redacted>"),
    (_URL_USERINFO, _mask_userinfo),
    (_AUTHORIZATION, _mask_authorization),
    (_COOKIE, _mask_cookie),
    (_CLOUD_KEY, _mask_cloud_key),
    (_BEARER, _mask_bearer),
)


def redact_text(text: str, registry: SecretRegistry = REGISTRY) -> str:
    """The policy for any string that may carry a server's words: secrets by key, by shape, and every registered one.

    References to secrets (`"$AIRFLOW_PASSWORD"`, `os.environ[...]`, `<password>`) and prose ("wrong username or
    password", "Bearer token") are left as they are, so the tool's own snippets and explanations read unchanged.
    """
    for pattern, replacement in _TEXT_RULES:
        text = pattern.sub(replacement, text)
    return printable(registry.scrub(_mask_assignments(text)))


def redact_result(result: CheckResult) -> CheckResult:
    """A check's result with every string through the one policy, before the report holds it: checks quote what
    servers say (import-error tracebacks, redirect targets, error bodies, task logs), and those words can carry
    credentials the tool never saw."""
    from dataclasses import replace

    fix = result.fix and Fix(redact_text(result.fix.text), tuple(redact_text(c) for c in result.fix.commands),
                             result.fix.docs and redact_text(result.fix.docs))
    assumed = result.assumed and replace(result.assumed, text=redact_text(result.assumed.text))
    return replace(result, summary=redact_text(result.summary), explanation=redact_text(result.explanation), fix=fix,
                   details=tuple(redact_text(d) for d in result.details), why_ui_works=redact_text(result.why_ui_works),
                   assumed=assumed)
