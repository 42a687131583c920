"""proxy: when a forward proxy from the environment stands between the script and Airflow, and something fails.

requests sends every request through the proxy that HTTPS_PROXY / HTTP_PROXY / ALL_PROXY name (lower case first, as
urllib reads them) unless NO_PROXY lists the host; a browser usually goes direct, follows a PAC file, or answers the
proxy's login itself. So the proxy's own answer (a 403 'access denied' page, a 407 asking for proxy credentials, a
502/504 because it cannot reach an internal host, a CONNECT tunnel it refuses for https) would otherwise read as
Airflow's or a front's. When a proxy is in effect and a request failed or got an answer that is not Airflow's, the
control is the same request without the proxy: its outcome decides what the proxy's part is, and which fix works
(the host in NO_PROXY, proxy credentials, or the profile's `proxy:` setting). Controls run only on failure.

The proxy's credentials are never printed: the proxy is shown as scheme://host:port, and its password is registered
as a secret before anything is read.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import ssl
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from airflow_doctor.checks.base import CheckContext, error_detail, json_object
from airflow_doctor.checks.readers.front import airflows_own, answered_by, own_words
from airflow_doctor.failures import answer_of, what_happened
from airflow_doctor.model import CheckResult, Finding, FindingCode, Fix, Status
from airflow_doctor.probe import Layer, Probe, ProbeResponse, TransportError
from airflow_doctor.redact import redact_text
from airflow_doctor.secrets import SecretRegistry


class Code(FindingCode):
    DENIED = "proxy-denied", "the proxy from the environment refused the request in its own name (403 access denied)"
    AUTH_REQUIRED = "proxy-auth-required", "the proxy from the environment demands its own credentials (407)"
    TUNNEL_REFUSED = "proxy-tunnel-refused", "the proxy refused to open a CONNECT tunnel to the host's https port"
    CANNOT_REACH = "proxy-cannot-reach-host", "the proxy answered 502/503/504: it could not reach the host"
    UNREACHABLE = "proxy-unreachable", "the proxy from the environment itself did not accept a connection"
    ANSWERED_INSTEAD = "proxy-answered-instead", "an answer that is not Airflow's came through the proxy; direct is Airflow"
    CONNECTION_FAILED = "proxy-connection-failed", "the request failed in transport through the proxy; direct it works"


# --- which proxy is in effect, and which variable set it ---------------------------------------------------

@dataclass(frozen=True)
class Route:
    """The proxy requests uses for one url. `url` may hold credentials: only `shown` is ever printed."""

    url: str
    variable: str
    """Where it came from: 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', ... or "the profile's proxy: setting"."""
    target_host: str
    target_port: int
    scheme: str

    @property
    def parts(self):  # type: ignore[no-untyped-def]
        return urlsplit(self.url if "://" in self.url else f"http://{self.url}")

    @property
    def shown(self) -> str:
        parts = self.parts
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")

    @property
    def has_credentials(self) -> bool:
        return bool(self.parts.username)

    @property
    def named(self) -> str:
        source = self.variable if self.variable.startswith("the profile") else f"${self.variable}"
        return f"the proxy {self.shown} (from {source})"


def route_for(url: str, setting: str | None = None) -> Route | None:
    """The proxy a request to `url` goes through, as requests chooses it: the profile's `proxy:` setting when it has one
    ('none': no proxy), else the environment (<scheme>_proxy, then all_proxy; lower case before upper case; NO_PROXY
    read by requests itself). None when the request goes direct."""
    parts = urlsplit(url)
    target = Route("", "", parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80), parts.scheme)
    if setting is not None and str(setting).strip():
        return None if str(setting).strip().lower() == "none" else replace(
            target, url=str(setting), variable="the profile's proxy: setting")
    proxies = requests.utils.get_environ_proxies(url)
    chosen = proxies.get(parts.scheme) or proxies.get("all")
    if not chosen:
        return None
    return replace(target, url=chosen, variable=_variable(parts.scheme, chosen))


