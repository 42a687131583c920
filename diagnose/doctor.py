"""Runs the check registry against one profile and assembles the report."""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from typing import Callable

from airflow_doctor import __version__
from airflow_doctor.model import CheckResult, Report
from airflow_doctor.profiles import Profile
from airflow_doctor.runner import Selection, run_checks

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
    results = run_checks(CHECKS, context, probe, selection, on_progress=on_progress, debug=debug)
    environment = [*probe.environment(), ("python", platform.python_version()),
                   ("os", f"{platform.system()} {platform.release()}"), ("requests made", str(probe.request_count))]
    from airflow_doctor.redact import printable

    return Report(
        tool_version=__version__,
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        profile=printable(profile.name),
        target=printable(facts.base_url),
        facts=tuple((k, printable(v)) for k, v in facts.summary_items()),
        environment=tuple(environment),
        results=tuple(results),
        diagnosis=choose_diagnosis(results),
        warnings=profile.warnings,
        working_request=working_request.build(profile, facts, results),
    )
