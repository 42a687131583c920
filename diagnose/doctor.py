"""Runs the check registry against one profile and assembles the report.

Everything the report says that is not a check's own result (the header, the working request) is
redacted here, and the working request and the diagnosis are built under the checks' crash guard:
a bug there is one more reported internal error, never a report lost.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from typing import Callable, Mapping
from urllib.parse import urlsplit

from airflow_doctor import __version__
from airflow_doctor.model import Checked, CheckResult, Report, Snippet, WorkingRequest, choose_diagnosis
from airflow_doctor.sources.profile import Profile
from airflow_doctor.redact import redact_json, redact_text
from airflow_doctor.runner import Selection, attempt, run_checks

Progress = Callable[[str, str, "CheckResult | None"], None]


def diagnose_profile(profile: Profile, selection: Selection = Selection(), *, trigger=None,  # type: ignore[no-untyped-def]
                     on_progress: Progress | None = None, debug: bool = False) -> Report:
    require_platform_client(profile)
    from airflow_doctor.checks import CHECKS
    from airflow_doctor.checks.readers import working_request
    from airflow_doctor.checks.readers.gateway import described, reviewer
    from airflow_doctor.checks.base import CheckContext, Facts

    probe, mwaa = platform_probe(profile)
    facts = Facts(base_url=probe.base_url, mwaa=mwaa)
    context = CheckContext(profile, facts, probe, trigger)
    results = run_checks(CHECKS, context, probe, selection, on_progress=on_progress, debug=debug, available=facts.has,
                         review=reviewer(context), describe=described)
    request, request_crash = attempt("working-request", "The request that works",
                                     lambda: working_request.build(profile, facts, results), debug)
    results += [request_crash] if request_crash else []
    diagnosis, diagnosis_crash = attempt("diagnosis", "Diagnosis", lambda: choose_diagnosis(results), debug)
    results += [diagnosis_crash] if diagnosis_crash else []
    environment = [("python", platform.python_version()), ("os", f"{platform.system()} {platform.release()}"),
                   *probe.environment()]
    return Report(
        tool_version=__version__,
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        profile=redact_text(profile.name),
        target=redact_text(facts.base_url),
        facts=_redacted_pairs(facts.summary_items()),
        environment=_redacted_pairs(environment),
        results=tuple(results),
        diagnosis=diagnosis,
        warnings=tuple(redact_text(w) for w in (*verify_off_warning(profile), *profile.warnings)),
        working_request=request and redacted_request(request),
        checked=what_was_checked(profile),
        requests_made=probe.request_count,
    )


def platform_probe(profile: Profile):  # type: ignore[no-untyped-def]
    """The Probe for the profile: on AWS MWAA its session goes through InvokeRestApi (or the web server), and the
    environment's GetEnvironment answer comes along for the checks."""
    from airflow_doctor.probe import Probe
    from airflow_doctor.sources.profile import AuthType

    options = profile.probe_options()
    if profile.auth.type is not AuthType.AWS:
        return Probe(profile.url, **options), None
    from airflow_doctor.platforms.mwaa import client as mwaa

    state = mwaa.open_environment(profile)
    base = mwaa.base_url(profile, state)
    return Probe(base, session_factory=mwaa.session_factory(state, base), **options), state


VERIFY_OFF = ("TLS verification is off for this profile (tls.verify: false / --insecure), so this run cannot see what "
              "a verifying client would refuse: an expired certificate, one for other names, one from a CA this "
              "machine does not trust, a TLS-inspecting proxy re-signing the traffic, or anyone in the path "
              "impersonating the server. A script that verifies (requests' default) may fail where these checks "
              "pass: run again with tls.verify on (true, a CA bundle, or system) to check what it sees.")
"""Said once per report, above the checks, in every format: a finding per check would bury it."""


def verify_off_warning(profile: Profile) -> tuple[str, ...]:
    return (VERIFY_OFF,) if profile.verify is False and urlsplit(profile.url).scheme == "https" else ()


CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
"""The variables requests reads for its CA bundle, in its order."""


def what_was_checked(profile: Profile, environ: Mapping[str, str] = os.environ) -> Checked:
    """The profile's inputs as the report shows them: secrets masked, the proxy as its host only."""
    tls, ca_source = _tls(profile, environ)
    payload = profile.payload and json.dumps(redact_json(profile.payload), ensure_ascii=False, default=str)
    shape = profile.request
    request = shape and " ".join(p for p in (shape.method, shape.path or "<the trigger path>",
                                              shape.content_type and f"({shape.content_type})") if p)
    url = profile.url or (profile.auth.aws and f"the web server of MWAA environment {profile.auth.aws.environment} "
                                               "(from GetEnvironment)") or ""
    return Checked(url=redact_text(url), auth_type=profile.auth.type.value,
                   user=profile.auth.username and redact_text(profile.auth.username),
                   dag_id=profile.dag_id and redact_text(profile.dag_id),
                   payload=payload and redact_text(payload), request=request and redact_text(request),
                   tls=tls, ca_source=ca_source and redact_text(ca_source),
                   connect_timeout_s=profile.connect_timeout, read_timeout_s=profile.read_timeout,
                   proxy=_proxy_host(profile))


def _tls(profile: Profile, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """Whether the server's certificate is verified, and against which CA bundle (which variable named it)."""
    if urlsplit(profile.url).scheme != "https":
        return "not used (http)", None
    client = f", with the client certificate {profile.network.client_cert}" if profile.network.client_cert else ""
    tls, source = _server_verified(profile, environ)
    return tls + client, source


def _server_verified(profile: Profile, environ: Mapping[str, str]) -> tuple[str, str | None]:
    if profile.verify is False:
        return "not verified (tls.verify: false)", None
    if profile.network.system_ca:
        return "verified", "the operating system's store, from the profile's tls.verify: system"
    if isinstance(profile.verify, str):
        return "verified", f"CA bundle {profile.verify}, from the profile's tls.verify"
    variable = next((v for v in CA_VARIABLES if environ.get(v)), None)
    if variable:
        return "verified", f"CA bundle {environ[variable]}, from ${variable}"
    return "verified", "the CA bundle that comes with requests (certifi); REQUESTS_CA_BUNDLE is not set"


def _proxy_host(profile: Profile) -> str | None:
    """The proxy requests would use for this url (the profile's, else its environment, no_proxy included), host and
    port only: a proxy URL can carry a password."""
    import requests

    from airflow_doctor.transport import NO_PROXY

    if profile.network.proxy == NO_PROXY:
        return None
    url = profile.url
    proxies = {"http": profile.network.proxy, "https": profile.network.proxy} if profile.network.proxy else None
    proxies = proxies or requests.utils.get_environ_proxies(url)
    proxy = proxies.get(urlsplit(url).scheme) or proxies.get("all")
    if not proxy:
        return None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return (parts.hostname or "") + (f":{parts.port}" if parts.port else "")


def _redacted_pairs(pairs: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((redact_text(label), redact_text(value)) for label, value in pairs)


def redacted_request(request: WorkingRequest) -> WorkingRequest:
    """The working request as printed: built from facts, so it is redacted like anything else the server said."""
    return WorkingRequest(redact_text(request.title), tuple(redact_text(n) for n in request.notes),
                          tuple(Snippet(redact_text(s.label), s.language, redact_text(s.code)) for s in request.snippets))


def require_platform_client(profile: Profile) -> None:
    """The platform's own client library, imported only for its auth type; missing: one sentence, exit 2."""
    if profile.auth.type.value == "google":
        from airflow_doctor.platforms.composer.client import require_google_auth

        require_google_auth()