def _variable(scheme: str, value: str) -> str:
    """The environment variable that holds `value` for this scheme, by urllib's rule: a lower-case name wins over the
    upper-case one, and an empty lower-case name hides it."""
    for key in (scheme, "all"):
        lower, upper = f"{key}_proxy", f"{key.upper()}_PROXY"
        name = lower if lower in os.environ else upper if os.environ.get(upper) else None
        if name and os.environ[name] == value:
            return name
    return f"{scheme.upper()}_PROXY"


def no_proxy_variable() -> str:
    """The NO_PROXY spelling requests reads: no_proxy when it is set (even empty, requests then reads NO_PROXY)."""
    return "no_proxy" if os.environ.get("no_proxy") else "NO_PROXY"


def register(ctx: CheckContext, route: Route) -> None:
    """The proxy's password is a secret from the moment it is read: nothing printed after may carry it."""
    parts = route.parts
    if parts.password:
        ctx.probe.registry.add_basic(unquote(parts.username or ""), unquote(parts.password))
        ctx.probe.registry.add(parts.password)
    if parts.username:  # a proxy's debug page may repeat it: it is half of the credential
        ctx.probe.registry.add(unquote(parts.username))


# --- the control: the same request without the proxy ---------------------------------------------------

class DirectSession(requests.Session):
    """A session that trusts the environment for everything but its proxies (the CA bundle variables still count)."""

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[no-untyped-def]
        return {**super().merge_environment_settings(url, proxies, stream, verify, cert), "proxies": {}}


@dataclass(frozen=True)
class Control:
    """What the request without the proxy got: Airflow's version, another answer, or a transport failure."""

    words: str
    airflow_version: str | None = None
    failed: bool = False
    possible: bool = True
    """False: this run's requests do not leave through this machine's network (explain works offline; MWAA's go
    through AWS's API), so no request without the proxy can be made."""

    @property
    def airflow(self) -> bool:
        return self.airflow_version is not None


VERSION_PATHS = ("/api/v2/version", "/api/v1/version")


def direct_control(ctx: CheckContext, route: Route, asked: str | None = None) -> Control:
    """GET the version endpoint (Airflow 3's, then Airflow 2's) without the proxy. `asked` is the url of the request
    that failed: when it is one of these reads, the control is literally the same request."""
    base = ctx.facts.base_url.rstrip("/")
    probe = ctx.probe
    if any(not isinstance(adapter, requests.adapters.HTTPAdapter) for adapter in probe.adapters.values()):
        return Control("no request without the proxy could be made (this run does not send requests over this "
                       "machine's network itself)", possible=False)
    direct = Probe(base, verify=probe.verify, connect_timeout=probe.connect_timeout, read_timeout=probe.read_timeout,
                   registry=probe.registry, session_factory=DirectSession)
    paths = sorted(VERSION_PATHS, key=lambda p: not (asked or "").endswith(p))
    control = Control("")
    try:
        for path in paths:
            try:
                answer = direct.get(path)
            except TransportError as failed:
                control = Control(f"GET {base}{path} without {route.named} could not connect either: {failed.message}",
                                  failed=True)
                break
            version = (json_object(answer) or {}).get("version")
            if answer.status == 200 and isinstance(version, str) and airflows_own(answer):
                same = "the same request" if (asked or "").endswith(path) else f"GET {base}{path}"
                return Control(f"{same} without {route.named} answered 200 from Airflow {version}", version)
            control = Control(f"GET {base}{path} without {route.named} answered {answer.status} "
                              f"({error_detail(answer, 80)}) from {answered_by(answer).label()}")
        return control
    finally:
        probe.request_count += direct.request_count


