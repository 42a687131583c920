"""curl's options for the network path (-H beyond auth and content type, --cacert, --ca-native, -k, -E/--cert with
its cert:password, --key, --pass, -x/--proxy, --noproxy), read as curl reads them into what a profile's headers:,
tls: and proxy: hold. Secrets among them (header values, the key's password, the proxy's password) are registered,
shown in the echoed command as $VAR, and saved as ${VAR} references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlsplit, urlunsplit

from airflow_doctor.errors import CurlError
from airflow_doctor.secrets import Secret, SecretRegistry
from airflow_doctor.sources import network
from airflow_doctor.sources.profile import Header, Network, Profile
from airflow_doctor.transport import NO_PROXY

if TYPE_CHECKING:
    from airflow_doctor.sources.curl import CurlCommand

OPTIONS_WITH_VALUE = {"-E": "cert", "--cert": "cert", "--key": "key", "--pass": "pass", "-x": "proxy",
                      "--proxy": "proxy", "--noproxy": "noproxy"}
MEANINGS = frozenset(OPTIONS_WITH_VALUE.values())
KEY_PASSWORD_VARIABLE = "AIRFLOW_CLIENT_KEY_PASSWORD"
PROXY_PASSWORD_VARIABLE = "AIRFLOW_PROXY_PASSWORD"
NOT_EXTRA = ("authorization", "content-type", "content-length", "host", "accept", "user-agent", "expect")
"""Headers the profile holds elsewhere (auth, request.content_type) or that requests sets itself."""
_UNESCAPED_COLON = re.compile(r"(?<!\\):")


@dataclass
class CurlNetwork:
    cert: str | None = None
    key: str | None = None
    key_password: str | None = None
    proxy: str | None = None
    noproxy: str | None = None
    ca_native: bool = False
    extra: list[str] = field(default_factory=list)


def read_option(net: CurlNetwork, meaning: str, value: str) -> None:
    if meaning == "cert":
        net.cert, net.key_password = _cert_and_password(value, net.key_password)
    elif meaning == "key":
        net.key = value
    elif meaning == "pass":
        net.key_password = value
    elif meaning == "proxy":
        net.proxy = value
    elif meaning == "noproxy":
        net.noproxy = value


def _cert_and_password(value: str, password: str | None) -> tuple[str, str | None]:
    """curl -E file[:password]: the first colon not escaped with a backslash ends the file name (a Windows drive
    letter 'C:\\' is not a separator)."""
    drive = re.match(r"[A-Za-z]:[\\/]", value)
    start = 2 if drive else 0
    match = _UNESCAPED_COLON.search(value, start)
    if match is None:
        return value.replace("\\:", ":"), password
    return value[:match.start()].replace("\\:", ":"), value[match.end():]


def network_of(curl: "CurlCommand", host: str | None, registry: SecretRegistry,
               references: dict[str, str]) -> tuple[bool | str, Network]:
    """(requests' verify, the network settings) of the command; a bad value is one sentence (CurlError)."""
    net = curl.network

    def checked(flag: str, call, *args):  # type: ignore[no-untyped-def]
        try:
            return call(*args)
        except ValueError as exc:
            raise CurlError(f"--from-curl: curl's {flag}: {exc}.") from None

    verify: bool | str = True
    if curl.insecure:
        verify = False
    elif curl.cacert:
        verify = checked("--cacert", network.check_file, curl.cacert, "CA bundle")
    system_ca = net.ca_native and verify is True
    if system_ca:
        checked("--ca-native", network.require_truststore)
    password = None
    if net.key_password:
        registry.add(net.key_password)
        password = Secret(net.key_password)
        if not _from_environment(net.key_password, curl):
            references["tls.client_key_password"] = KEY_PASSWORD_VARIABLE
    cert = key = None
    if net.cert:
        cert = checked("-E/--cert", network.check_file, net.cert, "client certificate")
        key = net.key and checked("--key", network.check_file, net.key, "client key")
        checked("-E/--cert", network.check_client_pair, cert, key, net.key_password)
    elif net.key:
        raise CurlError("--from-curl: the command has --key but no -E/--cert; a key goes with its certificate.")
    return verify, Network(_headers(curl, registry, references, checked), system_ca, cert, key or None, password,
                           _proxy(curl, host, registry, references, checked))


def _headers(curl: "CurlCommand", registry: SecretRegistry, references: dict[str, str],
             checked) -> tuple[Header, ...]:  # type: ignore[no-untyped-def]
    headers: dict[str, Header] = {}
    for name, value in curl.headers:
        if name.lower() in NOT_EXTRA or not value:
            continue
        checked("-H", network.check_header, name, value)
        registry.add(value)
        own = next((var for var, held in sorted(curl.expanded.items()) if held == value), None)
        variable = own or network.header_variable(name)
        if own is None:
            references[f"headers.{name}"] = variable
        headers[name.lower()] = Header(name, Secret(value), variable)  # curl sends the last of a repeated header
    return tuple(headers.values())


def _proxy(curl: "CurlCommand", host: str | None, registry: SecretRegistry, references: dict[str, str],
           checked) -> str | None:  # type: ignore[no-untyped-def]
    net = curl.network
    url = None
    if net.proxy is not None:
        url = net.proxy if "://" in net.proxy or net.proxy.strip().lower() == NO_PROXY else f"http://{net.proxy}"
        password = network.proxy_password(url)
        network.register_proxy_credentials(url, registry)
        if password and not _from_environment(password, curl):
            references["proxy"] = PROXY_PASSWORD_VARIABLE
    if net.noproxy is not None and _bypassed(net.noproxy, host):
        references.pop("proxy", None)
        return NO_PROXY
    if net.proxy is None:
        return None
    return checked("-x/--proxy", network.check_proxy, url) if net.proxy.strip() else NO_PROXY


def _bypassed(noproxy: str, host: str | None) -> bool:
    """curl --noproxy: '*' is every host; else a comma list of host names and domain suffixes."""
    names = [n.strip().lstrip(".").lower() for n in noproxy.split(",") if n.strip()]
    host = (host or "").lower()
    return "*" in names or any(host == n or host.endswith("." + n) for n in names)


def _from_environment(value: str, curl: "CurlCommand") -> bool:
    return any(held and held in value for held in curl.expanded.values())


def _variable(value: str, default: str, expanded: Mapping[str, str]) -> str:
    return next((var for var, held in sorted(expanded.items()) if held == value), default)


def sources_of(net: Network, verify: bool | str, curl: "CurlCommand") -> dict[str, str]:
    sources = {f"headers.{h.name}": "--from-curl (-H)" for h in net.headers}
    if verify is not True or net.system_ca:
        sources["tls.verify"] = "--from-curl (" + ("-k" if verify is False else "--cacert" if verify else
                                                  "--ca-native") + ")"
    if net.client_cert:
        sources["tls.client_cert"] = "--from-curl (-E/--cert)"
    if net.client_key:
        sources["tls.client_key"] = "--from-curl (--key)"
    if net.client_key_password is not None:
        sources["tls.client_key_password"] = "--from-curl (-E cert:password / --pass)"
    if net.proxy is not None:
        sources["proxy"] = "--from-curl (" + ("--noproxy" if curl.network.noproxy and net.proxy == NO_PROXY else
                                              "-x/--proxy") + ")"
    return sources


def shown_command(shown: str, net: Network, references: dict[str, str]) -> str:
    """The echoed command with each network secret written literally in it replaced by its $VAR."""
    for header in net.headers:
        if f"headers.{header.name}" in references:
            shown = shown.replace(header.value.reveal(), f"${header.variable}")
    if net.client_key_password is not None and "tls.client_key_password" in references:
        shown = shown.replace(f":{net.client_key_password.reveal()}", f":${KEY_PASSWORD_VARIABLE}")
        shown = shown.replace(net.client_key_password.reveal(), f"${KEY_PASSWORD_VARIABLE}")
    password = network.proxy_password(net.proxy or "")
    if password and "proxy" in references:
        shown = shown.replace(f":{password}@", f":${PROXY_PASSWORD_VARIABLE}@")
    return shown


def profile_yaml(profile: Profile, expanded: Mapping[str, str]) -> dict[str, Any]:
    """headers:, tls: and proxy: as the profiles file holds them: every secret as a ${VAR} reference."""
    net, body = profile.network, {}
    if net.headers:
        body["headers"] = {h.name: f"${{{h.variable}}}" for h in net.headers}
    tls: dict[str, Any] = {}
    if net.system_ca:
        tls["verify"] = "system"
    elif profile.verify is not True:
        tls["verify"] = profile.verify
    for key in ("client_cert", "client_key"):
        if getattr(net, key):
            tls[key] = getattr(net, key)
    if net.client_key_password is not None:
        variable = _variable(net.client_key_password.reveal(), KEY_PASSWORD_VARIABLE, expanded)
        tls["client_key_password"] = f"${{{variable}}}"
    if tls:
        body["tls"] = tls
    if net.proxy:
        body["proxy"] = _proxy_reference(net.proxy, expanded)
    return body


def _proxy_reference(url: str, expanded: Mapping[str, str]) -> str:
    password = network.proxy_password(url)
    if not password:
        return url
    parts = urlsplit(url)
    variable = _variable(password, PROXY_PASSWORD_VARIABLE, expanded)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{parts.username}:${{{variable}}}@{host}", parts.path, "", ""))
