"""A local stand-in for the AWS MWAA service, with a real Airflow behind it.

It speaks the wire protocol of botocore's MWAA model (rest-json): GetEnvironment (`GET /environments/{Name}`),
InvokeRestApi (`POST /restapi/{Name}`) and CreateWebLoginToken (`POST /webtoken/{Name}`); errors as AWS sends them
(`x-amzn-ErrorType` header, JSON body with the shape's members, the shape's HTTP status). Every request's SigV4
signature is verified by re-signing it with botocore's own `SigV4Auth` and the secret of the access key; the calling
identity's policy document (statements with Action/Resource, wildcards allowed) decides what it may do and which
Airflow role it acts as, and the stand-in forwards to the real Airflow as the user of that role, so every Airflow
answer is the real server's.

Behaviour AWS does not document (which role a wildcard resource picks, the error for an environment older than
2.4.3, the answer when Airflow takes longer than 10 s, the web server's login answer) is chosen here and listed as
unverified in the README.
"""

from __future__ import annotations

import fnmatch
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import requests

from tests.servers import LocalServer, Reply

ROLES = ("Admin", "Op", "User", "Viewer", "Public")
"""Airflow's built-in roles, highest first: a policy that names several role ARNs maps the caller to the highest."""
WILDCARD_ROLE = "Viewer"
"""The role a policy gets whose resource covers the role ARN only by a wildcard ("*", role/<env>/*). AWS says only
that such a session is "mapped to a role that lacks" Admin's permissions (re:Post, MWAA REST API Forbidden errors);
which role it is, is this stand-in's choice (README: unverified)."""
BAD_SIGNATURE = ("The request signature we calculated does not match the signature you provided. Check your AWS "
                 "Secret Access Key and signing method. Consult the service documentation for details.")
SKEW_S = 300
WEB_TOKEN_TTL_S = 60


@dataclass
class Statement:
    action: str | list[str]
    resource: str | list[str]
    effect: str = "Allow"

    def matches(self, action: str, resource: str, exact: bool = False) -> bool:
        """Whether the statement covers action and resource; `exact`: names the resource itself, no wildcard."""
        actions = [self.action] if isinstance(self.action, str) else self.action
        resources = [self.resource] if isinstance(self.resource, str) else self.resource
        named = [r for r in resources if r == resource] if exact else resources
        return (any(fnmatch.fnmatchcase(action, a) for a in actions)
                and any(fnmatch.fnmatchcase(resource, r) for r in named))


@dataclass
class Principal:
    """An IAM identity: its access key pair and the statements of its policy."""

    arn: str
    access_key: str
    secret_key: str
    policy: list[Statement] = field(default_factory=list)

    def allowed(self, action: str, resource: str, exact: bool = False) -> bool:
        if any(s.effect == "Deny" and s.matches(action, resource) for s in self.policy):
            return False
        return any(s.effect == "Allow" and s.matches(action, resource, exact) for s in self.policy)


@dataclass
class AirflowUser:
    username: str
    password: str


@dataclass
class MwaaEnvironment:
    name: str
    airflow_url: str
    airflow_version: str
    users: dict[str, AirflowUser]
    """Airflow role (Admin/Op/User/Viewer) → the real Airflow user that plays it."""
    region: str = "us-east-1"
    account: str = "111122223333"
    status: str = "AVAILABLE"
    access_mode: str = "PUBLIC_ONLY"
    webserver_host: str | None = None
    service_timeout: float = 10.0

    @property
    def arn(self) -> str:
        return f"arn:aws:airflow:{self.region}:{self.account}:environment/{self.name}"

    def role_arn(self, role: str) -> str:
        return f"arn:aws:airflow:{self.region}:{self.account}:role/{self.name}/{role}"

    @property
    def major(self) -> int:
        return int(self.airflow_version.split(".")[0])

    @property
    def api(self) -> str:
        return "/api/v2" if self.major >= 3 else "/api/v1"


