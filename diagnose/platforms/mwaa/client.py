"""AWS MWAA: the environment's facts (GetEnvironment) and its Airflow API behind the Probe's usual interface.

There are no Airflow passwords on MWAA: boto3 signs each call (SigV4) with the caller's AWS credentials and the IAM
policy decides the Airflow role. `InvokeRestApiAdapter` is a requests transport adapter that turns the checks'
`/api/vN/<path>` calls into InvokeRestApi and builds the `requests.Response` from Airflow's own status and body
(unwrapped from `RestApiClientException`/`RestApiServerException` too), so every check reads Airflow's answer exactly
as on a self-hosted server. The web-login path (CreateWebLoginToken, then the web server's login endpoint) lives
here too. boto3 is imported lazily: only an `auth: {type: aws}` profile needs it.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from airflow_doctor.errors import MissingExtra, ProfileError
from airflow_doctor.sources.profile import AwsTarget, AwsVia, Profile
from airflow_doctor.secrets import REGISTRY, SecretRegistry

INSTALL = "pip install 'airflow-doctor[aws]'"
MAX_PATH = 64
"""InvokeRestApi's `Path` limit (botocore's model: RestApiPath max 64; botocore itself checks only the minimum)."""
INVOKE_REST_API_SINCE = (2, 4, 3)
"""The first Airflow version on which MWAA offers InvokeRestApi."""
SERVICE_TIMEOUT_S = 10
"""InvokeRestApi gives up on the web server after 10 s (AWS documentation)."""
WRAPPED = ("RestApiClientException", "RestApiServerException")
ERROR_TYPE = "x-amzn-ErrorType"
_API_PATH = re.compile(r"/api/v([12])(/.*)$")


@dataclass(frozen=True)
class AwsError:
    """An answer of the MWAA service itself (not Airflow's): the operation, AWS's error code and message."""

    operation: str
    code: str
    message: str
    status: int | None = None


@dataclass(frozen=True)
class Environment:
    """What GetEnvironment answered."""

    name: str
    status: str
    airflow_version: str
    webserver_url: str | None
    access_mode: str | None
    arn: str | None

    @property
    def major(self) -> int | None:
        head = self.airflow_version.split(".")[0]
        return int(head) if head.isdigit() else None

    @property
    def api_prefix(self) -> str:
        """The API MWAA forwards InvokeRestApi to: the environment's own version's."""
        return "/api/v2" if (self.major or 2) >= 3 else "/api/v1"

    @property
    def web_url(self) -> str | None:
        """The web server's address; GetEnvironment gives a bare host name (https is implied)."""
        if not self.webserver_url:
            return None
        return self.webserver_url if "://" in self.webserver_url else f"https://{self.webserver_url}"

    def has_invoke_rest_api(self) -> bool:
        numbers = tuple(int(p) for p in re.findall(r"\d+", self.airflow_version)[:3])
        return numbers >= INVOKE_REST_API_SINCE if numbers else True

    def role_arn(self, role: str, region: str | None) -> str:
        """The IAM resource that maps a caller to an Airflow role: arn:aws:airflow:<region>:<account>:role/<env>/<Role>."""
        parts = (self.arn or "").split(":")
        account = parts[4] if len(parts) > 4 and parts[4] else "<account>"
        region = (parts[3] if len(parts) > 3 and parts[3] else None) or region or "<region>"
        return f"arn:aws:airflow:{region}:{account}:role/{self.name}/{role}"


@dataclass
class WebLogin:
    """What the web-login path yields: the Airflow identity and the credential the web server set."""

    airflow_identity: str | None = None
    iam_identity: str | None = None
    cookie: str | None = None
    """Airflow 2: the `session` cookie, sent as a cookie to /api/v1."""
    token: str | None = None
    """Airflow 3: the `_token` cookie, sent as `Authorization: Bearer` to /api/v2."""
    failure: AwsError | None = None


@dataclass
class MwaaState:
    """What the doctor learned about the environment before the checks ran (checks read it; they never import boto3)."""

    target: AwsTarget
    region: str | None
    environment: Environment | None = None
    failure: AwsError | None = None
    client: Any = field(default=None, repr=False)

    @property
    def via(self) -> AwsVia:
        return self.target.via

    def role_arn(self, role: str) -> str:
        if self.environment is not None:
            return self.environment.role_arn(role, self.region)
        return f"arn:aws:airflow:{self.region or '<region>'}:<account>:role/{self.target.environment}/{role}"

    def create_web_login_token(self) -> dict[str, Any] | AwsError:
        try:
            return self.client.call("CreateWebLoginToken", Name=self.target.environment)
        except self.client._botocore.exceptions.BotoCoreError as failure:
            return AwsError("CreateWebLoginToken", type(failure).__name__, " ".join(str(failure).split()))


CREDENTIAL_ERRORS = ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError", "SSOTokenLoadError",
                     "UnauthorizedSSOTokenError", "TokenRetrievalError", "SSOError", "InvalidConfigError",
                     "RefreshWithMFAUnsupportedError")
