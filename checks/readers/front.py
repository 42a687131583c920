"""What stands between the client and Airflow: whose answer a response is, and where Airflow is mounted.

Shared by reachability (a wrong sub-path), auth-backend (a 401 that Airflow never gave, an Authorization
header that never arrived) and the token exchange (/auth/token answering 404 while the UI loads).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from airflow_doctor.probe import ProbeResponse, retry_after_seconds

AIRFLOW_SERVERS = ("gunicorn", "uvicorn", "werkzeug")
"""The Server header Airflow's own web servers send (2.x gunicorn or the dev server, 3.x uvicorn)."""

_BASE_HREF = re.compile(r"<base[^>]*href=[\"']([^\"']*)[\"']", re.I)
_PREFIXED_LINK = re.compile(r"(?:href|src|action)=[\"'](/[A-Za-z0-9._~%-]+(?:/[A-Za-z0-9._~%-]+)*)/"
                            r"(?:static|home|login|assets|auth)\b", re.I)


def intermediary(response: ProbeResponse | None) -> str | None:
    """What the headers say stands in front of Airflow ('Server: nginx', 'Via: 1.1 edge'), or None: the first hop
    answered_by names, read by the same rule."""
    return next(iter(_hops(response)), None) if response is not None else None


def front_label(response: ProbeResponse) -> str:
    """What refused in front of Airflow, for a headline: the hop its headers name, else the kind of answer it was."""
    return intermediary(response) or f"a {response.content_type or 'non-JSON'} answer"


def proxy_realm(response: ProbeResponse | None) -> str | None:
    """A challenge with a realm: Airflow's own 401s never name one (2.x 'Basic' or none, 3.x none)."""
    challenge = response.headers.get("WWW-Authenticate", "") if response is not None else ""
    match = re.search(r"realm=\"?([^\",]*)", challenge, re.I)
    return match.group(1) if match else None


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def mount_hints(response: ProbeResponse) -> list[str]:
    """Sub-paths a page or redirect names for the application: a Location, a <base href>, prefixed links."""
    hints: list[str] = []
    if response.is_redirect and response.location:
        path = urlsplit(response.location).path
        hints.append(re.sub(r"/(home|login/?|auth/login/?)?$", "", path.rstrip("/")))
    if response.is_html:
        html = response.body[:200000].decode("utf-8", errors="replace")
        hints += [urlsplit(h).path.rstrip("/") for h in _BASE_HREF.findall(html)]
        hints += _PREFIXED_LINK.findall(html)
    return [h for h in dict.fromkeys(hints) if h.startswith("/") and not h.startswith(("/api/", "/static"))]


# --- whose answer is it: Airflow's, or a component's in front of it -----------------------------------

AIRFLOW_HEADERS = frozenset((
    "server", "date", "content-type", "content-length", "connection", "cache-control", "pragma", "expires",
    "x-robots-tag", "set-cookie", "location", "www-authenticate", "allow", "vary", "content-encoding",
    "transfer-encoding", "x-frame-options", "keep-alive",
    "access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers",
    "access-control-allow-credentials", "access-control-max-age"))
"""Every header Airflow's own web servers were seen to send (2.10.5 gunicorn, 3.x uvicorn; the Access-Control-* ones
when [api] access_control_* is set, tests/recorded/*/cors_*): any other one was added on the way, by a component that
handled the answer."""

_H1 = re.compile(rb"<h1[^>]*>(.*?)</h1>", re.I | re.S)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Answerer:
    """Who produced an answer. `airflow` when its body has Airflow's shape (or Airflow's own server sent it without
    any sign of a hop); otherwise a component in front, with what it calls itself and the evidence for it."""

    airflow: bool
    name: str | None = None
    evidence: tuple[str, ...] = ()

    def label(self) -> str:
        if self.airflow:
            return "Airflow itself"
        return f"'{self.name}'" if self.name else "a component in front of Airflow that does not name itself"


def _airflow_shaped(response: ProbeResponse) -> bool:
    """Whether this is Airflow's own answer: a body only Airflow writes, 2.x problem+json (type/title/status[/detail],
    its status the response's), 3.x FastAPI's {"detail": ...} or its {"error": ...} for retired paths, a version or
    health document, or one of its HTML pages; and no challenge with a realm (Airflow's 401s never name one)."""
    body = response.json()
    if proxy_realm(response):
        return False
    if isinstance(body, dict):
        keys = set(body)
        if {"title", "status"} <= keys <= {"type", "title", "status", "detail", "instance"}:
            return body.get("status") == response.status
        if _airflow_fields(body, response.status):
            return True
        if keys == {"detail"}:
            return isinstance(body["detail"], (str, list))
        if keys == {"error"}:
            return "Airflow" in str(body["error"])
        return isinstance(body.get("version"), str) or "metadatabase" in keys
    title = _page_text(_TITLE, response) or ""
    return response.is_html and (title == "Airflow" or title.startswith("Airflow ") or title.endswith(" - Airflow"))


