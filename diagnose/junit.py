"""JUnit XML for CI: one testsuite per profile, one testcase per check, the whole fleet in one <testsuites>.

A renderer: it knows the Report model, not Airflow. CI systems (GitLab, Jenkins, GitHub Actions test reporters)
read this to show which deployment's API path broke and why. Every text passes the same redaction as the other
formats; what leaves the process still goes through `emit` / `write_atomic`, the final secret scan.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

from airflow_doctor.model import CheckResult, Fix, Report, Status

SUITES_NAME = "airflow-doctor"
PROFILE_CASE = "profile"
"""The testcase that stands for a profile that could not be loaded, or could run only part of its checks."""

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    """Redacted like every other output, and only characters XML 1.0 can hold (a server's ESC bytes cannot)."""
    from airflow_doctor.redact import redact_text

    return _NOT_XML.sub("\ufffd", redact_text(text))


@dataclass
class _Tally:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0

    def add(self, other: "_Tally") -> None:
        self.tests += other.tests
        self.failures += other.failures
        self.errors += other.errors
        self.skipped += other.skipped
        self.seconds += other.seconds

    def stamp(self, element: ET.Element) -> None:
        for key in ("tests", "failures", "errors", "skipped"):
            element.set(key, str(getattr(self, key)))
        element.set("time", f"{self.seconds:.3f}")


def fix_text(fix: Fix | None) -> str:
    """The body of a failure: what to change, the lines to copy, the docs."""
    if fix is None:
        return ""
    parts = [fix.text, *fix.commands]
    if fix.docs:
        parts.append(f"Docs: {fix.docs}")
    return "\n\n".join(part for part in parts if part)


def _testcase(suite: ET.Element, profile: str, result: CheckResult, tally: _Tally) -> None:
    case = ET.SubElement(suite, "testcase", classname=_clean(profile), name=result.check_id,
                         time=f"{result.duration_ms / 1000:.3f}")
    if result.after_fix_of:  # a problem the script meets after fixing that one: CI shows it with its own failure
        result = replace(result, summary=f"after fixing the above ({result.after_fix_of}): {result.summary}")
    tally.tests += 1
    tally.seconds += result.duration_ms / 1000
    if result.internal_error:
        error = ET.SubElement(case, "error", message=_clean(result.summary), type="internal-error")
        error.text = _clean(result.internal_error)
        tally.errors += 1
    elif result.status is Status.FAIL:
        failure = ET.SubElement(case, "failure", message=_clean(result.summary), type=str(result.code or "failed"))
        failure.text = _clean("\n\n".join(p for p in (fix_text(result.fix), result.assumed and
                                                        f"Assumed fixed for the checks after it: {result.assumed.text}")
                                      if p))
        tally.failures += 1
    elif result.status is Status.SKIP:
        ET.SubElement(case, "skipped", message=_clean(result.summary))
        tally.skipped += 1
    elif result.status is Status.WARN:
        out = ET.SubElement(case, "system-out")
        out.text = _clean("\n\n".join(p for p in (f"warning: {result.summary}", fix_text(result.fix)) if p))


def _profile_error(suite: ET.Element, profile: str, sentence: str, tally: _Tally) -> None:
    case = ET.SubElement(suite, "testcase", classname=_clean(profile), name=PROFILE_CASE, time="0.000")
    ET.SubElement(case, "error", message=_clean(sentence), type="profile-error")
    tally.tests += 1
    tally.errors += 1


def _testsuite(root: ET.Element, profile: str, report: Report | None, error: str | None) -> _Tally:
    suite = ET.SubElement(root, "testsuite", name=_clean(profile))
    tally = _Tally()
    if report is not None:
        properties = ET.SubElement(suite, "properties")
        for name, value in (("target", report.target), ("tool_version", report.tool_version),
                            ("generated_at", report.generated_at),
                            ("diagnosis", report.diagnosis.check_id if report.diagnosis else "")):
            ET.SubElement(properties, "property", name=name, value=_clean(value))
        for result in report.results:
            _testcase(suite, profile, result, tally)
        if report.warnings:
            out = ET.SubElement(suite, "system-out")
            out.text = _clean("\n".join(f"warning: {w}" for w in report.warnings))
    if error:
        _profile_error(suite, profile, error, tally)
    tally.stamp(suite)
    return tally


def _document(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_junit(report: Report) -> str:
    """One profile: a <testsuites> holding its one <testsuite> (the same root as a fleet, for one parser in CI)."""
    root = ET.Element("testsuites", name=SUITES_NAME)
    _testsuite(root, report.profile, report, None).stamp(root)
    return _document(root)


def render_fleet_junit(fleet) -> str:  # type: ignore[no-untyped-def]
    """Every profile of `check --all`: a <testsuite> each; a profile that could not be loaded is one <error>."""
    root = ET.Element("testsuites", name=SUITES_NAME)
    total = _Tally()
    for entry in fleet.entries:
        total.add(_testsuite(root, entry.name, entry.report, entry.error))
    total.stamp(root)
    return _document(root)
