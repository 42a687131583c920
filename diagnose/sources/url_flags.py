"""`check --url` flags for the network path, read into what a profile's headers:, tls:, proxy: and timeout: hold.

Each bad value is one sentence naming the flag (exit 2), before any request; each header value and the proxy's
password is registered as a secret before anything can print it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from airflow_doctor.errors import UsageError
from airflow_doctor.secrets import Secret, SecretRegistry
from airflow_doctor.sources import network
from airflow_doctor.sources.profile import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, Header, Network

if TYPE_CHECKING:
    from airflow_doctor.sources.url import NetworkFlags


def network_from_flags(flags: "NetworkFlags", env: Mapping[str, str], registry: SecretRegistry,
                       sources: dict[str, str]) -> tuple[bool | str, Network, tuple[float, float]]:
    """(requests' verify, the rest of the network settings, (connect, read) timeouts) the flags describe."""
    def checked(flag: str, call, *args):  # type: ignore[no-untyped-def]
        try:
            return call(*args)
        except ValueError as exc:
            raise UsageError(f"{flag}: {exc}.") from None

    chosen = [flag for flag, value in (("--cacert", flags.cacert), ("--ca-native", flags.ca_native),
                                       ("--insecure", flags.insecure)) if value]
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen)} each say how to verify the server; keep one (--cacert FILE: "
                           "that CA bundle, --ca-native: the operating system's store, --insecure: no verification).")
    verify: bool | str = True
    if flags.cacert:
        verify = checked("--cacert", network.check_file, flags.cacert, "CA bundle")
        sources["tls.verify"] = "--cacert"
    elif flags.insecure:
        verify = False
        sources["tls.verify"] = "--insecure"
    elif flags.ca_native:
        checked("--ca-native", network.require_truststore)
        sources["tls.verify"] = "--ca-native"
    cert = key = None
    if flags.client_key and not flags.client_cert:
        raise UsageError("a client key goes with its certificate: add --client-cert (the certificate's PEM file).")
    if flags.client_cert:
        cert = checked("--client-cert", network.check_file, flags.client_cert, "client certificate")
        key = flags.client_key and checked("--client-key", network.check_file, flags.client_key, "client key")
        checked("--client-cert", network.check_client_pair, cert, key, None)
        sources["tls.client_cert"] = "--client-cert"
        if key:
            sources["tls.client_key"] = "--client-key"
    proxy = None
    if flags.proxy is not None:
        network.register_proxy_credentials(flags.proxy, registry)
        proxy = checked("--proxy", network.check_proxy, flags.proxy)
        sources["proxy"] = "--proxy"
    headers = tuple(_header(text, env, registry, sources, checked) for text in flags.headers or ())
    names = [h.name.lower() for h in headers]
    if len(set(names)) < len(names):
        raise UsageError("--header names the same header twice; keep one.")
    timeouts = (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)
    if flags.timeout is not None:
        if not 0 < flags.timeout <= 600:
            raise UsageError(f"--timeout takes seconds between 0 and 600, not {flags.timeout:g}.")
        timeouts = (flags.timeout, flags.timeout)  # as requests' timeout=30 bounds the connect and each read
        sources["timeout.connect"] = sources["timeout.read"] = "--timeout"
    return verify, Network(headers, bool(flags.ca_native), cert, key or None, None, proxy), timeouts


def _header(text: str, env: Mapping[str, str], registry: SecretRegistry, sources: dict[str, str],
            checked) -> Header:  # type: ignore[no-untyped-def]
    """'Name: value', the value's ${VAR} (or $VAR) read from the environment; the working request reads that variable."""
    name, raw = checked("--header", network.split_header, text)
    value, used = checked("--header", network.expand, raw, env)
    registry.add(value)
    variable = used[0] if len(used) == 1 and raw.strip() in (f"${used[0]}", f"${{{used[0]}}}") else None
    sources[f"headers.{name}"] = f"--header (env ${used[0]})" if used else "--header"
    return Header(name, Secret(value), variable or network.header_variable(name))
