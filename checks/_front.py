"""What stands between the client and Airflow: whose answer a response is, and where Airflow is mounted.

Shared by reachability (a wrong sub-path), auth-backend (a 401 that Airflow never gave, an Authorization
header that never arrived) and the token exchange (/auth/token answering 404 while the UI loads).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from airflow_doctor.http import ProbeResponse

AIRFLOW_SERVERS = ("gunicorn", "uvicorn", "werkzeug")
"""The Server header Airflow's own web servers send (2.x gunicorn or the dev server, 3.x uvicorn)."""

_BASE_HREF = re.compile(r"<base[^>]*href=[\"']([^\"']*)[\"']", re.I)
_PREFIXED_LINK = re.compile(r"(?:href|src|action)=[\"'](/[A-Za-z0-9._~%-]+(?:/[A-Za-z0-9._~%-]+)*)/"
                            r"(?:static|home|login|assets|auth)\b", re.I)


def intermediary(response: ProbeResponse | None) -> str | None:
    """What the headers say stands in front of Airflow ('Via: 1.1 edge', 'Server: nginx'), or None."""
    if response is None:
        return None
    via = response.headers.get("Via")
    if via:
        return f"Via: {via}"
    server = response.headers.get("Server") or ""
    if server and not server.lower().startswith(AIRFLOW_SERVERS):
        return f"Server: {server}"
    return None


def proxy_realm(response: ProbeResponse | None) -> str | None:
    """A challenge with a realm: Airflow's own 401s never name one (2.x 'Basic' or none, 3.x none)."""
    challenge = response.headers.get("WWW-Authenticate", "") if response is not None else ""
    match = re.search(r"realm=\"?([^\",]*)", challenge, re.I)
    return match.group(1) if match else None


def is_airflow_refusal(response: ProbeResponse) -> bool:
    """A 401/403 in Airflow's own shape: 2.x problem+json naming its docs, 3.x FastAPI's {"detail": "..."}."""
    body = response.json()
    if not isinstance(body, dict) or proxy_realm(response):
        return False
    if "apache-airflow" in str(body.get("type", "")) or body.get("title") in ("Unauthorized", "Forbidden"):
        return True
    return set(body) == {"detail"} and isinstance(body["detail"], str)


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