def _airflow_fields(body: dict, status: int) -> bool:
    """Airflow's own error fields, with more beside them (a server that adds to its errors is still Airflow): 2.x
    problem+json whose type points at Airflow's API reference, or 3.x FastAPI's list of validation errors."""
    if {"title", "status"} <= set(body) and "airflow.apache.org" in str(body.get("type", "")):
        return body.get("status") == status
    detail = body.get("detail")
    return (isinstance(detail, list) and bool(detail)
            and all(isinstance(e, dict) and {"loc", "msg"} <= set(e) for e in detail))


def answered_by(response: ProbeResponse) -> Answerer:
    """Who answered, from the answer alone. The shape of the body decides; the headers name the component (its
    Server, the hop its Via adds, the headers Airflow never sends: by name only, their values may be credentials),
    and its page's <title>/<h1> when it has no name."""
    server = response.headers.get("Server") or ""
    foreign_server = bool(server) and not server.lower().startswith(AIRFLOW_SERVERS)
    added = [name for name in response.headers if name.lower() not in AIRFLOW_HEADERS | {"via"}]
    realm = proxy_realm(response)
    evidence = (_hops(response) + ((f"headers Airflow does not send: {', '.join(added)}",) if added else ())
                + ((f"a challenge with a realm, which Airflow never names: realm {realm!r}",) if realm else ()))
    own_server = server.lower().startswith(AIRFLOW_SERVERS) and bool(server)
    # Airflow's servers always name themselves: a body it did not write, from no server of its own, is not its answer
    foreign_page = not own_server
    if _airflow_shaped(response) or not (evidence or foreign_page or (response.status in (502, 503, 504) and not own_server)):
        return Answerer(True, evidence=evidence)
    title = _page_text(_TITLE, response)
    heading = _page_text(_H1, response)
    page = tuple(f"<{tag}>{text}</{tag}>" for tag, text in (("title", title), ("h1", heading)) if text)
    return Answerer(False, _self_name(response, server if foreign_server else "") or heading or title, evidence + page)


def _hops(response: ProbeResponse) -> tuple[str, ...]:
    """The headers that name a component on the way: a Server that is not Airflow's own, the hops Via adds."""
    server = response.headers.get("Server") or ""
    via = response.headers.get("Via")
    foreign_server = bool(server) and not server.lower().startswith(AIRFLOW_SERVERS)
    return ((f"Server: {server}",) if foreign_server else ()) + ((f"Via: {via}",) if via else ())


def airflows_own(response: ProbeResponse) -> bool:
    """Whether Airflow itself gave this answer (as answered_by reads it): the one rule every check uses."""
    return answered_by(response).airflow


def _self_name(response: ProbeResponse, server: str) -> str | None:
    """What the component calls itself: its Server header, else the pseudonym of the last hop in Via."""
    if server:
        return server
    via = response.headers.get("Via") or ""
    hops = [hop.strip().split() for hop in via.split(",") if hop.strip()]
    return hops[-1][1] if hops and len(hops[-1]) > 1 else None


def _page_text(pattern: re.Pattern[bytes], response: ProbeResponse) -> str | None:
    if not response.is_html:
        return None
    match = pattern.search(response.body[:50000])
    text = " ".join(_TAGS.sub(" ", match.group(1).decode("utf-8", errors="replace")).split()) if match else ""
    return text[:120] or None


# --- a front's own credentials, read from its answer ---------------------------------------------------

_HEADER_NAME = re.compile(r"(?<![\w-])((?:x-)?[a-z0-9]+(?:[-_][a-z0-9]+)+)(?![\w-])", re.I)
_KEY_WORDS = re.compile(r"api[\s_-]?key|subscription[\s_-]?key|access[\s_-]?key|\bkey\b|\btoken\b|credential", re.I)
_HEADER_PARAM = re.compile(r"\b(?:header|header_name|name)=\"?([A-Za-z0-9_-]+)", re.I)


@dataclass(frozen=True)
class Demand:
    """Credentials a front asks for itself: its challenge (scheme, realm), its words, and the header it names."""

    challenge: str
    realm: str | None
    words: str | None
    header: str | None

    def header_or_placeholder(self) -> str:
        return self.header or "X-API-Key"


def own_credentials(response: ProbeResponse) -> Demand | None:
    """A 401/403 that is not Airflow's and asks for credentials of the front's own: a challenge with a realm or a
    scheme Airflow never sends (Airflow 2 'Basic' without realm, Airflow 3 none), or words about a key or token. The
    header's name comes from the answer where it says one (a challenge parameter, or a header-like name near 'key' in
    its words); nothing here lists products."""
    if response.status not in (401, 403) or answered_by(response).airflow:
        return None
    challenge = response.headers.get("WWW-Authenticate", "").strip()
    realm = proxy_realm(response)
    words = own_words(response) or (response.text.strip()[:300] or None)
    scheme = challenge.split(" ", 1)[0].lower() if challenge else ""
    foreign_scheme = bool(scheme) and scheme not in ("basic", "bearer", "negotiate")
    asks_key = bool(words and _KEY_WORDS.search(words))
    if not (realm or foreign_scheme or asks_key):
        return None
    return Demand(challenge, realm, words, _named_header(challenge, words or ""))


