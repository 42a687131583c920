"""How the Probe's session reaches a server beyond requests' own settings: one SSLContext for the operating
system's trust store (truststore, as a browser verifies) or for a client key that needs its password (requests'
cert= cannot pass one); and how a proxy URL is shown (never its credentials)."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit

import requests

NO_PROXY = "none"
"""proxy: none: never a proxy for this profile, whatever HTTP(S)_PROXY says."""


def shown_proxy(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{port}" if port else "")


def mount_tls_context(session: requests.Session, system_ca: bool, key_password: str | None) -> None:
    """An adapter whose connections use one SSLContext: the OS store (truststore), and/or a client key that needs
    its password (requests' cert= cannot pass one). requests still decides verify on/off and the CA bundle."""
    if system_ca:
        import truststore

        context: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    adapter = _ContextAdapter(context, key_password, system_ca)
    session.mount("https://", adapter)


class _ContextAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, context: ssl.SSLContext, key_password: str | None, system_ca: bool) -> None:
        self._context, self._key_password, self._system_ca = context, key_password, system_ca
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(proxy, **kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):  # type: ignore[no-untyped-def]
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if self._key_password is not None and pool_kwargs.get("cert_file"):
            pool_kwargs["key_password"] = self._key_password
        if self._system_ca and verify is not False:
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
        return host_params, pool_kwargs

    def cert_verify(self, conn, url, verify, cert):  # type: ignore[no-untyped-def]
        super().cert_verify(conn, url, verify, cert)
        if self._system_ca and verify is not False:
            conn.ca_certs = conn.ca_cert_dir = None  # the OS store only, not certifi as well
        if self._key_password is not None and cert:
            conn.key_password = self._key_password