# --- the proxy's own answer --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProxyAnswer:
    """What the proxy said in its own name: to a forwarded request (http://) or to CONNECT (https://)."""

    status: int | None
    reason: str
    headers: CaseInsensitiveDict
    words: str | None = None
    tunnel: bool = False
    failure: str | None = None
    """No answer at all: why the proxy could not be reached (refused, no such host, timeout)."""

    @property
    def realm(self) -> str | None:
        match = re.search(r"realm=\"?([^\",]*)", self.headers.get("Proxy-Authenticate", ""), re.I)
        return match.group(1) if match else None

    @property
    def schemes(self) -> list[str]:
        """The authentication schemes the proxy offers (Basic, Negotiate, NTLM, Digest), from Proxy-Authenticate."""
        offered = self.headers.get("Proxy-Authenticate", "")
        return list(dict.fromkeys(m.group(1) for m in re.finditer(r"(?:^|,)\s*([A-Za-z][\w-]*)(?=\s|$|,)", offered)
                                  if m.group(1).lower() != "realm"))

    def line(self) -> str:
        if self.status is None:
            return f"no answer: {self.failure}"
        said = f"{self.status} {self.reason}".strip()
        extra = [f"Proxy-Authenticate: {self.headers['Proxy-Authenticate']}"] if "Proxy-Authenticate" in self.headers else []
        extra += [f"{n}: {v}" for n, v in self.headers.items() if n.lower() in ("server", "via") or n.lower().startswith("x-")
                  and "error" in n.lower()]
        return said + (f" ({'; '.join(extra)})" if extra else "") + (f", saying '{self.words}'" if self.words else "")


_TUNNEL = re.compile(r"Tunnel connection failed: (\d{3})\s*([^'\")]*)")


def from_response(response: ProbeResponse, registry: SecretRegistry) -> ProxyAnswer:
    return ProxyAnswer(response.status, _reason(response.status), response.headers, _words(response, registry))


def _words(response: ProbeResponse, registry: SecretRegistry) -> str | None:
    """The answer's own words, redacted whole before they are cut short (a secret cut in two is not recognised)."""
    clean = ProbeResponse(response.status, response.headers, redact_text(response.text, registry).encode(),
                          response.url, response.elapsed_ms, response.exchange)
    return own_words(clean)


def from_failure(ctx: CheckContext, route: Route, failure: TransportError) -> ProxyAnswer | None:
    """A transport failure through the proxy: a refused CONNECT (requests says 'Tunnel connection failed: 403'; the
    proxy's headers are read by asking it CONNECT once more, closing the tunnel at once), or the proxy itself out of
    reach (a TCP connection to it, nothing sent). None: the proxy accepted the connection and answered nothing."""
    tunnel = _TUNNEL.search(failure.message)
    if tunnel is not None or route.scheme == "https":
        asked = ask_connect(ctx, route)
        if asked is not None and asked.status != 200 and (tunnel is None or str(asked.status) == tunnel.group(1)):
            return asked
        if tunnel is not None:
            status = int(tunnel.group(1))
            return ProxyAnswer(status, _reason(status), CaseInsensitiveDict(), tunnel=True)
    unreachable = proxy_unreachable(route, ctx.probe.connect_timeout)
    if unreachable is not None:
        return ProxyAnswer(None, "", CaseInsensitiveDict(), failure=unreachable)
    return None


def proxy_unreachable(route: Route, timeout: float) -> str | None:
    """Why a TCP connection to the proxy fails, or None when it is accepted (then closed: nothing is sent)."""
    parts = route.parts
    port = parts.port or (443 if parts.scheme == "https" else 1080 if parts.scheme.startswith("socks") else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=min(timeout, 5.0)).close()
    except socket.gaierror:
        return f"the proxy's host name {parts.hostname} could not be resolved (DNS)"
    except ConnectionRefusedError:
        return f"{parts.hostname} refused the TCP connection on port {port}: no proxy listens there"
    except (TimeoutError, socket.timeout):
        return f"no TCP connection to {parts.hostname}:{port} within {min(timeout, 5.0):g} s"
    except OSError as error:
        return f"no TCP connection to {parts.hostname}:{port}: {error.strerror or error}"
    return None


