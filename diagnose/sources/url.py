"""A profile from command-line options (`check --url ...` or `--from-curl`), with the auth type the server itself
announces; a secret the options do not give is asked for on the terminal, hidden.

What the server is comes from the reachability check's own code, run once without credentials: one prober.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import urlsplit

from airflow_doctor.model import Finding, Status
from airflow_doctor.errors import OptionsError, UsageError
from airflow_doctor.sources.profile import (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, MAX_SECRET_FILE_BYTES, Auth,
                                            AuthType, Network, Profile, UnsetSecret, origin_problem)
from airflow_doctor.secrets import REGISTRY, Secret, SecretRegistry

NOT_BUILT_AUTH = ("aws", "google")
AWS_NEEDS_PROFILE = ("AWS MWAA signs in through AWS IAM (boto3), which needs the environment's name and region: "
                     "write them into a profile (airflow-doctor profiles example aws > mwaa.yml, edit it) and run "
                     "airflow-doctor check --profile mwaa.yml.")
"""--auth aws and `init` on an MWAA host: where the MWAA profile comes from (there is no --environment option)."""
AskSecret = Callable[[str], "str | None"]
"""Asks for a secret with hidden input; None when there is no terminal to ask on."""


@dataclass(frozen=True)
class ServerModel:
    """What reachability learned about a URL, without credentials."""

    finding: Finding
    version: str | None
    api: str | None
    major: int | None
    platform: str

    @property
    def reachable(self) -> bool:
        return self.finding.status is not Status.FAIL and self.api is not None

    def auth_type(self) -> AuthType:
        """How a user with a password signs in: a token from /auth/token on Airflow 3, Basic on Airflow 2."""
        return AuthType.JWT if self.major is not None and self.major >= 3 else AuthType.BASIC

    def describe(self) -> str:
        if not self.reachable:
            return self.finding.summary
        how = ("username and password exchanged for a token at POST /auth/token" if self.auth_type() is AuthType.JWT
               else "Basic auth (username and password on every request)")
        return f"Airflow {self.version}, API {self.api}; signs in with {how}"


def probe_server(url: str, verify: bool | str = True, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
                 read_timeout: float = DEFAULT_READ_TIMEOUT, network: Network = Network()) -> ServerModel:
    """Run the reachability check alone against `url`, with no credentials (but the headers, TLS and proxy given)."""
    from airflow_doctor.checks import reachability
    from airflow_doctor.checks.base import CheckContext, Facts
    from airflow_doctor.probe import Probe

    profile = Profile("probe", url, Auth(AuthType.NONE), verify=verify, connect_timeout=connect_timeout,
                      read_timeout=read_timeout, network=network)
    facts = Facts(base_url=url)
    finding = reachability.Check().run(CheckContext(profile, facts, Probe(url, **profile.probe_options())))
    return ServerModel(finding, facts.airflow_version, facts.api.value if facts.api else None, facts.major,
                       facts.platform.value)


@dataclass(frozen=True)
class NetworkFlags:
    """--header, --cacert, --ca-native, --insecure, --client-cert/--client-key, --proxy, --timeout: the flags curl
    users know, for the settings a profile writes under headers:, tls:, proxy: and timeout:."""

    headers: tuple[str, ...] | None = None
    cacert: str | None = None
    ca_native: bool | None = None
    insecure: bool | None = None
    client_cert: str | None = None
    client_key: str | None = None
    proxy: str | None = None
    timeout: float | None = None

    @property
    def given(self) -> bool:
        return any(value not in (None, (), False) for value in vars(self).values())


@dataclass(frozen=True)
class ServerArgs:
    """The options that describe a server without a profile file: `check --url URL [--user] [--password-env |
    --password-file] [--token-env] [--auth] [--dag] [network flags] [--origin]`, or `--from-curl`."""

    url: str | None = None
    user: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    token_env: str | None = None
    auth: str | None = None
    dag: str | None = None
    from_curl: str | None = None
    network: NetworkFlags = NetworkFlags()
    origin: str | None = None
    """--origin: a browser page's origin (checks/cors.py); with --url only."""

    @property
    def given(self) -> bool:
        return self.network.given or any(value is not None for key, value in vars(self).items() if key != "network")

    def profile(self, profile_arg: str | None, profiles_file: str | None, all_profiles: bool,
                say: Callable[[str], None], ask: AskSecret | None = None) -> Profile:
        """The profile these options describe; `say` puts a note on stderr, `ask` asks for a missing secret."""
        ask = ask or ask_secret
        if self.network.given and self.url is None and self.from_curl is None:
            raise UsageError("--header, --cacert, --ca-native, --insecure, --client-cert, --client-key, --proxy and "
                             "--timeout go with --url; a profile writes them as headers:, tls:, proxy: and timeout:.")
        if profile_arg or profiles_file or all_profiles:
            raise UsageError("--url and --from-curl describe the server themselves; drop --profile, --profiles-file "
                             "and --all (or drop --url/--from-curl to use a profile).")
        if self.from_curl is not None:
            from airflow_doctor.sources import curl

            if self.url or self.token_env or self.auth:
                raise UsageError("--from-curl takes the URL and credentials from the command; drop --url, "
                                 "--token-env and --auth.")
            if self.network.given:
                raise UsageError("--from-curl takes headers, TLS, proxy and timeouts from the command; write them "
                                 "there as curl does (-H, --cacert, --ca-native, -k, -E/--cert, --key, -x, --noproxy, "
                                 "-m, --connect-timeout) and drop the doctor's flags.")
            return curl.profile_to_check(self.from_curl or "", self.dag, self.password_env, ask, say)
        if self.origin is not None and self.url is None:
            raise UsageError("--origin describes a browser page calling the server given with --url; add --url (or "
                             "put origin: in a profile).")
        if self.url is None:
            raise UsageError("--user, --password-env, --password-file, --token-env, --auth and --dag describe a server "
                             "given with --url; add --url (the address you open in the browser).")
        return profile_from_options(self, ask)


