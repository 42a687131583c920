"""One profile built from its YAML node: every field validated, each ${VAR} read from the environment, each *_file
read, each secret registered (so no output repeats it), and where each value came from recorded for `profiles show`.

Every refusal is one sentence that names the file, the line and the fix: a profile is typed by hand.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from airflow_doctor.errors import ProfileError
from airflow_doctor.secrets import REGISTRY, Secret, SecretRegistry, weak_secret_reason
from airflow_doctor.sources.profile import (AWS_REGION, BASIC_ENCODINGS, DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT,
                                            MAX_SECRET_FILE_BYTES, TOKEN_SCHEMES, Auth, AuthType, AwsTarget, AwsVia,
                                            Header, Network, Profile, ScriptRequest, UnsetSecret,
                                            origin_problem)
from airflow_doctor.sources import network
from airflow_doctor.sources.yaml_safe import Node, check_keys, kind_of, mapping_of, plain

_PROFILE_KEYS = ("url", "auth", "dag_id", "payload", "request", "tls", "timeout", "description",
                 "headers", "proxy", "origin")
_REQUEST_KEYS = ("path", "method", "content_type")
_AUTH_KEYS = ("type", "username", "username_file", "password", "password_file", "token", "token_file", "encoding",
              "scheme", "environment", "region", "aws_profile", "via")
_AWS_KEYS = ("environment", "region", "aws_profile", "via")
_TLS_KEYS = ("verify", "client_cert", "client_key", "client_key_password", "client_key_password_file")
_TIMEOUT_KEYS = ("connect", "read")
_AUTH_FIELDS = {
    AuthType.GOOGLE: set(),
    AuthType.BASIC: {"username", "password"},
    AuthType.JWT: {"username", "password"},
    AuthType.TOKEN: {"token"},
    AuthType.NONE: set(),
    AuthType.AWS: set(),
}


def auth_type_of(body: dict[Any, Node]) -> Any:
    """The auth type a profile's body names, if any (a file with `url` or `auth.type` at its top is one profile)."""
    auth = body.get("auth")
    kind = auth.value.get("type") if auth is not None and isinstance(auth.value, dict) else None
    return kind.value if isinstance(kind, Node) else kind


_VAR = re.compile(r"\$\{([^}]*)\}")
_BARE_VAR = re.compile(r"(?<![\w$])\$([A-Za-z_][A-Za-z0-9_]*)")
_EXPECTED = {
    "url": "the address you open in the browser, e.g. https://airflow.example.com",
    "auth.username": "the user name (or use username_file)",
    "auth.password": "the password (or use password_file)",
    "auth.token": "the token (or use token_file)",
}


_DEFERRABLE = ("auth.username", "auth.password", "auth.token")
"""Fields whose unset ${VAR} can wait: reachability needs none of them."""


