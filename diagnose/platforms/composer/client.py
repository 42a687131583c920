"""Google Cloud Composer: the Google access token that Application Default Credentials (ADC) give, sent as the Bearer.

This is the only module that imports google-auth (the `[gcp]` extra), and only when a profile has auth type google:
ADC's search order, the credential files and the OAuth refresh are Google's, so the doctor uses Google's own code
for them instead of re-implementing them. The token endpoint is the one the credentials name (`token_uri` in the
file GOOGLE_APPLICATION_CREDENTIALS points to), never a setting of this tool.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping

from airflow_doctor.errors import MissingExtra
from airflow_doctor.redact import redact_text
from airflow_doctor.secrets import REGISTRY, Secret, SecretRegistry

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
INSTALL = "pip install 'airflow-doctor[gcp]'"
CREDENTIALS_VARIABLE = "GOOGLE_APPLICATION_CREDENTIALS"
ADC_LOGIN = "gcloud auth application-default login"


def require_google_auth() -> None:
    try:
        import google.auth  # noqa: F401
        import google.auth.transport.requests  # noqa: F401
    except ImportError:
        raise MissingExtra(f"auth type google needs the google-auth package, which is not installed; run: {INSTALL}") from None


class AdcProblem(str, Enum):
    NOT_FOUND = "not-found"
    """No credentials anywhere ADC looks (variable, gcloud's file, metadata server)."""
    UNUSABLE = "unusable"
    """Credentials were found but cannot be loaded (a broken file, an unknown type)."""
    REFUSED = "refused"
    """The token endpoint refused to issue an access token (revoked or expired login, deleted key)."""
    UNREACHABLE = "unreachable"
    """The token endpoint could not be reached."""
    NOT_OAUTH = "not-oauth"
    """The token endpoint answered, but neither with a token nor with an OAuth refusal (a 5xx, an HTML page)."""


@dataclass(frozen=True)
class Principal:
    """Who ADC resolved to, as far as it can be known locally: never a token."""

    kind: str
    """google-auth's words: 'user credentials', 'service account credentials', ..."""
    source: str
    """Where ADC found them: a file path, or the metadata server."""
    chosen_by: str
    """Why that source: the variable, gcloud's application-default login, or the metadata server."""
    email: str | None = None
    numeric_id: str | None = None
    """A service account's OAuth2 client id: Composer's Airflow user is accounts.google.com:<this>."""

    @property
    def is_user(self) -> bool:
        return self.kind.startswith("user")

    @property
    def is_federated(self) -> bool:
        return "external" in self.kind or "federation" in self.kind or "identity pool" in self.kind

    @property
    def airflow_user(self) -> str | None:
        return f"accounts.google.com:{self.numeric_id}" if self.numeric_id else None

    def describe(self) -> str:
        who = self.email or ("a Google user account (its e-mail is not in the credentials file)" if self.is_user
                             else "an identity whose e-mail is not in the credentials")
        return f"{who} ({self.kind} from {self.source}, chosen by {self.chosen_by})"


class AdcError(Exception):
    def __init__(self, problem: AdcProblem, message: str, principal: Principal | None = None) -> None:
        super().__init__(message)
        self.problem, self.message, self.principal = problem, message, principal

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class AccessToken:
    token: Secret
    principal: Principal


def access_token(registry: SecretRegistry = REGISTRY, environ: Mapping[str, str] = os.environ,
                 deadline: float = 20.0) -> AccessToken:
    """ADC's credentials refreshed into an access token for SCOPE; the token (and the refresh token, the key) are
    registered as secrets before anything can print them."""
    import google.auth
    import google.auth.exceptions
    import google.auth.transport.requests
    import requests

    variable = environ.get(CREDENTIALS_VARIABLE, "")
    _register_file_secrets(variable, registry)
    transport = google.auth.transport.requests.Request(requests.Session())
    answers: list[TokenAnswer] = []

    def bounded(url: str, method: str = "GET", body: Any = None, headers: Any = None, timeout: float | None = None,
                **kwargs: Any) -> Any:
        """google-auth's transport with the profile's timeout (its own default is 120 s); keeps each answer, so a
        failure is judged by what the endpoint said rather than by which exception google-auth chose."""
        response = transport(url, method=method, body=body, headers=headers, timeout=timeout or deadline, **kwargs)
        answers.append(TokenAnswer(url, response.status, response.headers.get("Content-Type", ""), response.data))
        return response

    try:
        credentials, _project = google.auth.default(scopes=[SCOPE], request=bounded)
    except google.auth.exceptions.TransportError as exc:
        raise AdcError(AdcProblem.UNREACHABLE, _clean(str(exc), registry), _file_principal(variable)) from None
    except (google.auth.exceptions.GoogleAuthError, OSError, TypeError, ValueError, KeyError) as exc:
        if answers:  # external_account credentials are exchanged while loading (for their project id)
            raise _refresh_failure(exc, answers[-1], _file_principal(variable), registry) from None
        not_found = isinstance(exc, google.auth.exceptions.DefaultCredentialsError) and not variable
        raise AdcError(AdcProblem.NOT_FOUND if not_found else AdcProblem.UNUSABLE, _clean(str(exc), registry)) from None
    _register_credentials(credentials, registry)
    principal = principal_of(credentials, environ)
    _register_file_secrets(principal.source, registry)

    try:
        credentials.refresh(bounded)
    except google.auth.exceptions.TransportError as exc:
        raise AdcError(AdcProblem.UNREACHABLE, _clean(str(exc), registry), principal) from None
    except (google.auth.exceptions.GoogleAuthError, TypeError, ValueError, KeyError) as exc:
        raise _refresh_failure(exc, answers[-1] if answers else None, principal, registry) from None
    token = credentials.token
    registry.add(token)
    if getattr(credentials, "id_token", None):
        registry.add(credentials.id_token)
    return AccessToken(Secret(token), principal)


def _register_credentials(credentials: Any, registry: SecretRegistry) -> None:
    for attribute in ("refresh_token", "client_secret", "token"):
        value = getattr(credentials, attribute, None)
        if isinstance(value, str) and value:
            registry.add(value)


FILE_SECRETS = ("private_key", "private_key_id", "refresh_token", "client_secret")


def _register_file_secrets(source: str, registry: SecretRegistry) -> None:
    """A credentials file's secret fields (a key, its id, a refresh token) are secrets wherever they show up."""
    import json

    if not source:
        return
    try:
        data = json.loads(open(source, encoding="utf-8").read())
    except (OSError, ValueError):
        return
    for name in FILE_SECRETS:
        if isinstance(data, dict) and isinstance(data.get(name), str) and data[name]:
            registry.add(data[name])
    source = data.get("credential_source") if isinstance(data, dict) else None
    if isinstance(source, dict) and isinstance(source.get("file"), str):
        _register_subject_token(source, registry)


def _register_subject_token(source: Mapping[str, Any], registry: SecretRegistry) -> None:
    """Workload identity federation: the file `credential_source` names holds the subject token google-auth sends to
    the token exchange (and which its refusals may quote); as text, or as the named field of a JSON document."""
    import json

    try:
        text = open(source["file"], encoding="utf-8").read()
    except (OSError, ValueError):
        return
    registry.add(text.strip())
    field_name = (source.get("format") or {}).get("subject_token_field_name") if isinstance(source.get("format"), dict) else None
    try:
        value = json.loads(text).get(field_name) if field_name else None
    except (ValueError, AttributeError):
        value = None
    if isinstance(value, str) and value:
        registry.add(value)


def principal_of(credentials: Any, environ: Mapping[str, str] = os.environ) -> Principal:
    info = credentials.get_cred_info() if hasattr(credentials, "get_cred_info") else None
    info = info or {}
    kind = info.get("credential_type") or _kind_by_class(credentials)
    source = (info.get("credential_source") or "the metadata server").split(" file via ")[0]
    variable = environ.get(CREDENTIALS_VARIABLE)
    if variable and variable in source:
        chosen_by = f"{CREDENTIALS_VARIABLE}, which wins over any gcloud login"
    elif info.get("credential_source"):
        chosen_by = f"'{ADC_LOGIN}' ({CREDENTIALS_VARIABLE} is not set)"
    else:
        chosen_by = "the environment it runs in (no credentials file was found)"
    email = info.get("principal") or getattr(credentials, "service_account_email", None)
    email = email if isinstance(email, str) and "@" in email else None
    numeric_id = None
    if not kind.startswith("user") and info.get("credential_source"):
        numeric_id = _client_id_of(source)
    return Principal(kind, source, chosen_by, email, numeric_id)


def _file_principal(path: str) -> Principal | None:
    """Who the credentials file names when google-auth failed before handing out credentials: its type only."""
    import json

    try:
        data = json.loads(open(path, encoding="utf-8").read()) if path else None
    except (OSError, ValueError):
        return None
    kind = data.get("type") if isinstance(data, dict) else None
    if not isinstance(kind, str):
        return None
    words = "workload identity federation (external_account)" if kind == "external_account" else kind.replace("_", " ")
    return Principal(f"{words} credentials", path, f"{CREDENTIALS_VARIABLE}, which wins over any gcloud login")


def _kind_by_class(credentials: Any) -> str:
    name = type(credentials).__module__
    if "compute_engine" in name:
        return "the attached service account of this machine"
    if "impersonated" in name:
        return "impersonated service account credentials"
    if "external_account" in name or "identity_pool" in name:
        return "workload identity federation credentials"
    return type(credentials).__name__


def _client_id_of(path: str) -> str | None:
    import json

    try:
        data = json.loads(open(path, encoding="utf-8").read())
    except (OSError, ValueError):
        return None
    value = data.get("client_id") if isinstance(data, dict) else None
    return str(value) if isinstance(value, (str, int)) and str(value).isdigit() else None


@dataclass(frozen=True)
class TokenAnswer:
    """One answer google-auth's refresh received: where from, its status, and its body."""

    url: str
    status: int
    content_type: str
    body: bytes

    @property
    def oauth_error(self) -> dict[str, Any] | None:
        """The body when it is an OAuth error response (RFC 6749 5.2: a JSON object with `error`)."""
        import json

        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("error"), str) else None

    @property
    def origin(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _refresh_failure(exc: Exception, answer: TokenAnswer | None, principal: Principal | None,
                     registry: SecretRegistry) -> AdcError:
    """Judge a failed refresh by the endpoint's answer: a 4xx with an OAuth `error` is a refusal of these
    credentials; any other answer (a 5xx, an HTML page, a 200 without a usable token) is not about the credentials;
    no answer at all means google-auth could not use the credentials before asking."""
    if answer is None:
        return AdcError(AdcProblem.UNUSABLE, _clean(str(exc), registry), principal)
    error = answer.oauth_error
    if error is not None and 400 <= answer.status < 500:
        words = ": ".join(str(error[k]) for k in ("error", "error_description") if error.get(k))
        return AdcError(AdcProblem.REFUSED, _clean(f"the token endpoint answered {answer.status} {words}", registry),
                        principal)
    kind = f"an OAuth error ({error['error']})" if error else (answer.content_type or "no content type")
    return AdcError(AdcProblem.NOT_OAUTH, _clean(f"{answer.origin} answered {answer.status} with {kind}, which is not an "
                                                 "OAuth token response", registry), principal)


def _clean(text: str, registry: SecretRegistry) -> str:
    return redact_text(" ".join(text.split()), registry)