def ask_secret(prompt: str) -> str | None:
    """A secret typed on the terminal, never echoed; None when there is no terminal to ask on."""
    import getpass

    if not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass(prompt, stream=sys.stderr) or None
    except EOFError:
        return None


def validate_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url if "://" in url else f"//{url}")
    if "://" not in url:
        raise OptionsError(f"--url {url} has no scheme; write it as https://{url} (or http:// for a local server).")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OptionsError(f"--url {url} is not an http(s) address; give what you open in the browser, "
                           f"e.g. https://airflow.example.com")
    if parts.username is not None or parts.password is not None:
        REGISTRY.add(parts.password)
        raise OptionsError("--url has credentials embedded in it; pass --user and --password-env instead.")
    return url.rstrip("/")


def profile_from_options(options: ServerArgs, ask: AskSecret, env: Mapping[str, str] = os.environ,
                         registry: SecretRegistry = REGISTRY,
                         detect: Callable[[str], ServerModel] = probe_server) -> Profile:
    """The profile the options describe; the auth type, when not given, is what the server announces."""
    assert options.url is not None, "profile_from_options needs --url (ServerArgs.profile checks it)"
    url = validate_url(options.url)
    _refuse_conflicts(options)
    sources = {"url": "--url"}
    from airflow_doctor.sources.url_flags import network_from_flags

    verify, net, timeouts = network_from_flags(options.network, env, registry, sources)
    if detect is probe_server:
        detect = functools.partial(probe_server, verify=verify, connect_timeout=timeouts[0], read_timeout=timeouts[1],
                                   network=net)
    auth_type = _auth_type(options, url, detect, sources)
    unset: list[UnsetSecret] = []
    password = token = None
    if auth_type in (AuthType.BASIC, AuthType.JWT):
        password = _secret(options.password_env, options.password_file, f"password of {options.user}", ask, env,
                           unset, "auth.password", sources)
        if password is not None:
            registry.add_basic(options.user or "", password)
    elif auth_type is AuthType.TOKEN:
        token = _secret(options.token_env, None, "API token", ask, env, unset, "auth.token", sources)
        if token is not None:
            registry.add(token)
    if options.user:
        sources["auth.username"] = "--user"
    if options.dag:
        sources["dag_id"] = "--dag"
    if options.origin:
        sources["origin"] = "--origin"
    auth = Auth(auth_type, options.user if auth_type in (AuthType.BASIC, AuthType.JWT) else None, password, token)
    return Profile(_name(url), url, auth, options.dag, verify=verify, connect_timeout=timeouts[0],
                   read_timeout=timeouts[1], sources=sources, unset=tuple(unset), network=net,
                   origin=options.origin)


