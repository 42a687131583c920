"""A stand-in for an Astronomer deployment's front: https://<org>.astronomer.run/<deployment> in front of a REAL
Airflow, reached as an HTTP proxy (HTTP_PROXY / http_proxy, which requests and curl honour), so the doctor sees the
deployment's real URL shape.

It checks its own API tokens (configured by the test: token -> deployment, role), strips the deployment's sub-path
and forwards to Airflow as the conftest user of the token's role, so every Airflow answer is the real server's.
Astro sends tokens after 'Bearer'; Astro Private Cloud / Software take the key alone (`bare_keys=True`). What
Astronomer answers for a token of another deployment is not documented publicly: this front answers a plain-text
401, and the tests assert only what the doctor reasons from (a refusal not in Airflow's shape).
"""

from __future__ import annotations

from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.servers import LocalServer, Reply
from tests.standins.forward import AirflowForwarder

ROLE_USERS = {"WORKSPACE_OPERATOR": "op", "DEPLOYMENT_ADMIN": "admin", "DAG_VIEWER": "viewer"}


@dataclass(frozen=True)
class AstroToken:
    deployment: str
    role: str = "WORKSPACE_OPERATOR"


class AstronomerFront(LocalServer):
    def __init__(self, host: str, deployment: str, airflow_url: str, major: int, passwords: dict[str, str],
                 tokens: dict[str, AstroToken], bare_keys: bool = False) -> None:
        self.host, self.deployment, self.tokens, self.bare_keys = host, deployment, tokens, bare_keys
        self.airflow = AirflowForwarder(airflow_url, major, passwords)
        super().__init__(self._route)

    @property
    def deployment_url(self) -> str:
        return f"http://{self.host}/{self.deployment}"

    def _route(self, handler: BaseHTTPRequestHandler) -> Reply:
        parts = urlsplit(handler.path)
        prefix = f"/{self.deployment}"
        if (parts.hostname or self.host) != self.host or not (parts.path == prefix or parts.path.startswith(prefix + "/")):
            return Reply(404, {"Content-Type": "text/plain"}, b"404 page not found")
        path = parts.path[len(prefix):] or "/"
        path += f"?{parts.query}" if parts.query else ""
        user = self._user(handler.headers.get("Authorization", ""))
        if user is False:
            return Reply(401, {"Content-Type": "text/plain; charset=utf-8"}, b"Unauthorized")
        status, headers, body = self.airflow.forward(handler.command, path, dict(handler.headers.items()),
                                                     handler.request_body, user or None)
        return Reply(status, headers, body)

    def _user(self, authorization: str) -> str | bool:
        """The Airflow user of the token's role; '' when no token was sent (Airflow judges), False when refused."""
        if not authorization:
            return ""
        scheme, _, rest = authorization.partition(" ")
        key = authorization.strip() if self.bare_keys else (rest.strip() if scheme.lower() == "bearer" else "")
        token = self.tokens.get(key)
        if token is None or token.deployment != self.deployment:
            return False
        return ROLE_USERS[token.role]
