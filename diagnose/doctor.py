"""Runs the check registry against one profile and assembles the report.

Everything the report says that is not a check's own result (the header, the working request) is
redacted here, and the working request and the diagnosis are built under the checks' crash guard:
a bug there is one more reported internal error, never a report lost.
"""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from typing import Callable

from airflow_doctor import __version__
from airflow_doctor.model import CheckResult, Report, Snippet, WorkingRequest
from airflow_doctor.profiles import Profile
from airflow_doctor.redact import redact_text
from airflow_doctor.runner import Selection, attempt, run_checks

Progress = Callable[[str, str, "CheckResult | None"], None]


def diagnose_profile(profile: Profile, selection: Selection = Selection(), *, trigger=None,  # type: ignore[no-untyped-def]
                     on_progress: Progress | None = None, debug: bool = False) -> Report:
    from airflow_doctor.checks import CHECKS, working_request
    from airflow_doctor.checks.base import CheckContext, Facts
    from airflow_doctor.http import Probe
    from airflow_doctor.report import choose_diagnosis

    probe = Probe(profile.url, verify=profile.verify, connect_timeout=profile.connect_timeout,
                  read_timeout=profile.read_timeout)
    facts = Facts(base_url=profile.url)
    context = CheckContext(profile, facts, probe, trigger)
    results = run_checks(CHECKS, context, probe, selection, on_progress=on_progress, debug=debug, available=facts.has)
    request, request_crash = attempt("working-request", "The request that works",
                                     lambda: working_request.build(profile, facts, results), debug)
    results += [request_crash] if request_crash else []
    diagnosis, diagnosis_crash = attempt("diagnosis", "Diagnosis", lambda: choose_diagnosis(results), debug)
    results += [diagnosis_crash] if diagnosis_crash else []
    environment = [*probe.environment(), ("python", platform.python_version()),
                   ("os", f"{platform.system()} {platform.release()}"), ("requests made", str(probe.request_count))]
    return Report(
        tool_version=__version__,
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        profile=redact_text(profile.name),
        target=redact_text(facts.base_url),
        facts=_redacted_pairs(facts.summary_items()),
        environment=_redacted_pairs(environment),
        results=tuple(results),
        diagnosis=diagnosis,
        warnings=tuple(redact_text(w) for w in profile.warnings),
        working_request=request and redacted_request(request),
    )


def _redacted_pairs(pairs: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((redact_text(label), redact_text(value)) for label, value in pairs)


def redacted_request(request: WorkingRequest) -> WorkingRequest:
    """The working request as printed: built from facts, so it is redacted like anything else the server said."""
    return WorkingRequest(redact_text(request.title), tuple(redact_text(n) for n in request.notes),
                          tuple(Snippet(redact_text(s.label), s.language, redact_text(s.code)) for s in request.snippets))