"""botocore's failures to resolve (or refresh) the caller's credentials: a finding about them, not a crash."""


class MwaaClient:
    """boto3's MWAA client with the doctor's timeouts, no retries, and the last raw answer kept for the evidence."""

    def __init__(self, target: AwsTarget, connect_timeout: float, read_timeout: float,
                 registry: SecretRegistry = REGISTRY) -> None:
        boto3, botocore = _import_boto3()
        import botocore as botocore_package
        from botocore.config import Config

        self._botocore = botocore
        self.registry = registry
        self.session = _session(boto3, botocore, target)
        self.profile_name: str = self.session.profile_name
        override = os.environ.get("AWS_ENDPOINT_URL_MWAA") or os.environ.get("AWS_ENDPOINT_URL")
        config = Config(connect_timeout=connect_timeout, read_timeout=read_timeout, retries={"total_max_attempts": 1},
                        inject_host_prefix=not override)
        self.credential_errors = tuple(getattr(botocore.exceptions, name) for name in CREDENTIAL_ERRORS
                                       if hasattr(botocore.exceptions, name))
        self.credential_failure: Exception | None = None
        """Why boto3 could not resolve credentials when the client was made (each call then answers it)."""
        try:
            self.client = _client(self.session, botocore, config, override, self.credential_errors)
        except self.credential_errors as error:
            self.credential_failure = error
            unsigned = config.merge(Config(signature_version=botocore_package.UNSIGNED))
            self.client = _client(self.session, botocore, unsigned, override, self.credential_errors)
        self.region = self.client.meta.region_name
        self._raw = threading.local()
        self.client.meta.events.register("before-parse.mwaa.*", self._keep_raw)
        self.client.meta.events.register("before-send.mwaa.*", self._keep_sent)

    def _keep_raw(self, response_dict: dict[str, Any], **_: Any) -> None:
        self._raw.answer = response_dict

    def _keep_sent(self, request: Any, **_: Any) -> None:
        """Register the session token as signed into this very request (refreshed credentials bring new ones)."""
        headers = dict(request.headers.items())
        token = headers.get("X-Amz-Security-Token")
        self.registry.add(token.decode() if isinstance(token, bytes) else token)
        self._raw.sent = {"method": request.method, "url": request.url, "headers": headers, "body": request.body}

    def raw_answer(self) -> dict[str, Any] | None:
        return getattr(self._raw, "answer", None)

    def last_sent(self) -> dict[str, Any] | None:
        return getattr(self._raw, "sent", None)

    def _credentials(self, operation: str) -> AwsError | None:
        """Resolve (or refresh) the credentials for this call and register their secrets; why not, as an AwsError."""
        if self.credential_failure is not None:
            return credential_error(operation, self.credential_failure)
        try:
            credentials = self.session.get_credentials()
            frozen = credentials.get_frozen_credentials() if credentials is not None else None
        except self.credential_errors as error:
            return credential_error(operation, error)
        if frozen is None:
            return AwsError(operation, "NoCredentialsError", "boto3 found no AWS credentials (environment variables, "
                                                             "~/.aws, SSO, or an instance role)")
        self.registry.add(frozen.secret_key)
        self.registry.add(frozen.token)
        return None

    def call(self, operation: str, **params: Any) -> dict[str, Any] | AwsError:
        """The operation's parsed answer, or the service's error as an AwsError. Transport failures propagate."""
        exceptions = self._botocore.exceptions
        self._raw.answer = None
        self._raw.sent = None
        missing = self._credentials(operation)
        if missing is not None:
            return missing
        method = getattr(self.client, _snake(operation))
        try:
            return method(**params)
        except exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in WRAPPED:
                raise
            details = error.response.get("Error", {})
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return AwsError(operation, str(details.get("Code", "")), str(details.get("Message", "")), status)
        except self.credential_errors as error:
            return credential_error(operation, error)
        except exceptions.ParamValidationError as error:
            return AwsError(operation, "ParamValidation", " ".join(str(error).split()))