def _named_header(challenge: str, words: str) -> str | None:
    """The request header the answer names: a challenge's header= parameter, or in the words a hyphenated name that
    says key/token/auth ('missing x-api-key', 'request.header.x-api-key', 'Ocp-Apim-Subscription-Key')."""
    if (param := _HEADER_PARAM.search(challenge)) and "-" in param.group(1):
        return param.group(1)
    for text in (challenge, words):
        for name in _HEADER_NAME.findall(text):
            lowered = name.lower().replace("_", "-")
            if re.search(r"key|token|auth", lowered) and lowered not in ("api-key", "apikey"):
                return name
    return None


# --- what a rate limit says ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RateLimit:
    """A 429's own terms: how long to wait (Retry-After, as seconds from the answer's Date) and the limit it names."""

    wait_seconds: float | None
    retry_after: str | None
    limit: str | None

    def wait_words(self) -> str:
        if self.wait_seconds is None:
            return "it did not say how long to wait (no Retry-After)"
        return f"Retry-After: {self.retry_after} (wait {self.wait_seconds:.0f} s)"


def rate_limit(response: ProbeResponse) -> RateLimit:
    header = (response.headers.get("Retry-After") or "").strip() or None
    return RateLimit(retry_after_seconds(header, response.headers.get("Date")), header, _limit_words(response))


def _limit_words(response: ProbeResponse) -> str | None:
    """The limit the answer states: a RateLimit-Policy/X-RateLimit-Limit header, or the text of its page or JSON."""
    for name, value in response.headers.items():
        if name.lower() in ("ratelimit-policy", "x-ratelimit-limit", "ratelimit-limit"):
            return f"{name}: {value}"
    return own_words(response)


def own_words(response: ProbeResponse) -> str | None:
    """What an answer says in its own words: the message of its JSON, or the text of its page below the heading."""
    body = response.json()
    if isinstance(body, dict):
        words = next((body[k] for k in ("detail", "message", "error") if isinstance(body.get(k), str)), None)
        return words[:160] if words else None
    if response.is_html:
        text = " ".join(_TAGS.sub(" ", re.sub(r"(?is)<(title|h1|style|script)[^>]*>.*?</\1>", " ",
                                              response.body[:20000].decode("utf-8", errors="replace"))).split())
        return text[:160] or None
    return response.text.strip()[:160] or None


# --- Airflow 3 answering the Airflow 2 API -------------------------------------------------------------

def retired_api_words(response: ProbeResponse) -> str | None:
    """Airflow 3's own answer to /api/v1/…: a 404 whose only field points the client at /api/v2 (3.1 to 3.3 say
    '/api/v1 has been removed in Airflow 3, please use its upgraded version /api/v2 instead.')."""
    body = response.json()
    if response.status != 404 or not isinstance(body, dict) or set(body) != {"error"}:
        return None
    words = body["error"]
    asked_v1 = "/api/v1" in urlsplit(response.url).path
    return words if isinstance(words, str) and asked_v1 and "/api/v2" in words and _airflow_shaped(response) else None


_SIGN_IN_PARAMETERS = frozenset(("client_id", "response_type", "redirect_uri", "samlrequest"))
"""OAuth 2.0 / OpenID Connect authorization requests and SAML requests carry these: the target is an identity provider."""


def is_login_redirect(response: ProbeResponse) -> bool:
    """A redirect that sends the client away to sign in: its target is an identity provider's authorization request
    (OAuth 2.0/OIDC, SAML parameters), or it carries the requested address along to come back to after the login."""
    if not response.is_redirect or not response.location:
        return False
    query = parse_qs(urlsplit(response.location).query)
    if _SIGN_IN_PARAMETERS & {name.lower() for name in query}:
        return True
    asked = urlsplit(response.url).path
    return bool(asked) and asked != "/" and any(asked in unquote(v) for values in query.values() for v in values)


SSO_HOSTS = ("accounts.google.com", "login.microsoftonline.com", "amazoncognito.com", "okta.com", "auth0.com",
             "onelogin.com", "pingidentity.com", "keycloak")
"""Identity providers' host names (or parts of them): a redirect there is a sign-in."""


def redirects_to_sign_in(response: ProbeResponse) -> bool:
    """A redirect to an identity provider's host, to a login path (/login, /signin, /sso, /oauth, /auth), or one
    is_login_redirect recognises by its parameters."""
    if not response.is_redirect:
        return False
    target = urlsplit(response.location or "")
    return (any(sso in (target.hostname or "").lower() for sso in SSO_HOSTS) or is_login_redirect(response)
            or re.search(r"/(login|signin|sso|oauth|auth)\b", target.path, re.I) is not None)


def is_login_page(response: ProbeResponse) -> bool:
    """A page with a password field, or 'sign in' / 'log in', in its first 50 kB."""
    head = response.body[:50000].lower()
    return b'type="password"' in head or b"type='password'" in head or b"sign in" in head or b"log in" in head
