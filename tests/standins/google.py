"""Stand-ins for Google: an OAuth2 token endpoint (reached through the credentials file's own `token_uri`, as
google-auth does) and a Cloud Composer web server front that forwards to a REAL Airflow.

The token endpoint speaks what google-auth sends and reads (google/oauth2/_client.py, reauth.py): a form-encoded
POST with grant_type refresh_token (authorized-user files) or urn:ietf:params:oauth:grant-type:jwt-bearer (service
account keys, a signed assertion whose `iss` is the account's e-mail), answered with JSON access_token, expires_in,
token_type, scope; refusals as JSON error and error_description with status 400. Its tokeninfo answers what
Google's tokeninfo answers for an access token (sub, email, scope, expires_in) or 400 invalid_token.

The front does what Composer's composer_auth backend does, as far as Google documents it: it looks the Bearer
token's principal up (at tokeninfo), maps it to the Airflow user accounts.google.com:<sub>, registers a principal it
has never seen with the configured registration role (Op by default), and forwards the request to Airflow as that
user: as the conftest user holding that role (Op -> op, User -> user1, Viewer -> viewer), so every answer the
doctor reads, 401 and 403 included, is the real Airflow's. A token it cannot look up is forwarded with no
credentials (Airflow's own 401). The web server access control (an IP allow-list) answers callers outside it
before Airflow: Google does not document that answer; this front answers a plain HTML 403.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.servers import LocalServer, Reply
from tests.standins.forward import AirflowForwarder

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ROLE_USERS = {"Admin": "admin", "Op": "op", "User": "user1", "Viewer": "viewer"}


@dataclass
class GooglePrincipal:
    email: str
    sub: str
    """Google's numeric id: the Airflow user on Composer is accounts.google.com:<sub>."""
    service_account: bool = False
    refresh_token: str = field(default_factory=lambda: "1//" + secrets.token_urlsafe(40))
    revoked: bool = False
    leak: str | None = None
    """A canary the token endpoint puts in its refusal, to prove the doctor masks what it learns."""

    @property
    def airflow_user(self) -> str:
        return f"accounts.google.com:{self.sub}"


def _json(status: int, body: Any) -> Reply:
    return Reply(status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body).encode())


