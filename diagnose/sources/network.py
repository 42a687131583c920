"""The network settings a profile, --url flags and --from-curl share (headers, tls, proxy), validated the same way
wherever they come from: each refusal is one sentence (ValueError) that the caller prefixes with where the value
was written (a profile file's line, a flag, a curl option), before any request is sent.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from airflow_doctor.sources.profile import NO_PROXY

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP field name (RFC 9110 token)."""
_REFUSED_HEADERS = {
    "authorization": "Authorization is sent by the auth settings (auth: in a profile; --user or --token-env with "
                     "--url), which always win over extra headers; for a key sent as the whole Authorization value "
                     "use auth type token with scheme: none",
    "content-length": "Content-Length is computed from each body",
    "transfer-encoding": "Transfer-Encoding is chosen for each body",
    "host": "Host comes from the url: put the host name you mean in the url",
}
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h", "socks4", "socks4a")
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
VERIFY_WORDS = "true, false, system, or the path of a CA bundle (PEM)"


def split_header(text: str) -> tuple[str, str]:
    """'Name: value' as curl -H takes it; refuses what would be sent wrong or not at all."""
    if "\n" in text or "\r" in text:
        raise ValueError(f"the header {_name_of(text)!r} holds a line break, which would end the header there; "
                         "give one 'Name: value' per header")
    name, colon, value = text.partition(":")
    if not colon:
        raise ValueError(f"the header {text[:40]!r} has no colon; write it as 'Name: value'")
    name, value = name.strip(), value.strip()
    check_header(name, value)
    return name, value


def check_header(name: str, value: str) -> None:
    if not name or not _TOKEN.fullmatch(name):
        raise ValueError(f"{name[:40]!r} is not a header name (letters, digits and -, no spaces); write 'Name: value'")
    if "\n" in value or "\r" in value:
        raise ValueError(f"the value of header {name} holds a line break, which would end the header there; remove it")
    if not value:
        raise ValueError(f"the header {name} has no value; give its value (or ${{VAR}} to read it from the environment)")
    if name.lower() in _REFUSED_HEADERS:
        raise ValueError(f"the header {name} cannot be an extra header: {_REFUSED_HEADERS[name.lower()]}")


def _name_of(text: str) -> str:
    return text.split(":", 1)[0].strip()[:40]


def header_variable(name: str) -> str:
    """The environment variable a working request reads a header's value from: AIRFLOW_HEADER_X_API_KEY."""
    return "AIRFLOW_HEADER_" + re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()


def expand(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """`text` with ${VAR} and $VAR read from the environment, and the variables used; an unset one is refused."""
    used: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        var = match.group(1) or match.group(2)
        if not env.get(var, "").strip():
            raise ValueError(f"${{{var}}} is not set (or empty); export it, then run again")
        used.append(var)
        return env[var]

    return _ENV_REFERENCE.sub(substitute, text), used


def check_proxy(url: str) -> str:
    """The proxy URL, or NO_PROXY for 'none'; its password is the caller's to register."""
    url = url.strip()
    if url.lower() in (NO_PROXY, "direct", ""):
        return NO_PROXY
    if "://" not in url:
        raise ValueError(f"the proxy {_shown(url)} has no scheme; write it as http://{_shown(url)} (or none for no "
                         "proxy)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ValueError(f"the proxy URL is not valid ({exc}); write it as http://host:port") from None
    if parts.scheme.lower() not in _PROXY_SCHEMES:
        raise ValueError(f"the proxy's scheme {parts.scheme}:// is not one requests speaks; use http://, https:// or "
                         "socks5://")
    if not parts.hostname:
        raise ValueError("the proxy URL has no host; write it as http://host:port")
    if parts.scheme.lower().startswith("socks"):
        try:
            import socks  # noqa: F401
        except ImportError:
            raise ValueError("a socks proxy needs the PySocks package (pip install 'requests[socks]'); install it or "
                             "use an http:// proxy") from None
    return url


def _shown(url: str) -> str:
    """The proxy without its credentials (user:password@ dropped)."""
    return url.rsplit("@", 1)[-1]


def register_proxy_credentials(url: str, registry) -> None:  # type: ignore[no-untyped-def]
    """The proxy's password, and the Basic form of user:password that Proxy-Authorization carries, as secrets."""
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        user, password = parts.username, parts.password
    except ValueError:
        return
    if password:
        from urllib.parse import unquote

        registry.add_basic(unquote(user or ""), unquote(password))
        registry.add_basic(user or "", password)


def proxy_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def check_file(path: str, what: str) -> str:
    """`path` as an absolute path to a readable file (a certificate, a key, a CA bundle)."""
    full = Path(path).expanduser()
    if not full.exists():
        raise ValueError(f"the {what} {full} does not exist; fix the path")
    if not full.is_file():
        raise ValueError(f"the {what} {full} is not a file; give the path of the PEM file")
    try:
        full.open("rb").close()
    except OSError as exc:
        raise ValueError(f"the {what} {full} cannot be read ({exc.strerror or exc}); fix its permissions") from None
    return str(full.resolve())


def check_client_pair(cert: str, key: str | None, password: str | None) -> None:
    """Prove the certificate and key load together (ssl.SSLContext.load_cert_chain), so a mismatch is one sentence
    now, not a handshake failure later; never prompts for a password."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_cert_chain(cert, key, password=lambda: (password or "").encode())
    except ssl.SSLError as exc:
        text = f"{exc.reason or ''} {exc}"
        if "KEY_VALUES_MISMATCH" in text or "key values mismatch" in text:
            raise ValueError(f"the client key {key} does not match the client certificate {cert}; give the key "
                             "the certificate was issued for") from None
        if _encrypted(key or cert) and ("bad decrypt" in text.lower() or "BAD_DECRYPT" in text or "PEM" in text):
            raise ValueError(f"the client key {key or cert} is encrypted and "
                             + ("the password given does not open it" if password else "no password was given")
                             + "; give its password (tls.client_key_password, or curl's -E cert:password)") from None
        raise ValueError(f"the client certificate {cert}{' and key ' + key if key else ''} cannot be loaded "
                         f"({exc.reason or exc}); give PEM files (openssl x509/pkey -outform PEM converts)") from None
    except OSError as exc:
        raise ValueError(f"the client certificate {cert} cannot be read ({exc.strerror or exc})") from None


def _encrypted(path: str) -> bool:
    try:
        return "ENCRYPTED" in Path(path).read_text(errors="replace")[:4096]
    except OSError:
        return False


def verify_setting(value: object) -> tuple[bool | str, bool]:
    """tls.verify as (requests' verify, system store): true/false, 'system', or a CA bundle path."""
    if isinstance(value, bool):
        return value, False
    text = str(value).strip()
    word = text.lower()
    if word in ("true", "yes", "on"):
        return True, False
    if word in ("false", "no", "off"):
        return False, False
    if word == "system":
        return True, True
    if "/" not in text and "\\" not in text and not text.lower().endswith((".pem", ".crt", ".cer")):
        raise ValueError(f"verify {text!r} is neither a known word nor a file path; use {VERIFY_WORDS}")
    return check_file(text, "CA bundle"), False


def require_truststore() -> None:
    """verify: system needs the truststore package (a dependency; missing only in a broken install)."""
    try:
        import truststore  # noqa: F401
    except ImportError:
        raise ValueError("verify: system needs the truststore package, which is missing from this install; run: "
                         "pip install truststore") from None
