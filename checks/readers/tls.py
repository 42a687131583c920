"""tls: which fault made the TLS between this machine and Airflow fail, read from what the server presents.

requests reports a category ('certificate verify failed'); the cure depends on the fault. On a TLS failure this
reader looks at the certificates the server sends (checks/readers/handshake.py: a handshake that verifies nothing
and carries no request), asks the question that tells the faults apart by changing one thing (the operating
system's store instead of the client's bundle; the missing intermediate added; the url with a name the certificate
holds; the other scheme), and names the fault with the fix that works for it. Controls run only on failure.

Faults it names: trusted by the OS store but not by this client; an intermediate the server does not send; a CA
nobody here trusts; a certificate for other names; expired or not yet valid; self-signed; a TLS-inspecting proxy
re-signing traffic; a server that requires a client certificate; http:// to a TLS port, https:// to a plain one.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, replace
from urllib.parse import urlsplit, urlunsplit

import requests

from airflow_doctor.checks.base import CheckContext, json_object
from airflow_doctor.checks.readers.handshake import (Certificate, Presented, Target, Verdict, legacy_version,
                                                     read_presented, speaks_tls, system_bundle, utc_now, verify)
from airflow_doctor.failures import what_happened
from airflow_doctor.model import Finding, FindingCode, Fix, Status
from airflow_doctor.probe import Layer, ProbeResponse, TransportError


class Code(FindingCode):
    TRUSTED_BY_OS_ONLY = ("tls-trusted-by-os-not-client", "the operating system's store trusts the server's "
                          "certificate; the CA bundle this client uses does not")
    UNKNOWN_CA = "tls-unknown-ca", "the certificate comes from a CA that neither this client nor this machine trusts"
    MISSING_INTERMEDIATE = "tls-missing-intermediate", "the server does not send the intermediate CA certificate"
    OTHER_NAMES = "tls-name-mismatch", "the certificate holds other host names than the url's"
    EXPIRED = "tls-expired", "a certificate the server sends has expired"
    NOT_YET_VALID = "tls-not-yet-valid", "a certificate the server sends is not valid yet by this machine's clock"
    SELF_SIGNED = "tls-self-signed", "the server's certificate is self-signed"
    INSPECTING_PROXY = "tls-inspecting-proxy", "a TLS-inspecting proxy re-signs the traffic with its own CA"
    CLIENT_CERTIFICATE = "tls-client-certificate-required", "the server requires a client certificate (mutual TLS)"
    WEAK_CERTIFICATE = ("tls-weak-certificate", "a certificate's key or signature is weaker than this machine's "
                        "OpenSSL accepts")
    OLD_PROTOCOL = "tls-old-protocol", "the server speaks only TLS versions this client no longer offers (1.0, 1.1)"
    HTTP_TO_TLS_PORT = "http-to-tls-port", "the url says http:// to a port that speaks only TLS"
    HTTPS_TO_PLAIN_PORT = "https-to-plain-port", "the url says https:// to a port that speaks plain HTTP"


# OpenSSL's X509_V_ERR codes, as ssl.SSLCertVerificationError.verify_code carries them
_UNTRUSTED = {2, 19, 20, 21}
_NOT_YET_VALID, _EXPIRED, _SELF_SIGNED_LEAF = 9, 10, 18
_NAME_MISMATCH = {62, 64}
_WEAK = {66, 67, 68}
"""EE key too small, CA key too small, CA signature digest too weak: refused by this machine's OpenSSL security level."""
_PLAIN_PORT = re.compile(r"WRONG_VERSION_NUMBER|wrong version number|did not answer TLS|RECORD_LAYER_FAILURE|"
                         r"packet length too long|HTTP_REQUEST|UNKNOWN_PROTOCOL", re.I)