def ask_connect(ctx: CheckContext, route: Route) -> ProxyAnswer | None:
    """Ask the proxy for a tunnel to the target as requests does (with its proxy credentials, if the url has them) and
    read its answer's status and headers; the tunnel, if opened, is closed before anything goes through it."""
    parts = route.parts
    if parts.scheme not in ("http", "https"):
        return None
    target = f"{route.target_host}:{route.target_port}"
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}", "User-Agent: airflow-doctor"]
    if parts.username:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        lines.append("Proxy-Authorization: Basic " + base64.b64encode(pair).decode())
    timeout = min(ctx.probe.connect_timeout + ctx.probe.read_timeout, 10.0)
    ctx.probe.request_count += 1
    try:
        with socket.create_connection((parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)),
                                      timeout=timeout) as raw:
            sock: Any = (ssl.create_default_context().wrap_socket(raw, server_hostname=parts.hostname)
                         if parts.scheme == "https" else raw)
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 16384:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = CaseInsensitiveDict(line.split(":", 1) for line in header_lines if ":" in line)
            headers = CaseInsensitiveDict({k.strip(): v.strip() for k, v in headers.items()})
            length = int(headers.get("Content-Length", "0") or 0) if headers.get("Content-Length", "").isdigit() else 0
            while len(body) < min(length, 8192) and (chunk := sock.recv(4096)):
                body += chunk
    except (OSError, ValueError):
        return None
    match = re.match(r"HTTP/\d(?:\.\d)?\s+(\d{3})\s*(.*)", status_line)
    if match is None:
        return None
    status = int(match.group(1))
    page = ProbeResponse(status, headers, body[:8192], f"CONNECT {target}", 0.0, None)  # type: ignore[arg-type]
    return ProxyAnswer(status, match.group(2).strip(), headers, _words(page, ctx.probe.registry) if body else None,
                       tunnel=True)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# --- what it means, with the control's outcome ---------------------------------------------------------------

BROWSER_ROUTE = ("The browser does not send this host to the proxy: it goes direct (its proxy settings bypass "
                 "internal hosts) or follows a PAC file (proxy auto-config) that sends this host DIRECT; the script "
                 "takes {variable} from its environment, and requests sends every host to it that NO_PROXY does not "
                 "list.")
BROWSER_SIGNED_IN = ("The browser answers the proxy's challenge itself (with your desktop login, Negotiate/NTLM, or a "
                     "password it keeps), or goes direct or through a PAC file; the script sends the proxy no "
                     "credentials of its own.")


def no_proxy_fix(route: Route, lead: str) -> Fix:
    """The host in NO_PROXY, in the spelling requests reads, appended to what it holds; or the profile's proxy: none."""
    variable = no_proxy_variable()
    host = route.target_host
    command = f'export {variable}="${{{variable}}},{host}"' if os.environ.get(variable) else f"export {variable}={host}"
    return Fix(f"{lead} Send this host direct: add it to {variable} (requests and curl read it; an entry matches the "
               f"host name or an IP/CIDR exactly, a leading dot covers a domain), in the script's environment too. "
               f"For airflow-doctor alone, the profile can say 'proxy: none' instead.",
               (command, "proxy: none"))


def credentials_fix(route: Route, answer: ProxyAnswer) -> Fix:
    parts = route.parts
    where = f"{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    variable = route.variable if not route.variable.startswith("the profile") else "HTTPS_PROXY"
    only_negotiate = answer.schemes and not any(s.lower() in ("basic", "digest") for s in answer.schemes)
    if only_negotiate:
        return Fix(f"The proxy accepts only {', '.join(answer.schemes)} (your desktop login), which requests cannot "
                   "send: go direct if this machine can reach Airflow without the proxy, or run a local helper that "
                   "signs in for you (cntlm, px) and point {variable} at it.".replace("{variable}", variable), ())
    refused = " It refused the credentials in the proxy url: they are wrong or expired." if route.has_credentials else ""
    return Fix(f"Give the proxy its own credentials in the proxy url (the password from a variable, never in a "
               f"file you share).{refused} In the profile, the same url goes in 'proxy:'.",
               (f"export {variable}=http://USER:${{PROXY_PASSWORD}}@{where}",
                f"proxy: http://USER:${{PROXY_PASSWORD}}@{where}"))