class _Builder:
    """Builds the profile `name` written at `node` in the file `path`; refusals name that file and line."""

    def __init__(self, path: Path, node: Node, name: str, env: Mapping[str, str], registry: SecretRegistry,
                 allow_unset: bool = False) -> None:
        self.path, self.node, self.name, self.env, self.registry = path, node, name, env, registry
        self.allow_unset = allow_unset
        self.where = str(path)
        self.sources: dict[str, str] = {}
        self.warnings: list[str] = []
        self.unset: list[UnsetSecret] = []

    def at(self, node: Node) -> str:
        return f"{self.path.name}:{node.line}"

    def error(self, node: Node, message: str) -> ProfileError:
        return ProfileError(f"{self.where} line {node.line}: {message}")

    def string(self, node: Node, key: str, *, secret: bool = False) -> str:
        value = node.value
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            raise self.error(node, f"'{key}' must be a string, not {kind_of(value)}.")
        text = value if isinstance(value, str) else node.text or str(value)
        result, used = self.interpolate(node, key, text)
        if used:
            self.sources[key] = f"env {', '.join('$' + v for v in used)} ({self.at(node)})"
        else:
            self.sources[key] = self.at(node)
            if secret and result:
                self._warn_if_world_readable(key)
        return result

    def interpolate(self, node: Node, key: str, text: str) -> tuple[str, list[str]]:
        """`text` with each ${VAR} read from the environment, and the variables used."""
        self._refuse_malformed_references(node, key, _VAR.sub("", text))
        used: list[str] = []

        def substitute(match: re.Match[str]) -> str:
            var = match.group(1)
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
                raise self.error(node, f"'${{{var}}}' in '{key}' is not a valid environment variable name.")
            if var not in self.env and self.allow_unset and key in _DEFERRABLE:
                self.unset.append(UnsetSecret(key, var))
                return ""
            if var not in self.env:
                raise self.error(node, f"'{key}' uses ${{{var}}}, but the environment variable {var} is not set; "
                                       f"export it or change the profile.")
            if not self.env[var].strip():
                state = "empty" if not self.env[var] else "only whitespace"
                expected = _EXPECTED.get(key, f"the value of {key}")
                raise self.error(node, f"${{{var}}} is set but {state}; export it with {expected}.")
            used.append(var)
            return self.env[var]

        return _VAR.sub(substitute, text), used

    def _refuse_malformed_references(self, node: Node, key: str, rest: str) -> None:
        """`${NAME` and `$NAME` would be sent as literal text; say so instead of failing at the server."""
        if "${" in rest:
            raise self.error(node, f"'{key}' has '${{' with no closing '}}'; write ${{NAME}}.")
        for bare in _BARE_VAR.finditer(rest):
            name = bare.group(1)
            if name in self.env or (rest.strip() == bare.group(0) and name.isupper()):
                raise self.error(node, f"'{key}' holds ${name}, which is taken literally; write ${{{name}}} (with "
                                       f"braces) to read the environment variable.")

    def secret_file(self, node: Node, key: str) -> str:
        path_text = self.string(node, key)
        path = Path(path_text).expanduser()
        if not path.is_absolute():
            path = self.path.parent / path
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_SECRET_FILE_BYTES + 1)
        except FileNotFoundError:
            raise self.error(node, f"'{key}' points to {path}, which does not exist; create it or fix the path.") from None
        except IsADirectoryError:
            raise self.error(node, f"'{key}' points to {path}, which is a directory; point it to the file holding the secret.") from None
        except PermissionError:
            raise self.error(node, f"'{key}' points to {path}, which cannot be read (permission denied); fix its permissions.") from None
        except OSError as exc:
            raise self.error(node, f"'{key}' points to {path}, which cannot be read ({exc.strerror or exc}); check the path.") from None
        if len(data) > MAX_SECRET_FILE_BYTES:
            raise self.error(node, f"'{key}' points to {path}, which is larger than 64 KiB; it cannot be a password or token file.")
        try:
            value = data.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error(node, f"'{key}' points to {path}, which is not UTF-8 text; save the secret as UTF-8.") from None
        field_name = key.removesuffix("_file")
        if not value.strip():
            state = "empty" if not value else "holds only whitespace"
            raise self.error(node, f"'{key}' points to {path}, which is {state}; write the "
                                   f"{field_name.removeprefix('auth.')} into it.")
        self.sources[field_name] = f"file {path} ({self.at(node)})"
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRGRP | stat.S_IROTH):
                self.warnings.append(f"{path} holds a secret and can be read by other users; run: chmod 600 {path}")
        except OSError:
            pass
        return value

    def _warn_if_world_readable(self, key: str) -> None:
        try:
            mode = self.path.stat().st_mode
        except OSError:
            return
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            self.warnings.append(f"{self.path} holds a literal {key} and can be read by other users; use "
                                 f"${{VAR}} or {key}_file, or run: chmod 600 {self.path}")

    def _warn_if_weak(self, username: str | None, password: Secret) -> None:
        reason = weak_secret_reason(username, password.reveal())
        if reason:
            self.warnings.append(f"the password of '{username}' is weak ({reason}): anyone can guess it; "
                                 f"the report masks it where it is a value (headers, bodies, URLs, password=...) but "
                                 f"not where the same word appears in ordinary text; use a strong password")

    def number(self, node: Node, key: str) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(node, f"'{key}' must be a number of seconds, not {kind_of(value)}.")
        if not 0 < value <= 600:
            raise self.error(node, f"'{key}' must be between 0 and 600 seconds, not {value}.")
        self.sources[key] = self.at(node)
        return float(value)

    def build(self) -> Profile:
        node = self.node
        body = mapping_of(node, self.where, f"profile '{self.name}'")
        check_keys(body, _PROFILE_KEYS, self.where, f"profile '{self.name}'")
        if "url" not in body and auth_type_of(body) == AuthType.AWS.value:
            body = {**body, "url": Node("", node.line)}
        elif "url" not in body and auth_type_of(body) == AuthType.GOOGLE.value:
            raise ProfileError(f"{self.where} line {node.line}: profile '{self.name}' has no 'url', which auth type google needs: the Composer environment's Airflow web server address (gcloud composer environments describe ENVIRONMENT --location LOCATION --format='value(config.airflowUri)').")
        elif "url" not in body:
            raise ProfileError(f"{self.where} line {node.line}: profile '{self.name}' has no 'url'; add the address you open in the browser, e.g. url: https://airflow.example.com")
        url = self.url(body["url"])
        auth = self.auth(body.get("auth"))
        dag_id = None
        if "dag_id" in body:
            dag_id = self.string(body["dag_id"], "dag_id")
            if not dag_id or dag_id != dag_id.strip():
                raise self.error(body["dag_id"], "'dag_id' is empty or has surrounding spaces; write the exact DAG id.")
        payload = None
        if "payload" in body:
            payload = plain(body["payload"])
            if not isinstance(payload, (dict, list)):  # a list is what some scripts post: payload-schema reports it
                raise self.error(body["payload"], f"'payload' must be a mapping (the JSON object your script posts, e.g. conf: {{...}}), not {kind_of(payload)}.")
            self.sources["payload"] = self.at(body["payload"])
        tls = mapping_of(body.get("tls"), self.where, "'tls'")
        check_keys(tls, _TLS_KEYS, self.where, "'tls'")
        verify, system_ca = self.verify(tls.get("verify"))
        timeouts = mapping_of(body.get("timeout"), self.where, "'timeout'")
        check_keys(timeouts, _TIMEOUT_KEYS, self.where, "'timeout'")
        connect = self.number(timeouts["connect"], "timeout.connect") if "connect" in timeouts else DEFAULT_CONNECT_TIMEOUT
        read = self.number(timeouts["read"], "timeout.read") if "read" in timeouts else DEFAULT_READ_TIMEOUT
        description = self.string(body["description"], "description") if "description" in body else None
        request = self.script_request(body.get("request"))
        net = Network(self.headers(body.get("headers")), system_ca, *self.client_certificate(tls),
                      proxy=self.proxy(body.get("proxy")))
        origin = self.origin(body["origin"]) if "origin" in body else None
        return Profile(self.name, url, auth, dag_id, payload, verify, connect, read, description, request,
                       dict(self.sources), tuple(self.warnings), tuple(self.unset), network=net, origin=origin)

    def origin(self, node: Node) -> str:
        origin = self.string(node, "origin").strip()
        if problem := origin_problem(origin):
            raise self.error(node, f"'origin' {problem}")
        return origin

    # --- the network path: tls, headers, proxy (sources/network.py validates, as for --url and --from-curl) ------

    def checked(self, node: Node, call, *args):  # type: ignore[no-untyped-def]
        """network.call(*args), its refusal prefixed with the file and line."""
        try:
            return call(*args)
        except ValueError as exc:
            raise self.error(node, f"{exc}.") from None

    def verify(self, raw: Node | None) -> tuple[bool | str, bool]:
        if raw is None:
            return True, False
        text = raw.value if isinstance(raw.value, bool) else self.string(raw, "tls.verify")
        verify, system_ca = self.checked(raw, network.verify_setting, text)
        if system_ca:
            self.checked(raw, network.require_truststore)
        self.sources["tls.verify"] = self.sources.get("tls.verify", self.at(raw))
        return verify, system_ca

    def client_certificate(self, tls: dict[Any, Node]) -> tuple[str | None, str | None, Secret | None]:
        paths = {key: self.checked(tls[key], network.check_file, self.string(tls[key], f"tls.{key}"),
                                   key.replace("_", " ").replace("cert", "certificate"))
                 for key in ("client_cert", "client_key") if key in tls}
        password = None
        if "client_key_password" in tls or "client_key_password_file" in tls:
            inline, from_file = tls.get("client_key_password"), tls.get("client_key_password_file")
            if inline is not None and from_file is not None:
                raise self.error(from_file, "'client_key_password' and 'client_key_password_file' are both set; keep one.")
            text = (self.string(inline, "tls.client_key_password", secret=True) if inline is not None else
                    self.secret_file(from_file, "tls.client_key_password_file").rstrip("\r\n"))
            password = Secret(text)
            self.registry.add(password)
        cert, key = paths.get("client_cert"), paths.get("client_key")
        if cert is None and (key is not None or password is not None):
            node = tls.get("client_key") or tls.get("client_key_password") or tls["client_key_password_file"]
            raise self.error(node, "tls has a client key but no client_cert; add client_cert: (the certificate's PEM "
                                   "file).")
        if cert is not None:
            self.checked(tls["client_cert"], network.check_client_pair, cert, key,
                         password.reveal() if password else None)
        return cert, key, password

    def headers(self, node: Node | None) -> tuple[Header, ...]:
        if node is None:
            return ()
        body = mapping_of(node, self.where, "'headers'")
        headers: dict[str, Header] = {}
        for raw_name, value in body.items():
            name = str(raw_name.value if isinstance(raw_name, Node) else raw_name)
            from_file = name.endswith("_file")
            name = name.removesuffix("_file")
            if name.lower() in (h.lower() for h in headers):
                raise self.error(value, f"the header {name} is given twice; keep one.")
            text = (self.secret_file(value, f"headers.{name}_file").rstrip("\r\n") if from_file else
                    self.string(value, f"headers.{name}", secret=True))
            self.checked(value, network.check_header, name, text)
            reference = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", str(value.value).strip()) if not from_file else None
            headers[name] = Header(name, Secret(text), reference.group(1) if reference else network.header_variable(name))
            self.registry.add(text)
        return tuple(headers.values())

    def proxy(self, node: Node | None) -> str | None:
        if node is None:
            return None
        text = self.string(node, "proxy")
        network.register_proxy_credentials(text, self.registry)
        return self.checked(node, network.check_proxy, text)

    def script_request(self, node: Node | None) -> ScriptRequest | None:
        if node is None:
            return None
        body = mapping_of(node, self.where, "'request'")
        check_keys(body, _REQUEST_KEYS, self.where, "'request'")
        values = {key: self.string(body[key], f"request.{key}") for key in _REQUEST_KEYS if key in body}
        if "path" in values and "://" in values["path"]:
            try:
                parts = urlsplit(values["path"])
            except ValueError:
                raise self.error(body["path"], "request.path is not a valid URL; give the path the script posts to.") from None
            if "@" in parts.netloc:
                self.registry.add(parts.password)
                raise self.error(body["path"], "request.path has credentials embedded in it; remove them (the "
                                               "profile's auth section holds the credentials).")
        method = values.get("method", "POST").strip().upper()
        if not method.isalpha():
            raise self.error(body["method"], f"request.method {method!r} is not an HTTP method; write POST, GET, ...")
        return ScriptRequest(values.get("path"), method, values.get("content_type"))

    def url(self, node: Node) -> str:
        if node.value == "":
            return ""  # auth type aws without a url: the environment's web server, from GetEnvironment
        url = self.string(node, "url").strip()
        if any(c.isspace() for c in url):
            raise self.error(node, "'url' contains a space; remove it (a URL cannot hold spaces; inside a path write %20).")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError as exc:
            raise self.error(node, f"'url' is not a valid URL ({exc}); write it as https://host[:port][/path].") from None
        if not parts.scheme or "://" not in url:
            raise self.error(node, f"'url' has no scheme; write it as https://{url} (or http:// for a local server).")
        if parts.scheme not in ("http", "https"):
            raise self.error(node, f"'url' uses the scheme '{parts.scheme}', but Airflow's API is served over http or https; write https://{parts.netloc or parts.path}.")
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            self.registry.add(parts.password)
            raise self.error(node, "'url' has credentials embedded in it; remove them from the URL and put them under 'auth:' (username, password_file or ${VAR}).")
        if not parts.hostname:
            raise self.error(node, "'url' has no host name; write it as https://host[:port].")
        if parts.query or parts.fragment:
            raise self.error(node, "'url' has a query string or fragment; give only the address of the Airflow web server.")
        return url.rstrip("/")

    def auth(self, node: Node | None) -> Auth:
        if node is None:
            self.sources["auth.type"] = "default"
            return Auth(AuthType.NONE)
        body = mapping_of(node, self.where, "'auth'")
        check_keys(body, _AUTH_KEYS, self.where, "'auth'")
        if "type" not in body:
            raise self.error(node, "'auth' has no 'type'; set type: basic, jwt, token or none.")
        raw_type = body["type"].value
        try:
            auth_type = AuthType(raw_type)
        except ValueError:
            close = difflib.get_close_matches(str(raw_type), [t.value for t in AuthType], n=1)
            hint = f"did you mean '{close[0]}'?" if close else "use basic, jwt, token, aws or none."
            raise self.error(body["type"], f"auth type {raw_type!r} is not known; {hint}") from None
        self.sources["auth.type"] = self.at(body["type"])
        aws = self.aws_target(node, body, auth_type)
        values: dict[str, str] = {}
        for field_name in ("username", "password", "token"):
            inline, from_file = body.get(field_name), body.get(f"{field_name}_file")
            if inline is not None and from_file is not None:
                raise self.error(from_file, f"'{field_name}' and '{field_name}_file' are both set; keep one.")
            if field_name not in _AUTH_FIELDS[auth_type] and (inline or from_file):
                extra = inline or from_file
                needs = ", ".join(sorted(_AUTH_FIELDS[auth_type])) or "no credentials"
                raise self.error(extra, f"auth type '{auth_type.value}' does not use '{field_name}' (it takes {needs}); remove it or change the type.")
            if inline is not None:
                values[field_name] = self.string(inline, f"auth.{field_name}", secret=field_name != "username")
            elif from_file is not None:
                values[field_name] = self.secret_file(from_file, f"auth.{field_name}_file")
        waiting = {u.key.removeprefix("auth.") for u in self.unset}
        for required in sorted(_AUTH_FIELDS[auth_type] - waiting):
            if not values.get(required):
                raise self.error(node, f"auth type '{auth_type.value}' needs '{required}' (or '{required}_file'), which is missing or empty.")
        password = Secret(values["password"]) if values.get("password") else None
        token = Secret(values["token"]) if values.get("token") else None
        if password is not None:
            self._warn_if_weak(values.get("username"), password)
            self.registry.add_basic(values.get("username", ""), password)
            self.registry.add_basic(values.get("username", "").strip(), password.reveal().strip())
        if token is not None:
            self.registry.add(token)
            bare = token.reveal().strip()
            self.registry.add(bare[7:].strip() if bare.lower().startswith("bearer ") else bare)
        return Auth(auth_type, values.get("username"), password, token, self.basic_encoding(body.get("encoding")),
                    scheme=self.token_scheme(body.get("scheme"), auth_type), aws=aws)

    def token_scheme(self, node: Node | None, auth_type: AuthType) -> str:
        if node is None:
            return "bearer"
        if auth_type is not AuthType.TOKEN:
            raise self.error(node, f"auth type '{auth_type.value}' does not use 'scheme' (only type token does); remove it.")
        value = str(node.value).strip().lower()
        if value not in TOKEN_SCHEMES:
            raise self.error(node, f"auth scheme {node.value!r} is not known; use bearer (the token after the word "
                                   "Bearer in Authorization) or none (the bare key alone, as Astro Private Cloud / "
                                   "Software expects).")
        self.sources["auth.scheme"] = self.at(node)
        return value

    def aws_target(self, node: Node, body: dict[Any, Node], auth_type: AuthType) -> AwsTarget | None:
        """The MWAA environment of auth type aws; its keys anywhere else are a mistake worth one sentence."""
        if auth_type is not AuthType.AWS:
            extra = next((body[k] for k in _AWS_KEYS if k in body), None)
            if extra is not None:
                key = next(k for k in _AWS_KEYS if k in body)
                raise self.error(extra, f"'{key}' belongs to auth type 'aws' (AWS MWAA); remove it or set type: aws.")
            return None
        if "environment" not in body or not str(body["environment"].value or "").strip():
            raise self.error(node, "auth type 'aws' needs 'environment' (the MWAA environment's name), which is missing "
                                   "or empty.")
        values = {key: self.string(body[key], f"auth.{key}").strip() for key in _AWS_KEYS if key in body}
        try:
            via = AwsVia(values.get("via", AwsVia.INVOKE_REST_API.value))
        except ValueError:
            raise self.error(body["via"], f"auth via {values['via']!r} is not known; use invoke-rest-api (boto3 "
                                          "invoke_rest_api) or web-login (a web login token).") from None
        region = values.get("region") or None
        if region is not None and not AWS_REGION.fullmatch(region):
            raise self.error(body["region"], f"auth.region {region!r} is not an AWS region name; write it as AWS does, "
                                             "e.g. us-east-1 or eu-west-2.")
        return AwsTarget(values["environment"], region, values.get("aws_profile") or None, via)

    def basic_encoding(self, node: Node | None) -> str:
        if node is None:
            return "latin-1"
        value = str(node.value).strip().lower().replace("_", "-").replace("latin1", "latin-1").replace("utf8", "utf-8")
        if value not in BASIC_ENCODINGS:
            raise self.error(node, f"auth encoding {node.value!r} is not known; use latin-1 (a requests script that "
                                   "passes str credentials) or utf-8 (curl, or requests with bytes).")
        self.sources["auth.encoding"] = self.at(node)
        return value


def build_profile(path: Path, node: Node, name: str, env: Mapping[str, str] = os.environ,
                  registry: SecretRegistry = REGISTRY, allow_unset: bool = False) -> Profile:
    """The profile `name` written at `node` in `path`; with allow_unset an unset ${VAR} in a credential is recorded
    in Profile.unset, not refused."""
    return _Builder(path, node, name, env, registry, allow_unset).build()
