"""A failing curl command, read the way curl reads it, as a profile: its URL, method, content type and body become
the profile's `request:` and `payload`, its credentials the profile's auth.

A secret written into the command is registered (so no output repeats it) and shown as an environment variable
reference wherever the imported profile is printed or saved.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

from airflow_doctor.errors import CurlError, UsageError
from airflow_doctor.sources.profile import (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, Auth, AuthType, Profile,
                                            ScriptRequest, UnsetSecret)
from airflow_doctor.secrets import REGISTRY, Secret, SecretRegistry
from airflow_doctor.sources import curl_network

PASSWORD_VARIABLE = "AIRFLOW_PASSWORD"
TOKEN_VARIABLE = "AIRFLOW_TOKEN"

_FLAGS_WITH_VALUE = {
    "-X": "method", "--request": "method", "-u": "user", "--user": "user", "-H": "header", "--header": "header",
    "-d": "data", "--data": "data", "--data-ascii": "data", "--data-binary": "binary", "--data-raw": "raw",
    "--data-urlencode": "urlencode", "--json": "json", "--url": "url", "--cacert": "cacert",
    "--connect-timeout": "connect_timeout", "-m": "max_time", "--max-time": "max_time",
    **curl_network.OPTIONS_WITH_VALUE,
}
_FLAGS = {"-k": "insecure", "--insecure": "insecure", "-L": "location", "--location": "location", "-G": "get",
          "--get": "get", "--ca-native": "ca_native"}
_IGNORED_WITH_VALUE = {"-o", "--output", "-w", "--write-out", "-A", "--user-agent", "-e", "--referer", "-b",
                       "--cookie", "-c", "--cookie-jar", "--retry", "--cert-type", "--key-type",
                       "--resolve", "--connect-to", "--limit-rate", "-r", "--range", "--oauth2-bearer"}
_SHORT_WITH_VALUE = {flag[1] for flag in (*_FLAGS_WITH_VALUE, *_IGNORED_WITH_VALUE) if len(flag) == 2}
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class CurlCommand:
    """What curl would send, as curl reads its arguments."""

    url: str | None = None
    method: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    user: str | None = None
    body: str | None = None
    json_body: bool = False
    form_body: bool = False
    cacert: str | None = None
    insecure: bool = False
    follow_redirects: bool = False
    connect_timeout: float | None = None
    max_time: float | None = None
    network: curl_network.CurlNetwork = field(default_factory=curl_network.CurlNetwork)
    """-E/--cert, --key, --pass, -x/--proxy, --noproxy, --ca-native."""
    ignored: list[str] = field(default_factory=list)
    expanded: dict[str, str] = field(default_factory=dict)
    """Environment variables the command referred to ($VAR), read as a shell would."""
    text: str = ""


def split_words(command: str, env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The command's words as a POSIX shell splits them, $VAR and ${VAR} read from the environment."""
    joined = re.sub(r"\\\r?\n", " ", command)
    try:
        words = shlex.split(joined)
    except ValueError as exc:
        raise CurlError(f"--from-curl could not split the command into words ({exc}); paste it with its quotes "
                        f"balanced, inside single quotes.") from None
    used: dict[str, str] = {}

    def expand(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in env:
            return match.group(0)
        used[name] = env[name]
        return env[name]

    words = [_ENV_REFERENCE.sub(expand, word) for word in words]
    if words and Path(words[0]).name == "curl":
        words = words[1:]
    if not words:
        raise CurlError("--from-curl got no curl arguments; paste the whole command, e.g. --from-curl 'curl -u admin "
                        "-X POST http://host:8080/api/v1/dags/x/dagRuns -H \"Content-Type: application/json\" -d {}'.")
    return words, used


def parse(command: str, env: Mapping[str, str] = os.environ) -> CurlCommand:
    """Read the command like curl: options anywhere, short options joined (-sSL, -XPOST, -uadmin:pw), one URL."""
    words, used = split_words(command, env)
    curl = CurlCommand(expanded=used, text=command)
    pending = list(words)
    while pending:
        word = pending.pop(0)
        if word == "--":
            for rest in pending:
                _set_url(curl, rest)
            break
        if word.startswith("--"):
            name, has_value, value = word.partition("=")
            _long_option(curl, name, value if has_value else None, pending)
        elif word.startswith("-") and len(word) > 1:
            _short_options(curl, word, pending)
        else:
            _set_url(curl, word)
    if curl.url is None:
        raise CurlError("--from-curl found no URL in the command; include the address curl posts to.")
    return curl


def _long_option(curl: CurlCommand, name: str, value: str | None, pending: list[str]) -> None:
    if name in _FLAGS:
        _flag(curl, _FLAGS[name])
    elif name in _FLAGS_WITH_VALUE or name in _IGNORED_WITH_VALUE:
        if value is None:
            if not pending:
                raise CurlError(f"--from-curl: curl's {name} needs a value, and the command ends there.")
            value = pending.pop(0)
        if name in _IGNORED_WITH_VALUE:
            curl.ignored.append(name)
        else:
            _option(curl, _FLAGS_WITH_VALUE[name], value, name)
    else:
        curl.ignored.append(name)


def _short_options(curl: CurlCommand, word: str, pending: list[str]) -> None:
    letters = word[1:]
    for index, letter in enumerate(letters):
        flag = f"-{letter}"
        if letter in _SHORT_WITH_VALUE:
            value = letters[index + 1:]
            if not value:
                if not pending:
                    raise CurlError(f"--from-curl: curl's {flag} needs a value, and the command ends there.")
                value = pending.pop(0)
            if flag in _FLAGS_WITH_VALUE:
                _option(curl, _FLAGS_WITH_VALUE[flag], value, flag)
            else:
                curl.ignored.append(flag)
            return
        if flag in _FLAGS:
            _flag(curl, _FLAGS[flag])
        else:
            curl.ignored.append(flag)


def _flag(curl: CurlCommand, meaning: str) -> None:
    if meaning == "insecure":
        curl.insecure = True
    elif meaning == "location":
        curl.follow_redirects = True
    elif meaning == "get":
        curl.method = curl.method or "GET"
    elif meaning == "ca_native":
        curl.network.ca_native = True


def _option(curl: CurlCommand, meaning: str, value: str, flag: str) -> None:
    if meaning == "method":
        curl.method = value.upper()
    elif meaning == "user":
        curl.user = value
    elif meaning == "header":
        name, colon, header_value = value.partition(":")
        if colon:
            curl.headers.append((name.strip(), header_value.strip()))
    elif meaning in ("data", "binary", "raw", "urlencode", "json"):
        _add_body(curl, meaning, value)
    elif meaning == "url":
        _set_url(curl, value)
    elif meaning == "cacert":
        curl.cacert = value
    elif meaning in curl_network.MEANINGS:
        curl_network.read_option(curl.network, meaning, value)
    elif meaning in ("connect_timeout", "max_time"):
        try:
            setattr(curl, meaning, float(value))
        except ValueError:
            raise CurlError(f"--from-curl: curl's {flag} takes seconds, not {value!r}.") from None


def _add_body(curl: CurlCommand, kind: str, value: str) -> None:
    """curl joins several -d with '&'; '@file' reads a file (-d strips its newlines, --data-raw takes '@' literally)."""
    if value.startswith("@") and kind != "raw":
        value = _read_body_file(value[1:], strip_newlines=kind in ("data", "urlencode"))
    if kind == "json":
        curl.json_body = True
    else:
        curl.form_body = True
    curl.body = value if curl.body is None else f"{curl.body}&{value}"


def _read_body_file(name: str, strip_newlines: bool) -> str:
    try:
        text = Path(name).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise CurlError(f"--from-curl: the body file {name} cannot be read ({exc.strerror or exc}); run the command "
                        f"from the directory curl ran it in, or give the full path.") from None
    except UnicodeDecodeError:
        raise CurlError(f"--from-curl: the body file {name} is not UTF-8 text; a trigger body is JSON.") from None
    return text.replace("\r", "").replace("\n", "") if strip_newlines else text


def _set_url(curl: CurlCommand, value: str) -> None:
    if curl.url is not None:
        raise CurlError(f"--from-curl: the command names two URLs ({curl.url} and {value}); keep the one that "
                        f"triggers the DAG.")
    curl.url = value if "://" in value else f"http://{value}"


# --- the profile ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Imported:
    """The profile a curl command describes, and what it printed as references instead of secrets."""

    profile: Profile
    references: dict[str, str]
    """Secret field to the environment variable shown in its place (auth.password: AIRFLOW_PASSWORD)."""
    notes: tuple[str, ...]
    shown_command: str
    """The command as typed, each secret it held replaced by its environment variable reference."""

    @property
    def held_a_secret(self) -> bool:
        return bool(self.references)

    def secret_warning(self) -> str | None:
        if not self.references:
            return None
        named = ", ".join(f"{key} (shown as ${{{variable}}})" for key, variable in self.references.items())
        variables = " and ".join(dict.fromkeys(self.references.values()))
        return (f"the curl command held a secret: {named}. It is masked in everything printed; keep it out of "
                f"commands and scripts: put it in the environment variable {variables} and refer to that instead.")


def to_profile(curl: CurlCommand, name: str = "from-curl", registry: SecretRegistry = REGISTRY) -> Imported:
    """The profile that checks exactly the request the command sends."""
    parts = urlsplit(curl.url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CurlError(f"--from-curl: {curl.url} is not an http(s) URL; give the address curl posts to.")
    if parts.username is not None or parts.password is not None:
        registry.add(parts.password)
        raise CurlError("--from-curl: the URL has credentials embedded in it; pass them with -u instead.")
    base_path, dag_id = _base_path_and_dag(parts.path)
    base_url = urlunsplit((parts.scheme, parts.netloc, base_path, "", "")).rstrip("/")
    references: dict[str, str] = {}
    auth = _auth(curl, registry, references)
    headers = {key.lower(): value for key, value in curl.headers}
    method = curl.method or ("POST" if curl.body is not None else "GET")
    content_type = headers.get("content-type") or _default_content_type(curl)
    payload, notes = _payload(curl)
    request = ScriptRequest(parts.path + (f"?{parts.query}" if parts.query else ""), method, content_type)
    verify, network = curl_network.network_of(curl, parts.hostname, registry, references)
    notes += tuple(f"curl option {flag} does not change what the server is asked; ignored" for flag in
                   dict.fromkeys(curl.ignored) if flag not in ("-s", "-S", "--silent", "--show-error", "-v", "-i",
                                                               "--verbose", "--include", "-f", "--fail"))
    if curl.follow_redirects:
        notes += ("-L: curl follows redirects (and turns a redirected POST into a GET on 301/302); "
                  "the doctor reports each redirect instead of following it",)
    sources = {"url": "--from-curl", "auth.type": "--from-curl", "request.path": "--from-curl",
               "request.method": "--from-curl", "request.content_type": "--from-curl"}
    if payload is not None:
        sources["payload"] = "--from-curl"
    if dag_id:
        sources["dag_id"] = "--from-curl (the URL)"
    read_timeout = curl.max_time or DEFAULT_READ_TIMEOUT
    sources.update(curl_network.sources_of(network, verify, curl))
    profile = Profile(name, base_url, auth, dag_id, payload, verify, min(curl.connect_timeout or DEFAULT_CONNECT_TIMEOUT,
                                                                          read_timeout), read_timeout,
                      request=request, sources=sources, network=network)
    shown = curl_network.shown_command(_shown_command(curl.text, auth, references), network, references)
    return Imported(profile, references, notes, shown)


def _shown_command(text: str, auth: Auth, references: dict[str, str]) -> str:
    shown = " ".join(text.replace("\\\n", " ").split())
    for key, secret in (("auth.password", auth.password), ("auth.token", auth.token)):
        if secret is not None and key in references:
            reference = f"${references[key]}"
            basic = base64.b64encode(f"{auth.username}:{secret.reveal()}".encode()).decode()
            shown = shown.replace(basic, f"$(printf %s \"{auth.username}:{reference}\" | base64)")
            shown = shown.replace(secret.reveal(), reference)
    return shown


def _base_path_and_dag(path: str) -> tuple[str, str | None]:
    """The web server's address (what precedes /api/ or the UI's /dags/...) and the DAG the path names."""
    dag = re.search(r"/dags/([^/?]+)/(?:dagRuns|trigger)/?$", path)
    for marker in ("/api/", "/dags/"):
        index = path.find(marker)
        if index >= 0:
            return path[:index], dag.group(1) if dag else None
    return path, dag.group(1) if dag else None


def _default_content_type(curl: CurlCommand) -> str | None:
    if curl.json_body:
        return "application/json"
    if curl.form_body:
        return "application/x-www-form-urlencoded"
    return None


def _payload(curl: CurlCommand) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
    if curl.body is None:
        return None, ()
    try:
        body = json.loads(curl.body)
    except ValueError:
        return None, (f"the body is not JSON ({curl.body[:60]!r}); the trigger endpoint takes a JSON object",)
    if not isinstance(body, dict):
        return None, ("the body is JSON but not an object; the trigger endpoint takes a JSON object",)
    return body, ()


CURL_ENCODING = "utf-8"
"""curl sends the bytes of its argument, which a UTF-8 terminal made UTF-8; a base64 header is decoded as UTF-8 too."""


def _auth(curl: CurlCommand, registry: SecretRegistry, references: dict[str, str]) -> Auth:
    authorization = next((value for key, value in curl.headers if key.lower() == "authorization"), None)
    if authorization is not None:
        return _auth_from_header(authorization, registry, references, curl)
    if curl.user is None:
        return Auth(AuthType.NONE)
    username, colon, password = curl.user.partition(":")
    if not colon:
        return Auth(AuthType.BASIC, username, encoding=CURL_ENCODING)
    return _basic(username, password, registry, references, curl)


def _auth_from_header(value: str, registry: SecretRegistry, references: dict[str, str], curl: CurlCommand) -> Auth:
    scheme, _, credentials = value.partition(" ")
    credentials = credentials.strip()
    registry.add(value)
    if scheme.lower() == "basic":
        registry.add(credentials)
        try:
            username, colon, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise CurlError("--from-curl: the 'Authorization: Basic' header is not base64 of user:password; "
                            "use -u user:password instead.") from None
        if colon:
            return _basic(username, password, registry, references, curl)
    token = credentials if scheme.lower() == "bearer" else value
    registry.add(token)
    if not _came_from_environment(token, curl):
        references["auth.token"] = TOKEN_VARIABLE
    return Auth(AuthType.TOKEN, token=Secret(token))


def _basic(username: str, password: str, registry: SecretRegistry, references: dict[str, str],
           curl: CurlCommand) -> Auth:
    secret = Secret(password)
    registry.add_basic(username, secret)
    if password and not _came_from_environment(password, curl):
        references["auth.password"] = PASSWORD_VARIABLE
    return Auth(AuthType.BASIC, username, secret if password else None, encoding=CURL_ENCODING)


def _came_from_environment(value: str, curl: CurlCommand) -> bool:
    return value in curl.expanded.values()


def variable_for(imported: Imported, key: str, curl: CurlCommand) -> str:
    """The environment variable a saved profile reads `key` from: the command's own $VAR, else the default name."""
    secret = imported.profile.auth.password if key == "auth.password" else imported.profile.auth.token
    for name, value in sorted(curl.expanded.items()):
        if secret is not None and value == secret.reveal():
            return name
    return imported.references.get(key) or (PASSWORD_VARIABLE if key == "auth.password" else TOKEN_VARIABLE)


def profile_yaml(imported: Imported, curl: CurlCommand) -> dict[str, Any]:
    """The profile as the profiles file holds it: every secret as a ${VAR} reference, never its value."""
    profile = imported.profile
    body: dict[str, Any] = {"url": profile.url}
    auth: dict[str, Any] = {"type": profile.auth.type.value}
    if profile.auth.username is not None:
        auth["username"] = profile.auth.username
    if profile.auth.type in (AuthType.BASIC, AuthType.JWT):
        auth["password"] = f"${{{variable_for(imported, 'auth.password', curl)}}}"
    if profile.auth.type is AuthType.BASIC:
        auth["encoding"] = profile.auth.encoding
    if profile.auth.type is AuthType.TOKEN:
        auth["token"] = f"${{{variable_for(imported, 'auth.token', curl)}}}"
    body["auth"] = auth
    if profile.dag_id:
        body["dag_id"] = profile.dag_id
    if profile.payload is not None:
        body["payload"] = profile.payload
    assert profile.request is not None
    request = {"path": profile.request.path, "method": profile.request.method}
    if profile.request.content_type:
        request["content_type"] = profile.request.content_type
    body["request"] = request
    body.update(curl_network.profile_yaml(profile, curl.expanded))
    body["timeout"] = {"connect": profile.connect_timeout, "read": profile.read_timeout}
    return body


def profile_to_check(command: str, dag: str | None, password_env: str | None,
                     ask: Callable[[str], "str | None"], say: Callable[[str], None],
                     env: Mapping[str, str] = os.environ, registry: SecretRegistry = REGISTRY) -> Profile:
    """`check --from-curl`: the profile of the command's request, --dag applied, a missing password asked for; says on
    stderr (through `say`) which request it checks and that the command held a secret."""
    imported = to_profile(parse(command, env), registry=registry)
    profile = imported.profile
    if dag:
        profile = dataclasses.replace(profile, dag_id=dag, sources={**profile.sources, "dag_id": "--dag"})
    if profile.auth.type.value == "basic" and profile.auth.password is None:
        profile = with_asked_password(profile, password_env, ask, env, registry)
    say(f"checking the request of: {imported.shown_command}")
    warnings = [w for w in (imported.secret_warning(),) if w]
    for line in warnings:
        say(f"warning: {line}")
    return dataclasses.replace(profile, warnings=(*warnings, *imported.notes, *profile.warnings))


def with_asked_password(profile: Profile, variable: str | None, ask: Callable[[str], "str | None"],
                        env: Mapping[str, str] = os.environ, registry: SecretRegistry = REGISTRY) -> Profile:
    """`curl -u admin` makes curl ask for the password; so does the doctor (or it reads --password-env)."""
    value = env.get(variable) if variable else None
    value = value or ask(f"Password of {profile.auth.username} (hidden, not stored): ")
    if not value:
        if variable:
            return dataclasses.replace(profile, unset=(UnsetSecret("auth.password", variable),))
        raise UsageError(f"the command has -u {profile.auth.username} without a password and there is no terminal "
                         f"to ask on; add --password-env VAR (an environment variable that holds it).")
    registry.add_basic(profile.auth.username or "", value)
    return dataclasses.replace(profile, auth=dataclasses.replace(profile.auth, password=Secret(value)))
