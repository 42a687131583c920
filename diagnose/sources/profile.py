"""The profile: everything the doctor needs to call one Airflow the way the user's script does, as typed values.

What a profile *is* lives here, apart from where it comes from (a YAML file: builder.py and profiles_file.py;
--url: url.py; --from-curl: curl.py), so the checks and platforms that read a profile import only this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping
from urllib.parse import urlsplit

from airflow_doctor.secrets import Secret
from airflow_doctor.transport import NO_PROXY, shown_proxy

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0
MAX_SECRET_FILE_BYTES = 64 * 1024
TOKEN_SCHEMES = ("bearer", "none")
AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
"""The shape of an AWS region name (us-east-1, us-gov-west-1, cn-north-1); boto3 refuses others."""
BASIC_ENCODINGS = ("latin-1", "utf-8")


class AuthType(str, Enum):
    GOOGLE = "google"
    """Google Application Default Credentials: an access token sent as Bearer (Cloud Composer)."""
    BASIC = "basic"
    JWT = "jwt"
    TOKEN = "token"
    NONE = "none"
    AWS = "aws"


class AwsVia(str, Enum):
    """How the script reaches an MWAA environment's Airflow API."""

    INVOKE_REST_API = "invoke-rest-api"
    WEB_LOGIN = "web-login"


@dataclass(frozen=True)
class AwsTarget:
    """auth type aws: the MWAA environment, and where boto3 finds the caller's AWS credentials."""

    environment: str
    region: str | None = None
    aws_profile: str | None = None
    via: AwsVia = AwsVia.INVOKE_REST_API


@dataclass(frozen=True)
class Auth:
    type: AuthType
    username: str | None = None
    password: Secret | None = None
    token: Secret | None = None
    encoding: str = "latin-1"
    """How the script encodes Basic credentials: latin-1 (requests with a str) or utf-8 (curl, browsers, bytes)."""
    scheme: str = "bearer"
    """How a token goes in Authorization: 'bearer' (Bearer <token>) or 'none' (the bare key: Astro Private Cloud)."""
    aws: AwsTarget | None = None


@dataclass(frozen=True)
class ScriptRequest:
    """How the user's script sends the trigger, when the profile says (checked by payload-schema)."""

    path: str | None = None
    method: str = "POST"
    content_type: str | None = None


@dataclass(frozen=True)
class UnsetSecret:
    """A credential field whose ${VAR} names an environment variable that is not set."""

    key: str
    variable: str


@dataclass(frozen=True)
class Header:
    """An extra header sent on every request; its value is a registered secret (an API key, a gateway's token)."""

    name: str
    value: Secret
    variable: str
    """The environment variable the working request reads the value from (the profile's own ${VAR} when it had one)."""




@dataclass(frozen=True)
class Network:
    """How requests travel besides tls.verify (Profile.verify): extra headers, the OS trust store, a client
    certificate, the proxy. The defaults are what requests does: no headers, its own CA bundle, the environment's
    proxy."""

    headers: tuple[Header, ...] = ()
    system_ca: bool = False
    """tls.verify: system: the operating system's trust store, as a browser uses (truststore)."""
    client_cert: str | None = None
    client_key: str | None = None
    client_key_password: Secret | None = None
    proxy: str | None = None
    """None: the environment's (HTTP(S)_PROXY, NO_PROXY), as requests does; NO_PROXY: never; else the proxy URL (its
    password is registered as a secret: show it with proxy_shown)."""

    @property
    def proxy_shown(self) -> str | None:
        """scheme://host:port of the profile's proxy: a proxy URL can carry a password."""
        return shown_proxy(self.proxy) if self.proxy and self.proxy != NO_PROXY else self.proxy

    @property
    def cert(self) -> tuple[str, str] | str | None:
        """requests' cert=."""
        if self.client_cert and self.client_key:
            return self.client_cert, self.client_key
        return self.client_cert