_CLIENT_CERTIFICATE = re.compile(r"CERTIFICATE_REQUIRED|certificate required", re.I)
_HANDSHAKE_REFUSED = re.compile(r"HANDSHAKE_FAILURE|BAD_CERTIFICATE|EOF occurred|UNEXPECTED_EOF|closed", re.I)
_NO_ANSWER = (Layer.CONNECTION_CLOSED, Layer.CONNECTION, Layer.READ_TIMEOUT)
"""How http:// to a TLS port fails: the TLS server closes, answers an alert (garbage to HTTP), or waits for more."""
_INSPECTORS = ("zscaler", "netskope", "palo alto", "paloalto", "fortinet", "fortigate", "forcepoint", "websense",
               "blue coat", "bluecoat", "umbrella", "opendns", "mcafee", "skyhigh", "sophos", "check point",
               "checkpoint", "barracuda", "kaspersky", "eset", "avast", "bitdefender", "mitmproxy", "charles proxy",
               "fiddler", "portswigger", "burp", "menlo", "iboss", "cloudflare for teams", "ssl inspection",
               "tls inspection", "ssl decryption", "decryption", "forward trust", "ssl proxy", "squid")
"""Words in the issuer of a re-signed certificate: the products that inspect TLS, and what their CAs call
themselves."""
NAMES_LOOKED_UP = 6
"""A certificate may list hundreds of names (a CDN's); a few lookups find one to offer."""
HANDSHAKE_SECONDS = 3.0
"""A control handshake gets the profile's connect timeout, never more than this: TLS servers answer a ClientHello
at once, and a plain-HTTP server that waits for a request line must not hold the report."""


SYSTEM_STORE_FIX = ("Verify against the operating system's store, as the browser does: tls.verify: system in the "
                    "profile (--ca-native with --url; in the script, truststore: pip install truststore, then "
                    "truststore.inject_into_ssl() before requests is used). Or point the profile and the script at "
                    "the store's file (requests' verify=, or REQUESTS_CA_BUNDLE):")


@dataclass(frozen=True)
class Trust:
    """The CA bundle this client verified against, and where that choice came from."""

    bundle: str
    source: str


@dataclass(frozen=True)
class Fault:
    """A named fault: the parts of the finding the evidence selected."""

    code: Code
    summary: str
    explanation: str
    why_ui_works: str
    fix: Fix
    details: tuple[str, ...] = ()


def tls_finding(ctx: CheckContext, failure: TransportError) -> Finding | None:
    """The TLS fault behind `failure`, or None when it is not a TLS fault this reader can name (the caller's generic
    entry then speaks)."""
    url = ctx.facts.base_url
    scheme = urlsplit(url).scheme
    if scheme == "http" and failure.layer in _NO_ANSWER:
        fault = _http_to_tls_port(ctx)
    elif scheme == "https" and failure.layer is Layer.TLS:
        fault = _https_fault(ctx, failure)
    else:
        return None
    if fault is None:
        return None
    return Finding(Status.FAIL, f"{what_happened(failure)}: {fault.summary}", explanation=fault.explanation,
                   fix=fault.fix, details=(*fault.details, f"what requests said: {failure.message}"),
                   why_ui_works=fault.why_ui_works, code=fault.code)


def target_of(ctx: CheckContext, host: str | None = None) -> Target:
    parts = urlsplit(ctx.facts.base_url)
    setting = getattr(ctx.probe, "proxy", None)  # the profile's proxy: none, a URL, or None for the environment's
    proxy = (None if parts.scheme != "https" or setting == "none" else
             setting or requests.utils.get_environ_proxies(ctx.facts.base_url).get(parts.scheme))
    return Target(host or parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80),
                  min(ctx.profile.connect_timeout, HANDSHAKE_SECONDS),
                  proxy if proxy and proxy.startswith("http://") else None)


def client_trust(ctx: CheckContext) -> Trust | None:
    """The bundle requests verified against: the profile's, the environment's, or certifi's. None with verify off."""
    verify_setting = ctx.probe.verify
    if getattr(ctx.probe, "system_ca", False) and verify_setting is not False:
        bundle = system_bundle()
        return Trust(bundle, "the operating system's store (tls.verify: system)") if bundle else None
    if isinstance(verify_setting, str):
        return Trust(verify_setting, "the profile's tls.verify")
    if not verify_setting:
        return None
    chosen = requests.Session().merge_environment_settings(ctx.facts.base_url, {}, None, True, None)["verify"]
    if isinstance(chosen, str):
        return Trust(chosen, "REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE in the environment")
    return Trust(requests.certs.where(), "the CA bundle that comes with requests (certifi)")