def credential_error(operation: str, error: Exception) -> AwsError:
    """botocore's credential failure as the AwsError the checks explain (code: the exception's class name)."""
    return AwsError(operation, type(error).__name__, " ".join(str(error).split()))


def _profile_source(target: AwsTarget) -> str:
    """Where the AWS profile's name came from, as the user would look for it."""
    if target.aws_profile:
        return "auth.aws_profile"
    return next((f"${name}" for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE") if os.environ.get(name)),
                "the default profile")


def _session(boto3: Any, botocore: Any, target: AwsTarget) -> Any:
    """boto3's session for the profile; a broken AWS configuration is one sentence (ProfileError)."""
    exceptions = botocore.exceptions
    try:
        return boto3.Session(profile_name=target.aws_profile, region_name=target.region)
    except exceptions.ProfileNotFound as error:
        name = error.kwargs.get("profile") or target.aws_profile
        raise ProfileError(f"the AWS profile '{name}' ({_profile_source(target)}) is not in ~/.aws/config or "
                           f"~/.aws/credentials; run: aws configure --profile {name}") from None
    except exceptions.ConfigParseError as error:
        raise ProfileError(f"the AWS configuration file {error.kwargs.get('path', '~/.aws/config')} cannot be parsed "
                           f"({' '.join(str(error).split())}); fix its syntax ([profile name] headers, key = value "
                           "lines).") from None
    except exceptions.BotoCoreError as error:
        raise ProfileError(f"boto3 cannot read the AWS configuration: {' '.join(str(error).split())}") from None


def _client(session: Any, botocore: Any, config: Any, override: str | None,
            credential_errors: tuple[type[Exception], ...]) -> Any:
    """The MWAA client; a missing or malformed region or endpoint is one sentence (ProfileError). Credential failures
    propagate: they are the check's finding, not a usage error."""
    exceptions = botocore.exceptions
    try:
        return session.client("mwaa", config=config)
    except credential_errors:
        raise
    except exceptions.NoRegionError:
        raise ProfileError("no AWS region for the MWAA environment; set auth.region in the profile (or "
                           "AWS_REGION, or region in ~/.aws/config).") from None
    except exceptions.InvalidRegionError as error:
        raise ProfileError(f"the AWS region {error.kwargs.get('region_name')!r} is not a region name; set auth.region "
                           "(or AWS_REGION, or region in ~/.aws/config) to one such as us-east-1.") from None
    except ValueError as error:
        variable = "AWS_ENDPOINT_URL_MWAA" if os.environ.get("AWS_ENDPOINT_URL_MWAA") else "AWS_ENDPOINT_URL"
        raise ProfileError(f"${variable} ({override!r}) is not a usable endpoint URL ({error}); set it to an "
                           "https:// URL or unset it.") from None
    except exceptions.BotoCoreError as error:
        raise ProfileError(f"boto3 cannot create the MWAA client: {' '.join(str(error).split())}") from None


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _import_boto3() -> tuple[Any, Any]:
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        raise MissingExtra(f"auth type 'aws' (AWS MWAA) needs boto3, which is not installed; run: {INSTALL}") from None
    return boto3, botocore


def open_environment(profile: Profile, registry: SecretRegistry = REGISTRY) -> MwaaState:
    """The MWAA client for the profile and what GetEnvironment said (or why it could not say)."""
    target = profile.auth.aws
    assert target is not None
    client = MwaaClient(target, profile.connect_timeout, profile.read_timeout, registry)
    state = MwaaState(target, client.region, client=client)
    try:
        answer = client.call("GetEnvironment", Name=target.environment)
    except client._botocore.exceptions.BotoCoreError as failure:
        state.failure = AwsError("GetEnvironment", type(failure).__name__, " ".join(str(failure).split()))
        return state
    if isinstance(answer, AwsError):
        state.failure = answer
        return state
    env = answer.get("Environment", {})
    state.environment = Environment(str(env.get("Name", target.environment)), str(env.get("Status", "")),
                                    str(env.get("AirflowVersion", "")), env.get("WebserverUrl"),
                                    env.get("WebserverAccessMode"), env.get("Arn"))
    return state


def base_url(profile: Profile, state: MwaaState) -> str:
    """Where the checks' requests go: the profile's url, else the environment's web server."""
    if profile.url:
        return profile.url
    if state.environment is not None and state.environment.web_url:
        return state.environment.web_url
    return f"https://{state.target.environment}.mwaa.invalid"


def session_factory(state: MwaaState, base: str):  # type: ignore[no-untyped-def]
    """requests sessions for the Probe: InvokeRestApi mounted on the web server's address, or (web-login) plain."""
    def make() -> requests.Session:
        session = requests.Session()
        if state.via is AwsVia.INVOKE_REST_API:
            adapter = InvokeRestApiAdapter(state)
            session.mount(base.rstrip("/") + "/", adapter)
        return session
    return make


class InvokeRestApiAdapter(BaseAdapter):
    """`<web server>/api/vN/<path>` as InvokeRestApi(Path=<path>), answered with Airflow's own status and body."""

    def __init__(self, state: MwaaState) -> None:
        super().__init__()
        self.state = state

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, verify: Any = True,
             cert: Any = None, proxies: Any = None) -> requests.Response:
        """Airflow's answer; `request` is left describing what really went on the wire (InvokeRestApi's POST), so the
        evidence shows that and not a request to the web server that was never sent."""
        asked = getattr(request, "airflow_request", None) or (request.method, request.url, request.body)
        request.airflow_request = asked  # type: ignore[attr-defined]
        params = self._params(request, *asked)
        try:
            return self._answer(request, params)
        finally:
            self._record_as_sent(request, params)

    def _params(self, request: requests.PreparedRequest, method: str | None, url: str | None,
                body: Any) -> dict[str, Any]:
        parts = urlsplit(url or "")
        match = _API_PATH.search(parts.path)
        own = self.state.environment.api_prefix if self.state.environment else None
        if match is None or (own is not None and f"/api/v{match.group(1)}" != own):
            raise requests.exceptions.ConnectionError(
                f"InvokeRestApi reaches only the environment's REST API ({own or '/api/vN'}), not {parts.path}",
                request=request)
        params: dict[str, Any] = {"Name": self.state.target.environment, "Path": match.group(2),
                                  "Method": (method or "GET").upper()}
        if parts.query:
            params["QueryParameters"] = dict(parse_qsl(parts.query, keep_blank_values=True))
        if body:
            raw = body.decode("utf-8") if isinstance(body, bytes) else str(body)
            try:
                params["Body"] = json.loads(raw)
            except ValueError:
                raise requests.exceptions.ConnectionError(
                    "InvokeRestApi carries a JSON body only; this request's body is not JSON", request=request) from None
        return params

    def _record_as_sent(self, request: requests.PreparedRequest, params: dict[str, Any]) -> None:
        """The request botocore sent (signed headers, JSON body), or, when nothing was sent, the call it would be."""
        sent = self.state.client.last_sent()
        if sent is None:
            endpoint = self.state.client.client.meta.endpoint_url.rstrip("/")
            body = {k: v for k, v in params.items() if k != "Name"}
            sent = {"method": "POST", "url": f"{endpoint}/restapi/{quote(params['Name'], safe='')}",
                    "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
        request.method = sent["method"]
        request.url = sent["url"]
        request.headers = CaseInsensitiveDict({k: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                                               for k, v in sent["headers"].items()})
        request.body = sent["body"]

    def _answer(self, request: requests.PreparedRequest, params: dict[str, Any]) -> requests.Response:
        client = self.state.client
        exceptions = client._botocore.exceptions
        try:
            answer = client.call("InvokeRestApi", **params)
        except exceptions.ClientError as wrapped:
            return self._response(request, int(wrapped.response.get("RestApiStatusCode") or 502),
                                  wrapped.response.get("RestApiResponse"), client.raw_answer())
        except (exceptions.ReadTimeoutError, exceptions.ConnectTimeoutError) as failure:
            kind = (requests.exceptions.ReadTimeout if isinstance(failure, exceptions.ReadTimeoutError)
                    else requests.exceptions.ConnectTimeout)
            raise kind(str(failure), request=request) from failure
        except exceptions.BotoCoreError as failure:
            raise requests.exceptions.ConnectionError(" ".join(str(failure).split()), request=request) from failure
        raw = client.raw_answer()
        if isinstance(answer, AwsError):
            return self._aws_error(request, answer, raw)
        return self._response(request, int(answer.get("RestApiStatusCode") or 200), answer.get("RestApiResponse"), raw)

    def _response(self, request: requests.PreparedRequest, status: int, document: Any,
                  raw: dict[str, Any] | None) -> requests.Response:
        headers = {k: v for k, v in ((raw or {}).get("headers") or {}).items()
                   if k.lower() not in ("content-length", "content-type", ERROR_TYPE.lower(), "connection")}
        body = b"" if document is None else json.dumps(document).encode("utf-8")
        return _build(request, status, {**headers, "Content-Type": "application/json"}, body)

    def _aws_error(self, request: requests.PreparedRequest, error: AwsError,
                   raw: dict[str, Any] | None) -> requests.Response:
        """The service's own refusal, as it came over the wire (its status, x-amzn-ErrorType and body)."""
        if raw is None:
            raise requests.exceptions.ConnectionError(f"{error.operation}: {error.code}: {error.message}", request=request)
        headers = dict(raw.get("headers") or {})
        headers.setdefault(ERROR_TYPE, error.code)
        body = raw.get("body") or b""
        return _build(request, int(raw.get("status_code") or error.status or 400), headers,
                      body if isinstance(body, bytes) else str(body).encode("utf-8"))


def _build(request: requests.PreparedRequest, status: int, headers: dict[str, str], body: bytes) -> requests.Response:
    import io

    from urllib3 import HTTPResponse

    raw = HTTPResponse(body=io.BytesIO(body), headers=headers, status=status, preload_content=False,
                       decode_content=False)
    response = requests.Response()
    response.status_code = status
    response.headers = CaseInsensitiveDict({**headers, "Content-Length": str(len(body))})
    response.raw = raw
    response.url = request.url or ""
    response.request = request
    response.reason = ""
    return response


def service_error(headers: Any, body: Any) -> AwsError | None:
    """The MWAA service's own refusal in an answer the adapter passed on (not Airflow's), by AWS's error header."""
    code = (headers.get(ERROR_TYPE) or "").split(":")[0]
    if not code:
        return None
    message = ""
    if isinstance(body, dict):
        message = str(body.get("Message") or body.get("message") or "")
    return AwsError("InvokeRestApi", code, message)


def api_path_length(path: str) -> int:
    """The length of the `Path` InvokeRestApi would carry for a `/api/vN/...` path."""
    match = _API_PATH.search(path)
    return len(match.group(2)) if match else len(path)