class GoogleOAuth(LocalServer):
    """The token endpoint (/token) and tokeninfo (/tokeninfo) for the principals it knows."""

    def __init__(self, principals: list[GooglePrincipal]) -> None:
        self.principals = {p.email: p for p in principals}
        self.issued: dict[str, tuple[GooglePrincipal, str]] = {}
        self._lock = threading.Lock()
        super().__init__(self._route)

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def _route(self, handler: BaseHTTPRequestHandler) -> Reply:
        parts = urlsplit(handler.path)
        if parts.path == "/token" and handler.command == "POST":
            return self._token(parse_qs(handler.request_body.decode()))
        if parts.path == "/tokeninfo":
            token = parse_qs(parts.query).get("access_token", [""])[0]
            return self._tokeninfo(token)
        return _json(404, {"error": "not_found"})

    def _token(self, form: dict[str, list[str]]) -> Reply:
        grant = form.get("grant_type", [""])[0]
        principal = None
        if grant == "refresh_token":
            refresh = form.get("refresh_token", [""])[0]
            principal = next((p for p in self.principals.values() if p.refresh_token == refresh), None)
        elif grant == JWT_BEARER:
            claims = _claims(form.get("assertion", [""])[0])
            principal = self.principals.get(str(claims.get("iss")))
        else:
            return _json(400, {"error": "unsupported_grant_type", "error_description": f"Invalid grant_type: {grant}"})
        if principal is None or principal.revoked:
            words = "Invalid JWT Signature." if grant == JWT_BEARER else "Token has been expired or revoked."
            if principal is not None and principal.leak:
                words += f" (refresh token {principal.leak})"
            return _json(400, {"error": "invalid_grant", "error_description": words})
        scope = form.get("scope", [SCOPE])[0]
        token = "ya29." + secrets.token_urlsafe(48)
        with self._lock:
            self.issued[token] = (principal, scope)
        return _json(200, {"access_token": token, "expires_in": 3599, "scope": scope, "token_type": "Bearer"})

    def _tokeninfo(self, token: str) -> Reply:
        with self._lock:
            found = self.issued.get(token)
        if found is None:
            return _json(400, {"error": "invalid_token", "error_description": "Invalid Value"})
        principal, scope = found
        return _json(200, {"azp": principal.sub, "aud": principal.sub, "sub": principal.sub, "scope": scope,
                           "exp": str(int(time.time()) + 3599), "expires_in": "3599", "email": principal.email,
                           "email_verified": "true", "access_type": "offline"})

    def lookup(self, token: str) -> dict[str, Any] | None:
        """What Composer's backend asks Google: the principal of an access token (over HTTP, at tokeninfo)."""
        answer = requests.get(f"{self.url}/tokeninfo", params={"access_token": token}, timeout=10)
        return answer.json() if answer.status_code == 200 else None

    # --- credentials files, as gcloud and the IAM console write them ---------------------------------

    def authorized_user_file(self, folder: Path, principal: GooglePrincipal, account: bool = False) -> Path:
        """What 'gcloud auth application-default login' writes. google-auth (2.62) replaces its token_uri with
        Google's own endpoint, so this file serves only where it is found, never refreshed."""
        data = {"client_id": "000000000000-standin.apps.googleusercontent.com",
                "client_secret": "standin-" + secrets.token_urlsafe(12), "refresh_token": principal.refresh_token,
                "type": "authorized_user", "token_uri": self.token_uri, "universe_domain": "googleapis.com"}
        if account:
            data["account"] = principal.email
        path = folder / "application_default_credentials.json"
        path.write_text(json.dumps(data))
        path.chmod(0o600)
        return path

    def service_account_file(self, folder: Path, principal: GooglePrincipal) -> Path:
        """A service account key file (a fresh RSA key) whose token_uri is this endpoint."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        project = principal.email.split("@")[1].split(".")[0]
        data = {"type": "service_account", "project_id": project, "private_key_id": secrets.token_hex(20),
                "private_key": pem, "client_email": principal.email, "client_id": principal.sub,
                "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": self.token_uri,
                "universe_domain": "googleapis.com"}
        path = folder / "service-account-key.json"
        path.write_text(json.dumps(data))
        path.chmod(0o600)
        return path


def _claims(assertion: str) -> dict[str, Any]:
    try:
        payload = assertion.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


class ComposerFront(LocalServer):
    """A Composer web server in front of a real Airflow (see the module docstring for what it does)."""

    def __init__(self, google: GoogleOAuth, airflow_url: str, major: int, passwords: dict[str, str], *,
                 registration_role: str = "Op", known: dict[str, str] | None = None,
                 allowed_ranges: tuple[str, ...] = ("0.0.0.0/0",), echo_token: bool = False) -> None:
        self.google = google
        self.airflow = AirflowForwarder(airflow_url, major, passwords)
        self.registration_role = registration_role
        self.users: dict[str, str] = dict(known or {})
        """Airflow user accounts.google.com:<sub> -> role, as Composer's Airflow database would hold them."""
        self.allowed = [ipaddress.ip_network(r) for r in allowed_ranges]
        self.echo_token = echo_token
        """A careless front: every answer repeats the caller's token in a header (a canary the doctor must mask)."""
        super().__init__(self._route)

    def _route(self, handler: BaseHTTPRequestHandler) -> Reply:
        caller = ipaddress.ip_address(handler.client_address[0])
        if not any(caller in network for network in self.allowed):
            return Reply(403, {"Content-Type": "text/html; charset=UTF-8"},
                         b"<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1>"
                         b"<p>Your client does not have permission to get URL from this server.</p></body></html>")
        authorization = handler.headers.get("Authorization", "")
        reply = self._forward(handler, self._airflow_user(authorization))
        if self.echo_token and authorization:
            reply.headers["X-Request-Credential"] = authorization.partition(" ")[2]
        return reply

    def _airflow_user(self, authorization: str) -> str | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        info = self.google.lookup(token.strip())
        if info is None or SCOPE not in str(info.get("scope", "")).split():
            return None
        name = f"accounts.google.com:{info['sub']}"
        if name not in self.users:
            if not self.registration_role:
                return None
            self.users[name] = self.registration_role
        return ROLE_USERS[self.users[name]]

    def _forward(self, handler: BaseHTTPRequestHandler, user: str | None) -> Reply:
        status, headers, body = self.airflow.forward(handler.command, handler.path, dict(handler.headers.items()),
                                                     handler.request_body, user)
        return Reply(status, headers, body)