# --- the scheme does not match the port -------------------------------------------------------------

def http_answered_by_tls_port(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """A TLS port's own page for a plain-HTTP request (nginx's 400 'The plain HTTP request was sent to HTTPS port',
    Apache's, Go's): the fault of http:// to a TLS port, said by the server in words. None for any other answer.
    For the caller that reads an HTTP answer which is not Airflow's (reachability's unexpected answer)."""
    said = _TLS_PORT_PAGE.search(response.text[:5000]) if response.status >= 400 else None
    if said is None or urlsplit(ctx.facts.base_url).scheme != "http":
        return None
    fault = _http_to_tls_port(ctx, said.group(0))
    return Finding(Status.FAIL, f"GET {response.url} answered {response.status} ('{said.group(0)}'): {fault.summary}",
                   explanation=fault.explanation, fix=fault.fix, details=fault.details,
                   why_ui_works=fault.why_ui_works, code=fault.code)


_TLS_PORT_PAGE = re.compile(r"The plain HTTP request was sent to HTTPS port|Client sent an HTTP request to an HTTPS "
                            r"server|speaking plain HTTP to an SSL-enabled server port", re.I)


def _http_to_tls_port(ctx: CheckContext, said: str | None = None) -> Fault | None:
    """With `said` (the server's own words), the fault stands even if the handshake control cannot be made."""
    target = target_of(ctx)
    handshake = speaks_tls(target)
    if not handshake and said is None:
        return None
    https = "https://" + ctx.facts.base_url.split("://", 1)[1]
    control = _answer(ctx, https)
    then = (" With https:// the request does not pass yet either (see the control below): run airflow-doctor again "
            "with the https url to read what it says about the certificate." if "failed too" in control else "")
    answer = (f"answered plain HTTP with its page for exactly this mistake ('{said}')" if said else
              "got no answer (a TLS server closes the connection, or sends a TLS alert that reads as garbage to HTTP)")
    return Fault(
        Code.HTTP_TO_TLS_PORT, f"port {target.port} speaks TLS: the url must start with https://",
        explanation=f"The url says http://, but port {target.port} is a TLS port: "
                    + ("it took a TLS handshake, while plain HTTP " if handshake else "plain HTTP ") + answer + ".",
        why_ui_works="The browser's address bar holds https:// (browsers also switch to https by themselves for "
                     "sites that asked them to: HSTS, HTTPS-first).",
        fix=Fix(f"Use https:// in the profile's url and in the script: url: {https}.{then}", (f"url: {https}",)),
        details=(f"control: a TLS handshake with {target.host}:{target.port} "
                 + ("got the server's answer" if handshake else "did not complete"), control))


def _https_to_plain_port(ctx: CheckContext) -> Fault:
    http = "http://" + ctx.facts.base_url.split("://", 1)[1]
    port = urlsplit(ctx.facts.base_url).port or 443
    control = _answer(ctx, http)
    return Fault(
        Code.HTTPS_TO_PLAIN_PORT, f"the server did not answer TLS: port {port} speaks plain HTTP",
        explanation="The port answered, but not in TLS: it serves plain HTTP, so the url's https:// is wrong for "
                    "it (no certificate is involved).",
        why_ui_works="The browser's address bar holds http:// (or the TLS port); the profile's url says https:// to "
                     "a plain-HTTP port.",
        fix=Fix(f"Use http:// for this port, or the port where the server speaks TLS: url: {http}", (f"url: {http}",)),
        details=(control,))


def _answer(ctx: CheckContext, base: str) -> str:
    """The control: the version request to `base` (Airflow 3's, then Airflow 2's), its outcome in words."""
    outcome = ""
    for path in ("/api/v2/version", "/api/v1/version"):
        url = base + path
        try:
            response = ctx.probe.get(url)
        except TransportError as failed:
            return f"control: the same request as GET {url} failed too: {failed.message}"
        outcome = f"control: the same request as GET {url} answered {response.status}{_airflow(response)}"
        if _airflow(response):
            break
    return outcome


def _airflow(response: ProbeResponse) -> str:
    body = json_object(response) or {}
    return f" from Airflow {body['version']}" if response.status == 200 and isinstance(body.get("version"), str) else ""


# --- the certificate, the CA, the client certificate ------------------------------------------------

def _https_fault(ctx: CheckContext, failure: TransportError) -> Fault | None:
    reason = failure.message
    if _PLAIN_PORT.search(reason):
        return _https_to_plain_port(ctx)
    target = target_of(ctx)
    presented = read_presented(target)
    trust = client_trust(ctx)
    refused = bool(_HANDSHAKE_REFUSED.search(reason)) and "CERTIFICATE_VERIFY_FAILED" not in reason
    asked = presented is not None and presented.asked_client_certificate
    if _CLIENT_CERTIFICATE.search(reason) or (refused and asked):
        return _client_certificate(target, presented, confirmed=True)
    if refused and presented is not None and presented.asked_client_certificate is None and (
            trust is None or verify(target, trust.bundle).trusted):
        return _client_certificate(target, presented, confirmed=False)
    if presented is None and (legacy := legacy_version(target)) is not None:
        return _old_protocol(target, legacy)
    if "CERTIFICATE_VERIFY_FAILED" not in reason or presented is None or trust is None:
        return None
    verdict = verify(target, trust.bundle)
    fault = _certificate_fault(ctx, target, presented, trust, verdict)
    shown = tuple(f"presented #{i}{' (leaf)' if i == 0 else ''}: {c.line()}" for i, c in enumerate(presented.chain))
    count = len(presented.chain)
    sent = ("the server sent " + (f"{count} certificate{'s' if count > 1 else ''}" if presented.whole_chain else
                                   "its leaf (TLS 1.3: the rest of the chain is encrypted)"))
    verdict_line = (f"verification against {trust.bundle} ({trust.source}): "
                    + (f"error {verdict.code}, {verdict.message}" if verdict.code is not None else verdict.message or "ok"))
    return replace(fault, details=(*fault.details, sent, *shown, verdict_line, *_other_faults(target, presented, fault)))


def _certificate_fault(ctx: CheckContext, target: Target, presented: Presented, trust: Trust,
                       verdict: Verdict) -> Fault:
    leaf, now = presented.leaf, utc_now()
    dated = next((c for c in presented.chain if c.validity(now)), None)
    if verdict.code in (_EXPIRED, _NOT_YET_VALID) and dated is not None:
        return _dates(target, dated, leaf)
    if verdict.code in _NAME_MISMATCH:
        return _other_names(ctx, target, leaf, trust)
    if verdict.code in _WEAK:
        return _weak(presented, verdict)
    if verdict.code in _UNTRUSTED or verdict.code == _SELF_SIGNED_LEAF:
        return _untrusted(ctx, target, presented, trust)
    if leaf.self_signed:  # no verdict (the control handshake did not fail the same way): read the chain itself
        return _self_signed(target, leaf)
    if dated is not None:
        return _dates(target, dated, leaf)
    if not leaf.matches(target.host):
        return _other_names(ctx, target, leaf, trust)
    return _untrusted(ctx, target, presented, trust)


def _other_faults(target: Target, presented: Presented, fault: Fault) -> tuple[str, ...]:
    """What else is wrong with the presented certificates: the next failure once the named one is fixed."""
    notes, now = [], utc_now()
    if fault.code is not Code.OTHER_NAMES and not presented.leaf.matches(target.host):
        notes.append(f"also: the certificate's names ({', '.join(presented.leaf.names) or 'none'}) do not include "
                     f"{target.host}")
    for cert in presented.chain:
        state = cert.validity(now)
        if state and fault.code not in (Code.EXPIRED, Code.NOT_YET_VALID):
            notes.append(f"also: {cert.subject} is {state.replace('-', ' ')} (valid {cert.not_before:%Y-%m-%d} to "
                         f"{cert.not_after:%Y-%m-%d}; this machine's clock reads {now:%Y-%m-%d %H:%M} UTC)")
    return tuple(notes)


def _dates(target: Target, cert: Certificate, leaf: Certificate) -> Fault:
    now = utc_now()
    whose = "The server's certificate" if cert is leaf else f"The CA certificate {cert.subject} that the server sends"
    clock = f"this machine's clock reads {now:%Y-%m-%d %H:%M} UTC"
    if cert.validity(now) == "expired":
        return Fault(
            Code.EXPIRED, f"the server's certificate {cert.subject} expired on {cert.not_after:%Y-%m-%d %H:%M} UTC"
            if cert is leaf else f"the CA certificate {cert.subject} in the server's chain expired on "
                                 f"{cert.not_after:%Y-%m-%d %H:%M} UTC",
            explanation=f"{whose} was valid until {cert.not_after:%Y-%m-%d %H:%M} UTC; {clock}. No client should "
                        "accept it: the certificate has to be renewed on the server (if this machine's clock is "
                        "wrong instead, set it right).",
            why_ui_works="It may not: browsers warn about an expired certificate too, so the UI opens only for "
                         "someone who clicked through the warning (or whose browser shows pages cached before the "
                         "expiry).",
            fix=Fix(f"Renew the certificate on the server (or its CA certificate {cert.subject}) and install the new "
                    "one where TLS ends (load balancer, proxy or web server). Do not turn verification off.",
                    (f"openssl s_client -connect {target.host}:{target.port} </dev/null 2>/dev/null "
                     "| openssl x509 -noout -dates",)))
    return Fault(
        Code.NOT_YET_VALID, f"the certificate {cert.subject} is not valid before {cert.not_before:%Y-%m-%d %H:%M} UTC "
                            f"by this machine's clock ({now:%Y-%m-%d %H:%M} UTC)",
        explanation=f"{whose} becomes valid at {cert.not_before:%Y-%m-%d %H:%M} UTC; {clock}. Either this machine's "
                    "clock is behind (most likely when the browser's machine accepts the same certificate: compare "
                    "the clocks), or the certificate was issued with a start date in the future.",
        why_ui_works="The browser's machine has a correct clock, so the certificate is already valid there.",
        fix=Fix("Set this machine's clock right (NTP); if it is right, reissue the certificate with a start date "
                "that has passed.", ("timedatectl status", "date -u")))


def _other_names(ctx: CheckContext, target: Target, leaf: Certificate, trust: Trust) -> Fault:
    names = ", ".join(leaf.names) or "none (only the subject " + leaf.subject + ")"
    usable = _usable_name(leaf, target.host)
    fix, details = Fix(f"Use one of the certificate's names ({names}) in the profile's url and in the script, or "
                       f"have the certificate reissued with {target.host} among its names.", ()), ()
    if usable is not None:
        parts = urlsplit(ctx.facts.base_url)
        netloc = usable + (f":{parts.port}" if parts.port else "")
        corrected = urlunsplit(parts._replace(netloc=netloc))
        fix = Fix(f"Use a name the certificate holds in the profile's url and in the script: url: {corrected}",
                  (f"url: {corrected}",))
        control = verify(replace(target, host=usable), trust.bundle)
        details = (f"control: a handshake with {usable}:{target.port}, a name the certificate holds, "
                   + ("verified" if control.trusted else f"failed too: {control.message}"),)
    return Fault(
        Code.OTHER_NAMES, f"the certificate is for other names ({names}), not {target.host}",
        explanation=f"The server's certificate {leaf.subject} holds the names {names}; the url's host {target.host} "
                    "is not among them, so any client that verifies refuses it. The same server is often reached by "
                    "a name the certificate lists (its public name) and by another one (an IP address, an internal "
                    "alias, a load balancer's own name).",
        why_ui_works="The browser opens the UI at a name the certificate lists (the address people bookmark), or the "
                     "user clicked through the browser's name-mismatch warning.",
        fix=fix, details=details)


def _usable_name(leaf: Certificate, host: str) -> str | None:
    """The certificate's name (not a wildcard) that resolves to the url host's own address, else the first that
    resolves at all."""
    here = _addresses(host)
    candidates = [name for name in leaf.names if "*" not in name and name != host][:NAMES_LOOKED_UP]
    resolving = [(name, _addresses(name)) for name in candidates]
    resolving = [(name, found) for name, found in resolving if found]
    same = next((name for name, found in resolving if found & here), None)
    return same or next((name for name, _ in resolving), None)


def _addresses(name: str) -> set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
    except (OSError, UnicodeError):
        return set()


def _self_signed(target: Target, leaf: Certificate) -> Fault:
    save = (f"openssl s_client -connect {target.host}:{target.port} -servername {target.host} </dev/null 2>/dev/null "
            "| openssl x509 -out server-cert.pem")
    return Fault(
        Code.SELF_SIGNED, f"the server's certificate {leaf.subject} is self-signed",
        explanation=f"The server presents a certificate it signed itself ({leaf.subject}): no CA vouches for it, so "
                    "no client trusts it unless it is told to trust this very certificate. "
                    + ("" if leaf.matches(target.host) else f"It does not hold the name {target.host} either, so "
                                                            "trusting it alone will not be enough."),
        why_ui_works="The user accepted the browser's warning for this certificate once, and the browser remembers "
                     "the exception.",
        fix=Fix("Best: give the server a certificate from your CA. Meanwhile, trust this certificate itself: save "
                "it (check its fingerprint with whoever runs the server) and give the profile its path:",
                (save, "tls:\n  verify: /path/to/server-cert.pem")))


def _untrusted(ctx: CheckContext, target: Target, presented: Presented, trust: Trust) -> Fault:
    """No chain from what the server sent to a CA this client trusts: whose CA, and who does trust it."""
    top, system = presented.chain[-1], verify(target, system=True)
    os_bundle = system_bundle()
    os_line = (f"control: the same handshake against this machine's store ({os_bundle or 'OpenSSL default'}) "
               + ("verified" if system.trusted else f"failed too: {system.message}"))
    inspector = _inspector(presented)
    if inspector is not None:
        return _inspecting_proxy(target, inspector, system, os_bundle, os_line)
    if presented.leaf.self_signed and not system.trusted:
        return replace(_self_signed(target, presented.leaf), details=(os_line,))
    if system.trusted and os_bundle and os_bundle != trust.bundle:
        return Fault(
            Code.TRUSTED_BY_OS_ONLY, f"{top.issuer} is trusted by this machine's store, but not by the CA bundle "
                                     "this client uses",
            explanation=f"This client verified against {trust.bundle} ({trust.source}), which does not hold "
                        f"{top.issuer}. The operating system's store does (company CAs are installed there), and the "
                        "same handshake against it verified.",
            why_ui_works="The browser trusts the operating system's store, where the CA that signs this server is "
                         "installed; requests trusts only its own bundle.",
            fix=Fix(SYSTEM_STORE_FIX, ("tls:\n  verify: system", "airflow-doctor check --url URL --ca-native",
                                       f"tls:\n  verify: {os_bundle}")),
            details=(os_line,))
    issuer = _fetched_issuer(ctx, top) if not top.self_issued else None
    if issuer is not None:
        with_issuer = verify(target, trust.bundle, cadata=issuer[1].pem().decode())
        if with_issuer.trusted or presented.whole_chain:
            return _missing_intermediate(target, presented, trust, issuer, with_issuer)
    only_leaf = presented.whole_chain and len(presented.chain) == 1 and not top.self_issued
    root = top.subject if top.self_issued else top.issuer
    return Fault(
        Code.UNKNOWN_CA, f"the certificate comes from {root}, a CA this client does not trust",
        explanation=(f"The server sent only its own certificate, issued by {root}. Most likely {root} is a private "
                     "CA this client has not been given; if it is an intermediate CA instead, the server should also "
                     "send it (openssl s_client -showcerts shows what it sends)." if only_leaf else
                     f"The chain the server sends ends at {root}, which is in neither {trust.bundle} ({trust.source}) "
                     "nor this machine's store."),
        why_ui_works="The browser's machine has this CA installed (a company CA that IT puts in managed machines' "
                     "stores), or the user clicked through the browser's warning.",
        fix=Fix(f"Get the certificate of {root} (from whoever runs the server, or your IT) and give the profile a "
                "bundle that holds it; keep the CAs you trust already in it:",
                (f"cat {trust.bundle} /path/to/{_file_name(root)}.pem > /path/to/ca-bundle.pem",
                 "tls:\n  verify: /path/to/ca-bundle.pem")),
        details=(os_line,))


def _missing_intermediate(target: Target, presented: Presented, trust: Trust, issuer: tuple[str, Certificate],
                          control: Verdict) -> Fault:
    url, intermediate = issuer
    top = presented.chain[-1]
    name = _file_name(intermediate.subject)
    confirmed = control.trusted
    return Fault(
        Code.MISSING_INTERMEDIATE, f"the server does not send its intermediate certificate {intermediate.subject}",
        explanation=f"The server's chain stops at {top.subject}, issued by {intermediate.subject}, which it does not "
                    "send; clients that verify need it to reach a CA they trust. "
                    + ("With that certificate (fetched from the CA Issuers url the certificate names) added, the same "
                       "handshake verified: the chain is incomplete, the CA is fine." if confirmed else
                       "Most likely the chain is incomplete; a handshake with it added did not verify either "
                       f"({control.message}), so its root is not trusted here either."),
        why_ui_works="Browsers complete a chain the server leaves incomplete: they keep intermediates seen on other "
                     "sites and fetch the missing one from the certificate's CA Issuers url. Python's ssl does neither.",
        fix=Fix("The server should send the full chain (its certificate followed by the intermediate: nginx "
                "ssl_certificate with the full-chain file, Apache SSLCertificateFile with the chain appended, a load "
                "balancer's certificate chain field). Until then, a bundle that holds the intermediate works:",
                (f"curl -sS {url} -o {name}.crt",
                 f"openssl x509 -inform DER -in {name}.crt -out {name}.pem  # skip if the file is PEM already",
                 f"cat {trust.bundle} {name}.pem > /path/to/ca-with-intermediate.pem",
                 "tls:\n  verify: /path/to/ca-with-intermediate.pem")),
        details=(f"control: fetched {intermediate.subject} from {url} (CA Issuers); it signed {top.subject}",
                 "control: the same handshake with it added to the client's bundle "
                 + ("verified" if confirmed else f"failed: {control.message}")))


def _fetched_issuer(ctx: CheckContext, cert: Certificate) -> tuple[str, Certificate] | None:
    """The issuer's certificate from the AIA CA Issuers url, when it is the one that signed `cert` (one GET)."""
    for url in cert.ca_issuers[:1]:
        if not url.startswith(("http://", "https://")):
            continue
        try:
            response = ctx.probe.get(url)
        except TransportError:
            return None
        for load in (Certificate.from_der, Certificate.from_pem):
            try:
                fetched = load(response.body)
            except ValueError:
                continue
            if cert.issued_by(fetched):
                return url, fetched
    return None


def _inspector(presented: Presented) -> Certificate | None:
    """The certificate in the chain whose issuer names a TLS-inspecting product, if any."""
    for cert in presented.chain:
        words = f"{cert.issuer} {cert.issuer_organisation}".lower()
        if any(word in words for word in _INSPECTORS):
            return cert
    return None


def _inspecting_proxy(target: Target, cert: Certificate, system: Verdict, os_bundle: str | None,
                      os_line: str) -> Fault:
    by = f"{cert.issuer}" + (f" ({cert.issuer_organisation})" if cert.issuer_organisation else "")
    fix = (Fix("The proxy's CA is in this machine's store. " + SYSTEM_STORE_FIX,
               ("tls:\n  verify: system", "airflow-doctor check --url URL --ca-native", f"tls:\n  verify: {os_bundle}"))
           if system.trusted and os_bundle else
           Fix(f"Ask IT for the inspecting proxy's root CA certificate ({cert.issuer}) and give the profile a bundle "
               "that holds it; or ask for the Airflow host to be exempted from inspection.",
               (f"tls:\n  verify: /path/to/{_file_name(cert.issuer)}.pem",)))
    return Fault(
        Code.INSPECTING_PROXY, f"a TLS-inspecting proxy re-signs the traffic: the certificate is issued by {by}",
        explanation=f"What arrived is not the server's own certificate: it is issued by {by}, the CA of a proxy "
                    "that opens TLS on the way, inspects it, and re-signs it with its own CA. Clients trust it only "
                    "when they trust that CA."
                    + (f" (The url's host {target.host} goes through a proxy from the environment.)" if target.proxy else ""),
        why_ui_works="IT installs the proxy's CA in the operating system's store of managed machines, which the "
                     "browser trusts; requests trusts only its own bundle.",
        fix=fix, details=(os_line,))


def _client_certificate(target: Target, presented: Presented | None, confirmed: bool) -> Fault:
    asked = presented is not None and presented.asked_client_certificate
    seen = ("the server asked for one (CertificateRequest) and refused the handshake without it" if asked else
            "the server's alert said 'certificate required'" if confirmed else
            "the server's certificate verified, and the server ended the connection right after the handshake, "
            "which is what servers that want a client certificate do when none comes")
    return Fault(
        Code.CLIENT_CERTIFICATE, f"the server requires a client certificate (mutual TLS){'' if confirmed else ', most likely'}",
        explanation=f"The TLS handshake with {target.host}:{target.port} needs a certificate from the client; "
                    f"{seen}. The server's own certificate was not the problem."
                    + ("" if confirmed else " A handshake that sends a client certificate would confirm it."),
        why_ui_works="The browser presents a client certificate from its store (installed by IT, or on a smart "
                     "card), often without asking.",
        fix=Fix("Send the client certificate and its key: in the profile under tls: (with --url: --client-cert and "
                "--client-key); in the script, requests' cert=; with curl, --cert and --key:",
                ("tls:\n  client_cert: /path/client.pem\n  client_key: /path/client.key",
                 "airflow-doctor check --url URL --client-cert /path/client.pem --client-key /path/client.key",
                 'requests.post(url, ..., cert=("/path/client.pem", "/path/client.key"))',
                 "curl --cert /path/client.pem --key /path/client.key …")),
        details=(f"presented (leaf): {presented.leaf.line()}",) if presented is not None else ())


def _weak(presented: Presented, verdict: Verdict) -> Fault:
    weakest = presented.chain[0] if verdict.code == 66 else presented.chain[-1]
    return Fault(
        Code.WEAK_CERTIFICATE, f"the certificate chain is too weak for this machine's OpenSSL: {verdict.message}",
        explanation=f"OpenSSL here refuses the chain for its strength ({verdict.message}; it concerns {weakest.subject}"
                    "): a key shorter than 2048 bits (RSA) or a SHA-1/MD5 signature is below its security level. "
                    "No bundle changes that: the certificate must be reissued.",
        why_ui_works="Current browsers refuse these too; if the UI opens, the browser reaches another front (with "
                     "another certificate) or is old enough to accept it.",
        fix=Fix("Reissue the certificate (and any CA certificate in the chain that is weak) with an RSA key of 2048 "
                "bits or more, or an ECDSA key, signed with SHA-256.", ()))


def _old_protocol(target: Target, version: str) -> Fault:
    return Fault(
        Code.OLD_PROTOCOL, f"the server speaks only {version}, which this client no longer offers",
        explanation=f"The handshake found no TLS version in common. A handshake that also offered the retired "
                    f"versions completed with {version} (RFC 8996 retired TLS 1.0 and 1.1; OpenSSL here does not "
                    "offer them by default).",
        why_ui_works="Current browsers refuse TLS 1.0/1.1 too; if the UI opens, the browser reaches another front, "
                     "or is old enough to speak it.",
        fix=Fix("Enable TLS 1.2 (or 1.3) where TLS ends for this server (load balancer, proxy or web server); there "
                "is no safe client-side setting.", ()),
        details=(f"control: a handshake with {target.host}:{target.port} that also offered TLS 1.0 and 1.1 completed "
                 f"with {version}",))


def _file_name(subject: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", subject).strip("-").lower() or "ca"