def explain(ctx: CheckContext, route: Route, answer: ProxyAnswer, control: Control, request: str,
            confirmed: bool = True) -> Finding | None:
    """The finding for the proxy's answer, or None when the control says the proxy is not the cause. `confirmed`
    False: the control was not the same request (a later check's, which is never repeated), so the answer's being the
    proxy's is worded as most likely, with what would confirm it."""
    status = answer.status
    said = f"{route.named} answered {answer.line()}" if status is not None else f"{route.named} could not be reached: {answer.failure}"
    direct_note = f"Control: {control.words}."
    details = (f"proxy in effect for {route.target_host}: {route.shown}, from {route.variable}",
               f"the proxy's answer: {answer.line()}", f"control: {control.words}")
    kind = _kind(answer)
    if kind is None:
        if not control.airflow:
            return None
        kind = Code.CONNECTION_FAILED
    meaning = MEANINGS[kind].format(target=f"{route.target_host}:{route.target_port}", realm=answer.realm or "none given",
                                    schemes=", ".join(answer.schemes) or "none named")
    headline = f"{request}: {said}"
    if not control.possible:
        if kind not in (Code.AUTH_REQUIRED, Code.TUNNEL_REFUSED, Code.UNREACHABLE):
            return None  # without a control, only an answer that only a proxy gives is the proxy's
        fix = credentials_fix(route, answer) if kind is Code.AUTH_REQUIRED else no_proxy_fix(
            route, f"Requests to {route.target_host} go through {route.named}.")
        return Finding(Status.FAIL, headline, explanation=f"Most likely: {meaning[:1].lower()}{meaning[1:]} {direct_note} What would confirm "
                       f"it: the same request with {route.target_host} in {no_proxy_variable()} (airflow-doctor check).",
                       fix=fix, why_ui_works=BROWSER_SIGNED_IN if kind is Code.AUTH_REQUIRED else
                       BROWSER_ROUTE.format(variable=route.variable), details=details, code=kind)
    if control.airflow:
        verdict = ("; without the proxy Airflow answers" if kind is not Code.AUTH_REQUIRED else
                   "; without the proxy Airflow answers, so the proxy's credentials are not needed")
        fix = no_proxy_fix(route, f"Requests to {route.target_host} go through {route.named}, which this machine does "
                                  "not need: it reaches Airflow directly.")
        if kind is Code.AUTH_REQUIRED:
            other = credentials_fix(route, answer)
            fix = Fix(f"{fix.text} Or keep the proxy and give it credentials: {other.text}", fix.commands + other.commands)
        verdict = verdict if confirmed else "; without the proxy Airflow answers its version"
        conclusion = ("So the proxy is the cause, not Airflow or its credentials." if confirmed else
                      "So most likely the proxy is the cause: the request itself is not repeated without the proxy (it "
                      "may carry credentials or start a run); what would confirm it: the check again with the host in "
                      "NO_PROXY, as below.")
        return Finding(Status.FAIL, headline + verdict, explanation=f"{meaning} {direct_note} {conclusion}", fix=fix,
                       why_ui_works=BROWSER_ROUTE.format(variable=route.variable), details=details, code=kind)
    return Finding(Status.FAIL, headline, explanation=f"{meaning} {direct_note} {NEEDED[kind]}",
                   fix=_fix_when_needed(route, answer, kind),
                   why_ui_works=BROWSER_SIGNED_IN if kind is Code.AUTH_REQUIRED else
                   BROWSER_ROUTE.format(variable=route.variable) + " Or the browser runs on a network (a VPN) "
                   "this machine is not on.", details=details, code=kind)