class MwaaStandIn:
    """The MWAA control plane on 127.0.0.1 (use as a context manager); `url` goes in AWS_ENDPOINT_URL_MWAA."""

    def __init__(self, environment: MwaaEnvironment, principals: list[Principal], canary: str | None = None,
                 web_token_ttl: float = WEB_TOKEN_TTL_S) -> None:
        self.environment = environment
        self.principals = {p.access_key: p for p in principals}
        self.canary = canary
        self.web_token_ttl = web_token_ttl
        self.web_tokens: dict[str, tuple[str, float]] = {}
        self.issued: list[str] = []
        """Every web login token and every Airflow credential handed out (none may reach a report)."""
        self.invocations: list[dict[str, Any]] = []
        self.session_tokens: list[str] = []
        """The X-Amz-Security-Token of every signed request, in order (temporary credentials)."""
        self.server = LocalServer(self._route)
        self.url = self.server.url

    def __enter__(self) -> "MwaaStandIn":
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    # --- the wire ---------------------------------------------------------------------------------

    def _route(self, handler: BaseHTTPRequestHandler) -> Reply:
        principal = self._authenticate(handler)
        if isinstance(principal, Reply):
            return principal
        path = urlsplit(handler.path).path
        for pattern, method, operation in ((r"/environments/([^/]+)", "GET", self._get_environment),
                                           (r"/restapi/([^/]+)", "POST", self._invoke_rest_api),
                                           (r"/webtoken/([^/]+)", "POST", self._create_web_login_token)):
            match = re.fullmatch(pattern, path)
            if match and handler.command == method:
                name = unquote(match.group(1))
                if name != self.environment.name:
                    return error(404, "ResourceNotFoundException", "message", f"Environment {name} not found.")
                return operation(principal, handler)
        return error(404, "UnknownOperationException", "message", f"no operation for {handler.command} {path}")

    def _authenticate(self, handler: BaseHTTPRequestHandler) -> "Principal | Reply":
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        header = handler.headers.get("Authorization", "")
        found = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                             r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})", header)
        if not found:
            return error(403, "MissingAuthenticationTokenException", "message", "Missing Authentication Token")
        access_key, _, region, service, signed, signature = found.groups()
        if handler.headers.get("X-Amz-Security-Token"):
            self.session_tokens.append(handler.headers["X-Amz-Security-Token"])
        principal = self.principals.get(access_key)
        if principal is None:
            return error(403, "UnrecognizedClientException", "message",
                         "The security token included in the request is invalid.")
        amz_date = handler.headers.get("X-Amz-Date", "")
        wanted = {name: handler.headers.get(name, "") for name in signed.split(";")}
        request = AWSRequest(method=handler.command, url=f"http://{handler.headers.get('Host')}{handler.path}",
                             data=handler.request_body, headers=wanted)  # type: ignore[attr-defined]
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(access_key, principal.secret_key), service, region)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if service != "airflow" or not secrets.compare_digest(expected, signature):
            return error(403, "InvalidSignatureException", "message", BAD_SIGNATURE)
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        if abs((datetime.now(timezone.utc) - signed_at).total_seconds()) > SKEW_S:
            return error(403, "InvalidSignatureException", "message",
                         f"Signature expired: {amz_date} is now earlier than "
                         f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ} ({SKEW_S // 60} min.)")
        return principal

    def _denied(self, principal: Principal, action: str, resource: str) -> Reply:
        return error(403, "AccessDeniedException", "Message",
                     f"User: {principal.arn} is not authorized to perform: {action} on resource: {resource}"
                     + (f" ({self.canary})" if self.canary else ""))

    def _role_of(self, principal: Principal, action: str) -> str | None:
        named = next((r for r in ROLES if principal.allowed(action, self.environment.role_arn(r), exact=True)), None)
        if named is not None:
            return named
        return WILDCARD_ROLE if any(principal.allowed(action, self.environment.role_arn(r)) for r in ROLES) else None

    # --- operations --------------------------------------------------------------------------------

    def _get_environment(self, principal: Principal, handler: BaseHTTPRequestHandler) -> Reply:
        env = self.environment
        if not principal.allowed("airflow:GetEnvironment", env.arn):
            return self._denied(principal, "airflow:GetEnvironment", env.arn)
        body = {"Environment": {"Name": env.name, "Arn": env.arn, "Status": env.status,
                                "AirflowVersion": env.airflow_version, "WebserverAccessMode": env.access_mode,
                                **({"WebserverUrl": env.webserver_host} if env.webserver_host else {})}}
        return Reply(200, {"Content-Type": "application/json", "x-amzn-RequestId": _request_id()},
                     json.dumps(body).encode())

    def _invoke_rest_api(self, principal: Principal, handler: BaseHTTPRequestHandler) -> Reply:
        env = self.environment
        call = json.loads(handler.request_body or b"{}")  # type: ignore[attr-defined]
        path = call.get("Path", "")
        if len(path) > 64:
            return error(400, "ValidationException", "message",
                         f"1 validation error detected: Value '{path}' at 'path' failed to satisfy constraint: "
                         "Member must have length less than or equal to 64")
        role = self._role_of(principal, "airflow:InvokeRestApi")
        if role is None:
            return self._denied(principal, "airflow:InvokeRestApi", env.role_arn("Admin"))
        if _version(env.airflow_version) < (2, 4, 3):
            return error(400, "ValidationException", "message", "Update your environment to use InvokeRestApi.")
        self.invocations.append({"role": role, **call})
        try:
            status, document = self._forward(role, call)
        except requests.Timeout:
            return error(400, "RestApiServerException", None, None,
                         {"RestApiStatusCode": 504, "RestApiResponse": {
                             "message": f"the Airflow web server did not answer within {env.service_timeout:g} s"}})
        wrapped = {"RestApiStatusCode": status, "RestApiResponse": document}
        if status < 400:
            return Reply(200, {"Content-Type": "application/json", "x-amzn-RequestId": _request_id()},
                         json.dumps(wrapped).encode())
        kind = "RestApiClientException" if status < 500 else "RestApiServerException"
        return error(400, kind, None, None, wrapped)

    def _forward(self, role: str, call: dict[str, Any]) -> tuple[int, Any]:
        env = self.environment
        url = env.airflow_url + env.api + call["Path"]
        query = call.get("QueryParameters") or {}
        response = requests.request(call.get("Method", "GET"), url + (f"?{urlencode(query)}" if query else ""),
                                    json=call.get("Body"), headers=self.airflow_headers(role),
                                    timeout=env.service_timeout)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text

    def airflow_headers(self, role: str) -> dict[str, str]:
        """How the stand-in acts as the role's Airflow user: Basic on Airflow 2, a real JWT on Airflow 3."""
        user = self.environment.users.get(role)
        if user is None:
            return {}
        if self.environment.major >= 3:
            return {"Authorization": f"Bearer {self.airflow_token(user)}"}
        return {"Authorization": requests.auth._basic_auth_str(user.username.encode(), user.password.encode())}

    def airflow_token(self, user: AirflowUser) -> str:
        answer = requests.post(f"{self.environment.airflow_url}/auth/token",
                               json={"username": user.username, "password": user.password}, timeout=20)
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def _create_web_login_token(self, principal: Principal, handler: BaseHTTPRequestHandler) -> Reply:
        env = self.environment
        role = self._role_of(principal, "airflow:CreateWebLoginToken")
        if role is None:
            return self._denied(principal, "airflow:CreateWebLoginToken", env.role_arn("Admin"))
        token = "webtoken-" + secrets.token_urlsafe(24)
        self.web_tokens[token] = (role, time.monotonic() + self.web_token_ttl)
        self.issued.append(token)
        user = env.users.get(role)
        identity = principal.arn.split(":")[-1]
        body = {"WebToken": token, "WebServerHostname": env.webserver_host or "",
                "IamIdentity": identity, "AirflowIdentity": user.username if user else f"{identity} (Public)"}
        return Reply(200, {"Content-Type": "application/json", "x-amzn-RequestId": _request_id()},
                     json.dumps(body).encode())

    def redeem(self, token: str) -> str | None:
        """The role a web login token stands for, once, within its 60 s."""
        role, expires = self.web_tokens.pop(token, (None, 0.0))
        return role if role is not None and time.monotonic() < expires else None


class MwaaWebServer:
    """The environment's web server: the MWAA login endpoints, and the Airflow API behind them (the real Airflow).

    Airflow 2: `POST /aws_mwaa/login` (form field `token`) sets the real Airflow `session` cookie of the mapped user;
    Airflow 3: `POST /pluginsv2/aws_mwaa/login` sets `_token`, a real JWT from Airflow's /auth/token.
    """

    def __init__(self, service: MwaaStandIn) -> None:
        self.service = service
        self.server = LocalServer(self._route)
        self.host = f"127.0.0.1:{self.server.port}"
        self.url = self.server.url

    def __enter__(self) -> "MwaaWebServer":
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    def _route(self, handler: BaseHTTPRequestHandler) -> Reply:
        env = self.service.environment
        path = urlsplit(handler.path).path
        login = "/pluginsv2/aws_mwaa/login" if env.major >= 3 else "/aws_mwaa/login"
        if path == login and handler.command == "POST":
            return self._login(handler)
        if path.startswith("/api/"):
            return self._forward(handler)
        return Reply(404, {"Content-Type": "text/plain"}, b"Not Found")

    def _login(self, handler: BaseHTTPRequestHandler) -> Reply:
        form = parse_qs(handler.request_body.decode())  # type: ignore[attr-defined]
        role = self.service.redeem((form.get("token") or [""])[0])
        user = self.service.environment.users.get(role or "")
        if user is None:
            return Reply(401, {"Content-Type": "text/plain"}, b"Unauthorized")
        if self.service.environment.major >= 3:
            value = self.service.airflow_token(user)
            cookie = f"_token={value}; Path=/"
        else:
            value = airflow2_session(self.service.environment.airflow_url, user)
            cookie = f"session={value}; Path=/; HttpOnly"
        self.service.issued.append(value)
        return Reply(302, {"Location": "/", "Set-Cookie": cookie}, b"")

    def _forward(self, handler: BaseHTTPRequestHandler) -> Reply:
        headers = {k: v for k, v in handler.headers.items() if k.lower() in ("authorization", "cookie", "content-type",
                                                                             "accept")}
        response = requests.request(handler.command, self.service.environment.airflow_url + handler.path,
                                    data=handler.request_body or None, headers=headers,  # type: ignore[attr-defined]
                                    timeout=30, allow_redirects=False)
        kept = {k: v for k, v in response.headers.items() if k.lower() in ("content-type", "www-authenticate", "location")}
        return Reply(response.status_code, kept, response.content)


def airflow2_session(airflow_url: str, user: AirflowUser) -> str:
    """A real Flask session cookie: log in to Airflow 2's /login/ form with its CSRF token."""
    browser = requests.Session()
    page = browser.get(f"{airflow_url}/login/", timeout=20)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
        r'id="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert csrf, "no CSRF token on Airflow's login page"
    browser.post(f"{airflow_url}/login/", data={"csrf_token": csrf.group(1), "username": user.username,
                                                "password": user.password}, timeout=20, allow_redirects=False)
    return browser.cookies["session"]


def error(status: int, code: str, key: str | None, message: str | None, body: dict[str, Any] | None = None) -> Reply:
    """An AWS rest-json error: the shape's status, x-amzn-ErrorType, and its members as the JSON body."""
    payload = body if body is not None else {key: message}
    return Reply(status, {"Content-Type": "application/json", "x-amzn-ErrorType": code, "x-amzn-RequestId": _request_id()},
                 json.dumps(payload).encode())


def _request_id() -> str:
    return secrets.token_hex(4) + "-" + secrets.token_hex(2) + "-" + secrets.token_hex(2)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


__all__ = ["MwaaStandIn", "MwaaWebServer", "MwaaEnvironment", "Principal", "Statement", "AirflowUser", "ROLES"]
