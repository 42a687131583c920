"""Profiles: find the file, load YAML, validate, interpolate ${VAR} and *_file, record where each value came from."""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from airflow_doctor.secrets import REGISTRY, Secret, SecretRegistry, weak_secret_reason

ENV_PROFILES_FILE = "AIRFLOW_DOCTOR_PROFILES"
ENV_PROFILE = "AIRFLOW_DOCTOR_PROFILE"
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0
MAX_PROFILE_BYTES = 1024 * 1024
MAX_SECRET_FILE_BYTES = 64 * 1024


class ProfileError(Exception):
    """A problem with the profile file or a profile in it. The message is one sentence naming problem and fix."""


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
                 ("tls.verify", str(self.verify)),
                 ("timeout.connect", f"{self.connect_timeout:g} s"),
                 ("timeout.read", f"{self.read_timeout:g} s")]
        return [(key, value, self.sources.get(key, "default")) for key, value in rows]


def _compact(value: Any) -> str:
    import json

    from airflow_doctor.redact import redact_json

    return json.dumps(redact_json(value), ensure_ascii=False)


# --- the YAML schema -------------------------------------------------------------------------------

_FILE_KEYS = ("version", "default_profile", "profiles")
_PROFILE_KEYS = ("url", "auth", "dag_id", "payload", "request", "tls", "timeout", "description")
_REQUEST_KEYS = ("path", "method", "content_type")
_AUTH_KEYS = ("type", "username", "username_file", "password", "password_file", "token", "token_file", "encoding",
              "scheme", "environment", "region", "aws_profile", "via")
TOKEN_SCHEMES = ("bearer", "none")
_AWS_KEYS = ("environment", "region", "aws_profile", "via")
AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
"""The shape of an AWS region name (us-east-1, us-gov-west-1, cn-north-1); boto3 refuses others."""
BASIC_ENCODINGS = ("latin-1", "utf-8")
_TLS_KEYS = ("verify",)
_TIMEOUT_KEYS = ("connect", "read")
_AUTH_FIELDS = {
    AuthType.GOOGLE: set(),
    AuthType.BASIC: {"username", "password"},
    AuthType.JWT: {"username", "password"},
    AuthType.TOKEN: {"token"},
    AuthType.NONE: set(),
    AuthType.AWS: set(),
}


MAX_YAML_VALUES = 100_000
MAX_YAML_DEPTH = 20
_YAML_TAG = "tag:yaml.org,2002:"
_JSON_SCALARS = (str, int, float, bool, type(None))
_TIMESTAMP = _YAML_TAG + "timestamp"
_TEXT_AS_TYPED = frozenset({_TIMESTAMP, _YAML_TAG + "int", _YAML_TAG + "float"})
# YAML 1.1 reads 12:30 as 750 (base 60) and 0755 as 493 (base 8); JSON has neither, so they stay the text typed.
_BASE60_OR_OCTAL = re.compile(r"[-+]?(?:[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|0[0-7_]+)")


@dataclass
class _Node:
    """A JSON value from the YAML file, the line it was written on and, for a scalar, the text as written."""

    value: Any
    line: int
    text: str | None = None


def _load_yaml(text: str, where: str) -> _Node:
    import yaml

    Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        root = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError as exc:
        raise ProfileError(_syntax_error(exc, text, where)) from None
    except RecursionError:
        raise ProfileError(f"{where} is nested too deeply to be a profile file; check its structure.") from None
    if root is None:
        raise ProfileError(f"{where} is empty; add a profile (airflow-doctor profiles example prints one).")
    _refuse_runaway_expansion(root, where)
    constructor = Loader("")
    try:
        return _Converter(constructor, where).convert(root)
    finally:
        constructor.dispose()