def _kind(answer: ProxyAnswer) -> Code | None:
    status = answer.status
    if status is None:
        return Code.UNREACHABLE if answer.failure else None
    if status == 407:
        return Code.AUTH_REQUIRED
    if status in (502, 503, 504):
        return Code.CANNOT_REACH
    if answer.tunnel and status != 200:
        return Code.TUNNEL_REFUSED
    if status == 403:
        return Code.DENIED
    return Code.ANSWERED_INSTEAD


MEANINGS = {
    Code.DENIED: "The 403 is the proxy's own (its page and headers, not Airflow's JSON): its access policy refuses "
                 "this host or this request, which never reached Airflow.",
    Code.AUTH_REQUIRED: "407 Proxy Authentication Required is only ever a proxy's answer: it wants its own credentials "
                        "(realm: {realm}; schemes offered: {schemes}) before it passes anything on, whatever Airflow "
                        "credentials the request carries.",
    Code.TUNNEL_REFUSED: "For https the proxy is asked to open a tunnel (CONNECT {target}) and refused: its policy does "
                         "not allow this host or this port (many proxies tunnel only to port 443). The request never "
                         "reached Airflow.",
    Code.CANNOT_REACH: "A 502/503/504 from the proxy means it could not reach {target} itself: the host is internal "
                       "(the proxy sits outside the network Airflow is in, or cannot resolve its name), or down.",
    Code.UNREACHABLE: "requests sends the request to the proxy, and the proxy itself is out of reach, so the request "
                      "never left this machine: the variable names a proxy that is not running, or one of another "
                      "network (a VPN that is off).",
    Code.ANSWERED_INSTEAD: "This answer came through the proxy and is not Airflow's: the proxy answered in its place (a "
                           "block page, a sign-in portal, a policy page).",
    Code.CONNECTION_FAILED: "The request through the proxy failed without an answer (the proxy cut the connection or "
                            "held it), while the same request without the proxy works.",
}

NEEDED = {
    Code.DENIED: "This machine cannot reach Airflow without the proxy either, so most likely the proxy's policy has to "
                 "allow this host; what would confirm it: the proxy's access log, or the same url in a browser that "
                 "uses this proxy.",
    Code.AUTH_REQUIRED: "This machine cannot reach Airflow without the proxy, so the proxy is the route, and it needs "
                        "its own credentials.",
    Code.TUNNEL_REFUSED: "This machine cannot reach Airflow without the proxy either, so most likely the proxy's policy "
                         "must allow tunnels to this host and port; what would confirm it: the proxy's access log, or "
                         "curl -v with the same proxy.",
    Code.CANNOT_REACH: "Without the proxy it fails too, so most likely Airflow's web server is down or the url's host "
                       "is wrong; what would confirm it: the url from a machine inside Airflow's network.",
    Code.UNREACHABLE: "Without the proxy the request fails too, so this machine has no route to Airflow at the moment: "
                      "most likely the network the proxy (and Airflow) are on is not connected (VPN).",
    Code.ANSWERED_INSTEAD: "Without the proxy nothing answers, so most likely this is the proxy's own answer; what "
                           "would confirm it: the proxy's access log, or the url in a browser that uses this proxy.",
    Code.CONNECTION_FAILED: "",
}


def _fix_when_needed(route: Route, answer: ProxyAnswer, kind: Code) -> Fix:
    """The fix when this machine cannot go direct: the proxy is the route and must be made to pass the request."""
    if kind is Code.AUTH_REQUIRED:
        return credentials_fix(route, answer)
    if kind is Code.UNREACHABLE:
        return Fix(f"Check {route.variable}: start or reconnect the proxy (or the VPN it lives on), or correct its "
                   "address; in the profile, 'proxy:' can name the right one.", (f"echo ${route.variable}" if not
                                                                                route.variable.startswith("the") else
                                                                                "proxy: http://PROXY-HOST:PORT",))
    if kind is Code.CANNOT_REACH:
        return Fix("Check that Airflow's web server runs and that the url's host is the one the browser opens.", ())
    return Fix(f"Ask who runs the proxy {route.shown} to allow {route.target_host}:{route.target_port} (for https: "
               "CONNECT to that port), or use the route the browser uses (its PAC file names it).", ())