def _name(url: str) -> str:
    return urlsplit(url).netloc or url


def _refuse_conflicts(options: ServerArgs) -> None:
    if options.origin is not None and (problem := origin_problem(options.origin)):
        raise OptionsError(f"--origin {problem}")
    if options.password_env and options.password_file:
        raise OptionsError("--password-env and --password-file both give the password; keep one.")
    for flag, name in (("--password-env", options.password_env), ("--token-env", options.token_env)):
        if name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise OptionsError(f"{flag} takes the NAME of an environment variable (e.g. {flag} AIRFLOW_PASSWORD), "
                               f"not {'its value' if len(name) > 3 else repr(name)}.")
    if options.token_env and (options.user or options.password_env or options.password_file):
        raise OptionsError("--token-env signs in with a token; drop --user/--password-env/--password-file, or drop "
                           "--token-env to sign in with a password.")
    if (options.password_env or options.password_file) and not options.user:
        raise OptionsError("a password needs a user name; add --user NAME.")


def _auth_type(options: ServerArgs, url: str, detect: Callable[[str], ServerModel],
               sources: dict[str, str]) -> AuthType:
    if options.auth:
        choice = options.auth.strip().lower()
        if choice == "aws":
            raise OptionsError(AWS_NEEDS_PROFILE)
        if choice in NOT_BUILT_AUTH:
            raise OptionsError(f"--auth {choice} is not supported yet (signing in through "
                               f"{'AWS IAM for MWAA' if choice == 'aws' else 'Google for Cloud Composer'} is planned); "
                               f"for Composer pass an access token with --token-env.")
        try:
            auth_type = AuthType(choice)
        except ValueError:
            raise OptionsError(f"--auth {options.auth} is not an auth type; use basic, jwt, token or none.") from None
        sources["auth.type"] = "--auth"
        return auth_type
    if options.token_env:
        sources["auth.type"] = "--token-env"
        return AuthType.TOKEN
    if not options.user:
        sources["auth.type"] = "no --user"
        return AuthType.NONE
    server = detect(url)
    if not server.reachable:
        sources["auth.type"] = "default (the server did not say which it uses)"
        return AuthType.BASIC
    sources["auth.type"] = f"detected: Airflow {server.version} serves {server.api}"
    return server.auth_type()


def _secret(variable: str | None, path: Path | None, what: str, ask: AskSecret, env: Mapping[str, str],
            unset: list[UnsetSecret], key: str, sources: dict[str, str]) -> Secret | None:
    """The secret from the variable or file named; else asked for on the terminal; else recorded as unset."""
    if path is not None:
        sources[key] = f"--password-file {path}"
        return Secret(read_secret_file(path))
    if variable is not None and env.get(variable):
        sources[key] = f"env ${variable}"
        return Secret(env[variable])
    answer = ask(f"{what[0].upper()}{what[1:]} (hidden, not stored): ")
    if answer:
        sources[key] = "asked on the terminal (not stored)"
        return Secret(answer)
    if variable is None:
        flag = "--password-env" if key == "auth.password" else "--token-env"
        raise OptionsError(f"the {what} is needed and there is no terminal to ask on; pass {flag} VAR (an "
                           f"environment variable that holds it){' or --password-file PATH' if flag == '--password-env' else ''}.")
    unset.append(UnsetSecret(key, variable))
    return None


def read_secret_file(path: Path) -> str:
    try:
        data = path.expanduser().read_bytes()[:MAX_SECRET_FILE_BYTES + 1]
    except OSError as exc:
        raise OptionsError(f"--password-file {path} cannot be read ({exc.strerror or exc}); check the path.") from None
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise OptionsError(f"--password-file {path} is larger than 64 KiB; it cannot be a password file.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OptionsError(f"--password-file {path} is not UTF-8 text; save the password as UTF-8.") from None
    if not text.strip():
        raise OptionsError(f"--password-file {path} is empty; write the password into it.")
    return text