def _refuse_runaway_expansion(root: Any, where: str) -> None:
    """Count the values the graph expands to, each alias as often as it is used, without expanding it.

    Nine anchors of nine aliases compose in microseconds but expand to 387 million values.
    """
    sizes: dict[int, int] = {}
    aliased = False

    def size(node: Any, depth: int) -> int:
        nonlocal aliased
        if id(node) in sizes:
            aliased = True
            return sizes[id(node)]
        if depth > MAX_YAML_DEPTH:
            return 1
        sizes[id(node)] = 1
        children = node.value if isinstance(node.value, list) else []
        pairs = (item if isinstance(item, tuple) else (item,) for item in children)
        sizes[id(node)] = 1 + sum(size(child, depth + 1) for pair in pairs for child in pair)
        return sizes[id(node)]

    if size(root, 0) > MAX_YAML_VALUES:
        if aliased:
            raise ProfileError(f"{where} uses YAML aliases that expand to more than {MAX_YAML_VALUES:,} values; "
                               f"remove the anchors (&name) and aliases (*name).")
        raise ProfileError(f"{where} holds more than {MAX_YAML_VALUES:,} values, far more than a profile file needs; "
                           f"check that it is the right file.")


def _syntax_error(exc: Exception, text: str, where: str) -> str:
    """YAML's parser message, or the classic mistake behind it named with its fix."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "it is not valid YAML"
    if "duplicate anchor" in (getattr(exc, "context", None) or ""):
        problem = "the same anchor (&name) is defined twice"
    elif "alias" in problem:
        problem = "found an alias (*name) with no anchor (&name)"
    if mark is None:
        return f"{where} is not valid YAML ({problem}); fix the syntax there."
    lines = text.splitlines()
    tabbed = _tab_indented_line(lines, mark.line, "tab" in problem)
    if tabbed is not None:
        return (f"{where} line {tabbed} is indented with a tab; YAML allows only spaces for indentation — "
                f"replace the tab with spaces.")
    line = lines[mark.line] if mark.line < len(lines) else ""
    hint = _syntax_hint(line, line[mark.column:mark.column + 1], problem)
    return f"{where} is not valid YAML at line {mark.line + 1} ({problem}); {hint}"


def _tab_indented_line(lines: list[str], index: int, blamed_on_tab: bool) -> int | None:
    """The 1-based line whose indentation holds a tab, when that is what YAML tripped over."""
    nearby = range(index, -1, -1) if blamed_on_tab else range(index, max(index - 2, -1), -1)
    for i in nearby:
        if i < len(lines) and "\t" in lines[i][:len(lines[i]) - len(lines[i].lstrip())]:
            return i + 1
    return None


def _syntax_hint(line: str, char: str, problem: str) -> str:
    variable = re.search(r"\$\{[^}\s,]*\}?", line)
    if variable and "expected ','" in problem:
        return f"a {variable.group(0)} inside {{ }} or [ ] must be quoted; write '{variable.group(0)}'."
    if "cannot start any token" in problem and char in ("@", "`", "%"):
        return f"a value cannot start with '{char}' in YAML; put it in quotes."
    if "alias" in problem:
        return "a value starting with '*' is read as a YAML alias; put it in quotes."
    if "anchor" in problem:
        return "give each anchor its own name."
    if "escape" in problem:
        return "in double quotes a backslash starts an escape (\\n, \\t, ...); use single quotes for text with backslashes."
    return "fix the syntax there."


class _Converter:
    """A composed YAML graph (already known to expand to few values) as _Nodes holding only JSON values."""

    def __init__(self, constructor: Any, where: str) -> None:
        import yaml

        self.yaml, self.constructor, self.where = yaml, constructor, where

    def error(self, node: Any, message: str) -> ProfileError:
        return ProfileError(f"{self.where} line {node.start_mark.line + 1}: {message}")

    def convert(self, node: Any, depth: int = 0, secret: bool = False) -> _Node:
        if depth > MAX_YAML_DEPTH:
            raise ProfileError(f"{self.where} is nested deeper than a profile can be (line {node.start_mark.line + 1}); "
                               f"check its structure.")
        if isinstance(node, self.yaml.MappingNode):
            return self._mapping(node, depth, secret)
        if isinstance(node, self.yaml.SequenceNode):
            self._require_plain_tag(node, "seq")
            return _Node([self.convert(item, depth + 1, secret) for item in node.value], node.start_mark.line + 1)
        return self._scalar(node, secret)

    def _require_plain_tag(self, node: Any, kind: str) -> None:
        if node.tag != _YAML_TAG + kind:
            raise self.error(node, f"the YAML tag {node.tag.replace(_YAML_TAG, '!!')} has no JSON form; remove it and "
                                   f"write a plain {'mapping' if kind == 'map' else 'list'}.")

    def _mapping(self, node: Any, depth: int, secret: bool) -> _Node:
        from airflow_doctor.redact import is_sensitive_name

        self._require_plain_tag(node, "map")
        result: dict[str, _Node] = {}
        key_lines: dict[str, int] = {}
        merges = []
        for key_node, value_node in node.value:
            if key_node.tag == _YAML_TAG + "merge":
                merges.append(value_node)
                continue
            key = self._key(key_node)
            if key in key_lines:
                raise self.error(key_node, f"the key '{key}' appears twice in the same mapping (first on line "
                                           f"{key_lines[key]}), and YAML would silently keep only the last; remove one.")
            key_lines[key] = key_node.start_mark.line + 1
            result[key] = self.convert(value_node, depth + 1, secret or is_sensitive_name(key))
        for merged in merges:
            for key, value in self._merged(merged, depth, secret).items():
                result.setdefault(key, value)
        return _Node(result, node.start_mark.line + 1)

    def _merged(self, node: Any, depth: int, secret: bool) -> dict[str, _Node]:
        """What `<<: *anchor` (or `<<: [*a, *b]`) brings in; keys written in the mapping itself win, as in YAML."""
        merged: dict[str, _Node] = {}
        for source in node.value if isinstance(node, self.yaml.SequenceNode) else [node]:
            converted = self.convert(source, depth + 1, secret)
            if not isinstance(converted.value, dict):
                raise self.error(source, "'<<' merges mappings only; write <<: *name where &name marks a mapping.")
            for key, value in converted.value.items():
                merged.setdefault(key, value)
        return merged

    def _key(self, node: Any) -> str:
        if not isinstance(node, self.yaml.ScalarNode):
            raise self.error(node, "a key here is a list or mapping; keys must be plain names.")
        key = self._scalar(node, secret=False).value
        if not isinstance(key, str):
            kind = {bool: "a boolean", type(None): "null"}.get(type(key), "a number")
            raise self.error(node, f"the key {node.value or '(empty)'} is {kind} to YAML, but names and keys must be "
                                   f"text; quote it: '{node.value}'.")
        return key

    def _scalar(self, node: Any, secret: bool) -> _Node:
        line = node.start_mark.line + 1
        if node.tag in _TEXT_AS_TYPED and (node.tag == _TIMESTAMP or _BASE60_OR_OCTAL.fullmatch(node.value)):
            return _Node(node.value, line, node.value)
        try:
            value = self.constructor.construct_object(node)
        except (self.yaml.YAMLError, ValueError, LookupError, TypeError):
            tag = "the tag it starts with" if secret else node.tag.replace(_YAML_TAG, "!!")
            raise self.error(node, f"{_shown(node, secret)} cannot be read as {tag}; quote it to send it as text "
                                   f"(a leading '!' makes a YAML tag).") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(node, f"{_shown(node, secret)} is not a number JSON can carry; quote it to send it as text.")
        if not isinstance(value, _JSON_SCALARS):
            raise self.error(node, f"{_shown(node, secret)} is tagged {node.tag.replace(_YAML_TAG, '!!')}, which has no "
                                   f"JSON form; remove the tag to send it as text.")
        return _Node(value, line, node.value)


def _shown(node: Any, secret: bool) -> str:
    """The scalar as written, unless it sits under a key whose value may be a secret."""
    return "the value here" if secret else f"the value {node.value}"


def _plain(node: _Node) -> Any:
    if isinstance(node.value, dict):
        return {k: _plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_plain(v) for v in node.value]
    return node.value


def _auth_type_of(body: dict[Any, _Node]) -> Any:
    auth = body.get("auth")
    kind = auth.value.get("type") if auth is not None and isinstance(auth.value, dict) else None
    return kind.value if isinstance(kind, _Node) else kind


def _check_keys(mapping: dict[Any, _Node], allowed: tuple[str, ...], where: str, context: str) -> None:
    for key, node in mapping.items():
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed keys are: {', '.join(allowed)}."
            raise ProfileError(f"{where} line {node.line}: unknown key '{key}' in {context}; {hint}")


def _mapping(node: _Node | None, where: str, context: str) -> dict[Any, _Node]:
    if node is None:
        return {}
    if not isinstance(node.value, dict):
        raise ProfileError(f"{where} line {node.line}: {context} must be a mapping of keys to values, not {_kind(node.value)}.")
    return node.value


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true/false",
            type(None): "empty"}.get(type(value), type(value).__name__)


# --- finding the file ------------------------------------------------------------------------------

def default_profiles_path(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "airflow-doctor" / "profiles.yml"


def find_profiles_file(explicit: str | None, env: Mapping[str, str] = os.environ) -> tuple[Path, str]:
    """The profiles file and how it was chosen."""
    if explicit:
        return Path(explicit).expanduser(), "--profiles-file"
    if env.get(ENV_PROFILES_FILE):
        return Path(env[ENV_PROFILES_FILE]).expanduser(), f"${ENV_PROFILES_FILE}"
    return default_profiles_path(env), "the default location"


def _read_text(path: Path, what: str) -> str:
    try:
        if path.is_dir():
            raise ProfileError(f"{what} {path} is a directory, not a file; point to the YAML file inside it.")
        with path.open("rb") as handle:
            data = handle.read(MAX_PROFILE_BYTES + 1)
    except FileNotFoundError:
        if what == PROFILE_FILE:
            raise ProfileError(f"The file {path} given to --profile does not exist; check the path, or run "
                               f"'airflow-doctor init' to write a profile.") from None
        raise ProfileError(f"{what} {path} does not exist; create it with 'airflow-doctor init' or pass --profiles-file.") from None
    except PermissionError:
        raise ProfileError(f"{what} {path} cannot be read (permission denied); fix its permissions.") from None
    except OSError as exc:
        raise ProfileError(f"{what} {path} cannot be read ({exc.strerror or exc}); check the path.") from None
    if len(data) > MAX_PROFILE_BYTES:
        raise ProfileError(f"{what} {path} is larger than 1 MiB, too large to be a profile file; check that it is the right file.")
    if b"\x00" in data:
        raise ProfileError(f"{what} {path} is a binary file, not YAML; point to the profile file.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProfileError(f"{what} {path} is not UTF-8 text; save it as UTF-8.") from None


@dataclass(frozen=True)
class ProfilesFile:
    path: Path
    chosen_by: str
    default_profile: str | None
    names: tuple[str, ...]
    single: bool
    _nodes: dict[str, _Node]


PROFILE_FILE = "The profile file"


def read_profiles_file(path: Path, chosen_by: str = "--profiles-file") -> ProfilesFile:
    where = str(path)
    text = _read_text(path, PROFILE_FILE if chosen_by == "--profile" else "The profiles file")
    root = _load_yaml(text, where)
    if not isinstance(root.value, dict):
        raise ProfileError(f"{where} must hold a mapping (version, profiles: ...), not {_kind(root.value)}; 'airflow-doctor profiles example' prints one.")
    top = root.value
    if "profiles" not in top and ("url" in top or _auth_type_of(top) is not None):
        name = path.stem
        return ProfilesFile(path, chosen_by, name, (name,), True, {name: root})
    _check_keys(top, _FILE_KEYS, where, "the profiles file")
    version = top.get("version")
    if version is not None and version.value != 1:
        raise ProfileError(f"{where} line {version.line}: version {version.value!r} is not supported; this tool reads version: 1.")
    profiles = _mapping(top.get("profiles"), where, "'profiles'")
    if not profiles:
        raise ProfileError(f"{where} defines no profiles; add one under 'profiles:' (or run 'airflow-doctor init').")
    default = top.get("default_profile")
    default_name = None
    if default is not None:
        default_name = default.value if isinstance(default.value, str) else default.text
        if default_name not in profiles:
            raise ProfileError(f"{where} line {default.line}: default_profile {default_name or default.value!r} is not "
                               f"one of the profiles ({', '.join(map(str, profiles))}); correct it.")
    return ProfilesFile(path, chosen_by, default_name, tuple(str(n) for n in profiles), False,
                        {str(k): v for k, v in profiles.items()})


def looks_like_path(value: str) -> bool:
    return "/" in value or value.endswith((".yml", ".yaml")) or value.startswith("~")


def choose_profile_name(pf: ProfilesFile, requested: str | None, env: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """The profile to use and how it was chosen: --profile, $AIRFLOW_DOCTOR_PROFILE, default_profile, the only one."""
    if requested:
        name, how = requested, "--profile"
    elif env.get(ENV_PROFILE):
        name, how = env[ENV_PROFILE], f"${ENV_PROFILE}"
    elif pf.default_profile:
        name, how = pf.default_profile, "default_profile"
    elif len(pf.names) == 1:
        name, how = pf.names[0], "the only profile"
    else:
        raise ProfileError(f"{pf.path} has {len(pf.names)} profiles ({', '.join(pf.names)}) and none was chosen; "
                           f"run: airflow-doctor check --profile {pf.names[0]}")
    if name not in pf.names:
        close = difflib.get_close_matches(name, pf.names, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ProfileError(f"There is no profile '{name}' in {pf.path} (it has: {', '.join(pf.names)}); {hint}"
                           f"run: airflow-doctor check --profile {close[0] if close else pf.names[0]}")
    return name, how


# --- building one profile --------------------------------------------------------------------------

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
    def __init__(self, pf: ProfilesFile, name: str, env: Mapping[str, str], registry: SecretRegistry,
                 allow_unset: bool = False) -> None:
        self.pf, self.name, self.env, self.registry = pf, name, env, registry
        self.allow_unset = allow_unset
        self.where = str(pf.path)
        self.sources: dict[str, str] = {}
        self.warnings: list[str] = []
        self.unset: list[UnsetSecret] = []

    def at(self, node: _Node) -> str:
        return f"{self.pf.path.name}:{node.line}"

    def error(self, node: _Node, message: str) -> ProfileError:
        return ProfileError(f"{self.where} line {node.line}: {message}")

    def string(self, node: _Node, key: str, *, secret: bool = False) -> str:
        value = node.value
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            raise self.error(node, f"'{key}' must be a string, not {_kind(value)}.")
        text = value if isinstance(value, str) else node.text or str(value)
        result, used = self.interpolate(node, key, text)
        if used:
            self.sources[key] = f"env {', '.join('$' + v for v in used)} ({self.at(node)})"
        else:
            self.sources[key] = self.at(node)
            if secret and result:
                self._warn_if_world_readable(key)
        return result

    def interpolate(self, node: _Node, key: str, text: str) -> tuple[str, list[str]]:
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

    def _refuse_malformed_references(self, node: _Node, key: str, rest: str) -> None:
        """`${NAME` and `$NAME` would be sent as literal text; say so instead of failing at the server."""
        if "${" in rest:
            raise self.error(node, f"'{key}' has '${{' with no closing '}}'; write ${{NAME}}.")
        for bare in _BARE_VAR.finditer(rest):
            name = bare.group(1)
            if name in self.env or (rest.strip() == bare.group(0) and name.isupper()):
                raise self.error(node, f"'{key}' holds ${name}, which is taken literally; write ${{{name}}} (with "
                                       f"braces) to read the environment variable.")

    def secret_file(self, node: _Node, key: str) -> str:
        path_text = self.string(node, key)
        path = Path(path_text).expanduser()
        if not path.is_absolute():
            path = self.pf.path.parent / path
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
            mode = self.pf.path.stat().st_mode
        except OSError:
            return
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            self.warnings.append(f"{self.pf.path} holds a literal {key} and can be read by other users; use "
                                 f"${{VAR}} or {key}_file, or run: chmod 600 {self.pf.path}")

    def _warn_if_weak(self, username: str | None, password: Secret) -> None:
        reason = weak_secret_reason(username, password.reveal())
        if reason:
            self.warnings.append(f"the password of '{username}' is weak ({reason}): anyone can guess it; "
                                 f"the report masks it where it is a value (headers, bodies, URLs, password=...) but "
                                 f"not where the same word appears in ordinary text; use a strong password")

    def number(self, node: _Node, key: str) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(node, f"'{key}' must be a number of seconds, not {_kind(value)}.")
        if not 0 < value <= 600:
            raise self.error(node, f"'{key}' must be between 0 and 600 seconds, not {value}.")
        self.sources[key] = self.at(node)
        return float(value)

    def build(self) -> Profile:
        node = self.pf._nodes[self.name]
        body = _mapping(node, self.where, f"profile '{self.name}'")
        _check_keys(body, _PROFILE_KEYS, self.where, f"profile '{self.name}'")
        if "url" not in body and _auth_type_of(body) == AuthType.AWS.value:
            body = {**body, "url": _Node("", node.line)}
        elif "url" not in body and _auth_type_of(body) == AuthType.GOOGLE.value:
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
            payload = _plain(body["payload"])
            if not isinstance(payload, (dict, list)):  # a list is what some scripts post: payload-schema reports it
                raise self.error(body["payload"], f"'payload' must be a mapping (the JSON object your script posts, e.g. conf: {{...}}), not {_kind(payload)}.")
            self.sources["payload"] = self.at(body["payload"])
        verify: bool | str = True
        tls = _mapping(body.get("tls"), self.where, "'tls'")
        _check_keys(tls, _TLS_KEYS, self.where, "'tls'")
        if "verify" in tls:
            raw = tls["verify"]
            if isinstance(raw.value, bool):
                verify = raw.value
                self.sources["tls.verify"] = self.at(raw)
            else:
                bundle = Path(self.string(raw, "tls.verify")).expanduser()
                if not bundle.is_file():
                    raise self.error(raw, f"tls.verify names the CA bundle {bundle}, which is not a file; give the path of a PEM file or true/false.")
                verify = str(bundle)
        timeouts = _mapping(body.get("timeout"), self.where, "'timeout'")
        _check_keys(timeouts, _TIMEOUT_KEYS, self.where, "'timeout'")
        connect = self.number(timeouts["connect"], "timeout.connect") if "connect" in timeouts else DEFAULT_CONNECT_TIMEOUT
        read = self.number(timeouts["read"], "timeout.read") if "read" in timeouts else DEFAULT_READ_TIMEOUT
        description = self.string(body["description"], "description") if "description" in body else None
        request = self.script_request(body.get("request"))
        return Profile(self.name, url, auth, dag_id, payload, verify, connect, read, description, request,
                       dict(self.sources), tuple(self.warnings), tuple(self.unset))

    def script_request(self, node: _Node | None) -> ScriptRequest | None:
        if node is None:
            return None
        body = _mapping(node, self.where, "'request'")
        _check_keys(body, _REQUEST_KEYS, self.where, "'request'")
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

    def url(self, node: _Node) -> str:
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

    def auth(self, node: _Node | None) -> Auth:
        if node is None:
            self.sources["auth.type"] = "default"
            return Auth(AuthType.NONE)
        body = _mapping(node, self.where, "'auth'")
        _check_keys(body, _AUTH_KEYS, self.where, "'auth'")
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

    def token_scheme(self, node: _Node | None, auth_type: AuthType) -> str:
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

    def aws_target(self, node: _Node, body: dict[Any, _Node], auth_type: AuthType) -> AwsTarget | None:
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

    def basic_encoding(self, node: _Node | None) -> str:
        if node is None:
            return "latin-1"
        value = str(node.value).strip().lower().replace("_", "-").replace("latin1", "latin-1").replace("utf8", "utf-8")
        if value not in BASIC_ENCODINGS:
            raise self.error(node, f"auth encoding {node.value!r} is not known; use latin-1 (a requests script that "
                                   "passes str credentials) or utf-8 (curl, or requests with bytes).")
        self.sources["auth.encoding"] = self.at(node)
        return value


def load_profile(pf: ProfilesFile, name: str, env: Mapping[str, str] = os.environ,
                 registry: SecretRegistry = REGISTRY, allow_unset: bool = False) -> Profile:
    """One profile; with allow_unset an unset ${VAR} in a credential is recorded in Profile.unset, not refused."""
    return _Builder(pf, name, env, registry, allow_unset).build()


SANDBOX_PROFILE = "sandbox"


def resolve(profile_arg: str | None, profiles_file: str | None, env: Mapping[str, str] = os.environ,
            registry: SecretRegistry = REGISTRY, allow_unset: bool = False) -> tuple[Profile, str]:
    """The profile a command asked for, and a sentence saying how it was chosen."""
    if profile_arg and looks_like_path(profile_arg):
        path = Path(profile_arg).expanduser()
        pf = read_profiles_file(path, "--profile")
        if pf.single:
            return load_profile(pf, pf.names[0], env, registry, allow_unset), f"file {path}"
        name, how = choose_profile_name(pf, None, env)
        return load_profile(pf, name, env, registry, allow_unset), f"{how} in {path}"
    path, chosen_by = find_profiles_file(profiles_file, env)
    if profile_arg == SANDBOX_PROFILE and not _names_a_profile(path, profile_arg):
        return _running_sandbox_profile(env, registry)
    if not path.exists() and chosen_by == "the default location" and not profile_arg:
        raise ProfileError(f"No profile given and no profiles file at {path}; run 'airflow-doctor init', or "
                           f"'airflow-doctor check --url URL', or pass --profile FILE (see "
                           f"'airflow-doctor profiles example'), or set ${ENV_PROFILES_FILE}.")
    pf = read_profiles_file(path, chosen_by)
    name, how = choose_profile_name(pf, profile_arg, env)
    return load_profile(pf, name, env, registry, allow_unset), f"{how} from {path} ({chosen_by})"


def _names_a_profile(path: Path, name: str) -> bool:
    try:
        return name in read_profiles_file(path).names
    except ProfileError:
        return False


def _running_sandbox_profile(env: Mapping[str, str], registry: SecretRegistry) -> tuple[Profile, str]:
    """`--profile sandbox`: the profile `sandbox up` wrote for the sandbox that is running now."""
    from airflow_doctor import sandbox

    running = [state for state in sandbox.status(env) if state.running]
    if not running:
        raise ProfileError("--profile sandbox names the local sandbox, but none is running; start one with "
                           "'airflow-doctor sandbox up'.")
    state = running[-1]
    path = Path(state.profile_path)
    pf = read_profiles_file(path, "--profile")
    return load_profile(pf, pf.names[0], env, registry), f"the running sandbox (Airflow {state.version}, {path})"


def load_all(profiles_file: str | None, env: Mapping[str, str] = os.environ) -> ProfilesFile:
    path, chosen_by = find_profiles_file(profiles_file, env)
    return read_profiles_file(path, chosen_by)