@dataclass(frozen=True)
class Profile:
    name: str
    url: str
    auth: Auth
    dag_id: str | None = None
    payload: dict[str, Any] | list[Any] | None = None
    """The body the script posts: an object, or a JSON list (which payload-schema reports as the cause)."""
    verify: bool | str = True
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    description: str | None = None
    request: ScriptRequest | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    unset: tuple["UnsetSecret", ...] = ()
    """Secrets whose ${VAR} is not set (only when loaded with allow_unset): `check` then runs reachability only."""
    network: Network = field(default_factory=Network)
    origin: str | None = None
    """The origin (scheme://host[:port]) of a web page that triggers the DAG from a browser: checks/cors.py."""

    def probe_options(self) -> dict[str, Any]:
        """The Probe's settings: TLS (verify, the OS store, the client certificate), the timeouts, the extra headers
        and the proxy, so every request the checks send travels the way the script's does."""
        net = self.network
        return dict(verify=self.verify, connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                    headers={h.name: h.value.reveal() for h in net.headers}, system_ca=net.system_ca, cert=net.cert,
                    key_password=net.client_key_password.reveal() if net.client_key_password else None,
                    proxy=net.proxy)

    def missing_secret_sentence(self) -> str | None:
        """Which variables to set before the checks that need credentials can run, or None."""
        if not self.unset:
            return None
        named = ", ".join(f"{u.key} (${{{u.variable}}})" for u in self.unset)
        exports = " ".join(f"{u.variable}=..." for u in self.unset)
        return f"only reachability ran: {named} is not set; run: export {exports} and check again."

    def shown_fields(self) -> list[tuple[str, str, str]]:
        """(field, value with secrets masked, where it came from) for `profiles show`."""
        rows = [("url", self.url or "(the MWAA environment's web server)"), ("auth.type", self.auth.type.value)]
        if self.auth.aws is not None:
            rows += [("auth.environment", self.auth.aws.environment),
                     ("auth.region", self.auth.aws.region or "(from the AWS config)"),
                     ("auth.aws_profile", self.auth.aws.aws_profile or "(boto3's default chain)"),
                     ("auth.via", self.auth.aws.via.value)]
        if self.auth.username is not None:
            rows.append(("auth.username", self.auth.username))
        if self.auth.password is not None:
            rows.append(("auth.password", f"*** ({len(self.auth.password)} chars)"))
        if self.auth.token is not None:
            rows.append(("auth.token", f"*** ({len(self.auth.token)} chars)"))
            if self.auth.scheme != "bearer":
                rows.append(("auth.scheme", self.auth.scheme))
        rows += [(u.key, f"(unset: export {u.variable})") for u in self.unset]
        if self.request is not None:
            rows += [("request.path", self.request.path or "(the trigger endpoint)"), ("request.method", self.request.method),
                     ("request.content_type", self.request.content_type or "application/json")]
        rows += [("dag_id", self.dag_id or "(not set)"),
                 ("payload", "(not set)" if self.payload is None else _compact(self.payload)),
                 ("tls.verify", "system" if self.network.system_ca else str(self.verify)),
                 *self.network_rows(),
                 *([("origin", self.origin)] if self.origin else []),
                 ("timeout.connect", f"{self.connect_timeout:g} s"),
                 ("timeout.read", f"{self.read_timeout:g} s")]
        return [(key, value, self.sources.get(key, "default")) for key, value in rows]

    def network_rows(self) -> list[tuple[str, str]]:
        net = self.network
        rows = [(f"headers.{h.name}", f"*** ({len(h.value)} chars)") for h in net.headers]
        rows += [(key, value) for key, value in (("tls.client_cert", net.client_cert), ("tls.client_key", net.client_key))
                 if value]
        if net.client_key_password is not None:
            rows.append(("tls.client_key_password", f"*** ({len(net.client_key_password)} chars)"))
        rows.append(("proxy", net.proxy_shown or "(the environment's: HTTP(S)_PROXY, NO_PROXY)"))
        return rows


def origin_problem(origin: str) -> str | None:
    """Why `origin` is not what a browser sends in Origin (scheme://host[:port] in lower case, nothing after), or None:
    Airflow compares the Origin header with its setting as plain strings."""
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc \
            or origin != f"{parts.scheme}://{parts.netloc.lower()}":
        return (f"{origin!r} is not an origin; write the web page's scheme://host[:port] in lower case, with no path or trailing slash (e.g. https://portal.example.com).")
    return None


def _compact(value: Any) -> str:
    import json

    from airflow_doctor.redact import redact_json

    return json.dumps(redact_json(value), ensure_ascii=False)