# --- the entry points: a transport failure, an answer that is not Airflow's, a later check's result ----------

def proxy_failure(ctx: CheckContext, failure: TransportError) -> Finding | None:
    """A transport failure while a proxy is in effect: the proxy's part, confirmed by the request without it. TLS
    faults are the TLS reader's (a re-signing proxy included)."""
    route = route_for(ctx.facts.base_url, getattr(ctx.profile, "proxy", None))
    if route is None or failure.layer in (Layer.TLS, Layer.INVALID_URL, Layer.CLIENT_ENCODING, Layer.HELD_BACK):
        return None
    register(ctx, route)
    answer = from_failure(ctx, route, failure) or ProxyAnswer(None, "", CaseInsensitiveDict())
    return explain(ctx, route, answer, direct_control(ctx, route, failure.exchange.url), what_happened(failure))


def proxy_answer(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """An answer that is not Airflow's while a proxy is in effect (reachability's first classifier): the proxy's own
    (a 407; one the request without the proxy does not get, Airflow answering it; or, when nothing answers without the
    proxy, most likely the proxy's), or None for the other classifiers."""
    route = route_for(ctx.facts.base_url, getattr(ctx.profile, "proxy", None))
    if route is None or (airflows_own(response) and response.status != 407):
        return None
    register(ctx, route)
    control = direct_control(ctx, route, response.url)
    if response.status != 407 and not (control.airflow or control.failed):
        return None  # the same answer without the proxy: a front behind it, for the other classifiers
    request = f"{response.exchange.method} {response.url}"
    return explain(ctx, route, from_response(response, ctx.probe.registry), control, request)


def review(ctx: CheckContext, result: CheckResult) -> CheckResult | None:
    """A later check that stopped at the proxy (a failure through it, its 407, or an answer that is not Airflow's on
    the last request): that check's result is the proxy's finding. The request is not repeated (it may carry
    credentials or create a run): the control is the version read without the proxy, so the cause is worded as most
    likely where the proxy's answer does not name itself. A result that already is the proxy's finding is returned as
    it is (no later review restates it). None: not the proxy's doing."""
    if result.code in {code.value for code in Code}:
        return result
    if result.check_id == "reachability" or not result.evidence or result.status is Status.SKIP:
        return None
    last = result.evidence[-1]
    route = route_for(last.url, getattr(ctx.profile, "proxy", None))
    if route is None:
        return None
    proxied = next((e for e in result.evidence if e.status == 407), None)
    if proxied is None and result.status is Status.PASS:
        return None
    if proxied is None and last.status is not None and airflows_own(answer_of(last)):
        return None
    exchange = proxied or next(e for e in result.evidence if e.status is None or e.status == 407
                               or not airflows_own(answer_of(e)))
    request = f"{exchange.method} {exchange.url}"
    register(ctx, route)
    if exchange.status is None:
        layer, _, message = (exchange.error or "").partition(": ")
        if layer in (Layer.TLS.value, Layer.HELD_BACK.value, Layer.INVALID_URL.value, Layer.CLIENT_ENCODING.value):
            return None
        answer = from_failure(ctx, route, TransportError(Layer(layer) if layer in {x.value for x in Layer} else
                                                         Layer.CONNECTION, message, exchange))
        if answer is None:
            return None
        request = f"{request} failed"
    else:
        answer = from_response(answer_of(exchange), ctx.probe.registry)
    control = direct_control(ctx, route)
    if answer.status not in (407, None) and not answer.tunnel and not control.airflow:
        return None
    finding = explain(ctx, route, answer, control, request,
                      confirmed=answer.status in (407, None) or answer.tunnel)
    if finding is None:
        return None
    return CheckResult.from_finding(result.check_id, result.title, finding, result.evidence, result.duration_ms)
