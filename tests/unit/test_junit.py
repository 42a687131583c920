"""--format junit (issue 19): structure checked by parsing (no XSD), secrets never in it, stdout only XML."""

from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from airflow_doctor.checks import CHECK_IDS
from airflow_doctor.cli import app
from airflow_doctor.fleet import FleetEntry, FleetReport
from airflow_doctor.junit import render_fleet_junit, render_junit
from airflow_doctor.model import CheckResult, Diagnosis, Fix, Report, Status
from airflow_doctor.secrets import REGISTRY
from tests.conftest import write_profile
from tests.servers import closed_port

CANARY = "canary-junit-Zq81xT0k55"


def sample_report(profile: str = "prod") -> Report:
    fix = Fix("Send the token the deployment issued.", ("astro deployment token create --role DEPLOYMENT_ADMIN",), "https://docs.example/x")
    results = (
        CheckResult("reachability", "Reachable", Status.PASS, "Airflow 3.1.0 answers", duration_ms=12.0),
        CheckResult("auth-backend", "Auth", Status.FAIL, f"the token {CANARY} was refused\x1b[31m", fix=fix,
                    duration_ms=30.5, code="token-refused"),
        CheckResult("dag-exists", "DAG", Status.WARN, "the DAG is paused", fix=Fix("Unpause it.")),
        CheckResult("permissions", "Perms", Status.SKIP, "skipped (needs auth-backend)"),
        CheckResult("paused", "Paused", Status.FAIL, "internal error in airflow-doctor (KeyError)",
                    internal_error="Traceback: KeyError"),
    )
    return Report("0.1.0", "2026-12-06 12:00:00 UTC", profile, "https://af.example", (), (), results,
                  Diagnosis("auth-backend", "refused", fix), warnings=("the profile file is world-readable",))


def parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {case.get("name"): case for case in suite.findall("testcase")}


def test_one_testcase_per_check_with_failures_skips_and_errors_in_their_junit_places() -> None:
    REGISTRY.add(CANARY)
    text = render_junit(sample_report())
    assert CANARY not in text and "\x1b" not in text
    root = parse(text)
    assert root.tag == "testsuites" and root.get("name") == "airflow-doctor"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "prod"
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == \
           {"tests": "5", "failures": "1", "errors": "1", "skipped": "1"}
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == \
           {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")}
    by_name = cases(suite)
    assert list(by_name) == ["reachability", "auth-backend", "dag-exists", "permissions", "paused"]
    assert all(case.get("classname") == "prod" for case in by_name.values())
    assert list(by_name["reachability"]) == [] and by_name["reachability"].get("time") == "0.012"
    failure = by_name["auth-backend"].find("failure")
    assert failure.get("message").startswith("the token ") and "refused" in failure.get("message")
    assert failure.get("type") == "token-refused"
    assert failure.text.split("\n\n") == ["Send the token the deployment issued.", "astro deployment token create --role DEPLOYMENT_ADMIN",
                                          "Docs: https://docs.example/x"]
    assert by_name["dag-exists"].find("failure") is None
    assert by_name["dag-exists"].find("system-out").text.startswith("warning: the DAG is paused")
    assert by_name["permissions"].find("skipped").get("message") == "skipped (needs auth-backend)"
    assert by_name["paused"].find("error").text == "Traceback: KeyError"
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties["target"] == "https://af.example" and properties["diagnosis"] == "auth-backend"
    assert "world-readable" in suite.find("system-out").text


def test_a_fleet_is_one_testsuites_and_a_broken_profile_is_an_error() -> None:
    fleet = FleetReport("2026-12-06 12:00:00 UTC", "0.1.0", (
        FleetEntry("prod", sample_report("prod")),
        FleetEntry("broken", None, "The profile 'broken' has no url; add one."),
        FleetEntry("half", sample_report("half"), "the variable TOKEN is not set"),
    ))
    root = parse(render_fleet_junit(fleet))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["prod", "broken", "half"]
    broken = cases(suites[1])
    assert list(broken) == ["profile"] and "has no url" in broken["profile"].find("error").get("message")
    assert "profile" in cases(suites[2]) and suites[2].get("errors") == "2"
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(key)) == sum(int(s.get(key)) for s in suites)


def unreachable_profile(tmp_path: Path) -> Path:
    return write_profile(tmp_path, f"url: http://127.0.0.1:{closed_port()}\nauth:\n  type: token\n  token: ${{TOK}}\n"
                                   "timeout: {connect: 1, read: 1}\n", name="ci.yml")


def test_check_format_junit_prints_only_xml_and_never_the_token(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", "-p", str(unreachable_profile(tmp_path)), "--format", "junit"],
                                env={"TOK": CANARY})
    assert result.exit_code == 1
    assert CANARY not in result.output
    root = parse(result.stdout)
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "ci" and list(cases(suite)) == list(CHECK_IDS)
    assert cases(suite)["reachability"].find("failure") is not None
    assert int(suite.get("skipped")) == len(CHECK_IDS) - 1


def test_junit_to_a_file_is_written_atomically_with_the_usual_mode(tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    result = CliRunner().invoke(app, ["check", "-p", str(unreachable_profile(tmp_path)), "-f", "junit", "-o", str(out)],
                                env={"TOK": CANARY})
    assert result.exit_code == 1 and result.stdout == ""
    assert f"wrote the report to {out}" in result.stderr
    assert parse(out.read_text()).find("testsuite").get("name") == "ci"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".junit.xml")] == []


def test_check_all_format_junit_holds_the_whole_fleet(tmp_path: Path) -> None:
    port = closed_port()
    path = write_profile(tmp_path, "profiles:\n"
                                   f"  a: {{url: 'http://127.0.0.1:{port}', timeout: {{connect: 1, read: 1}}}}\n"
                                   f"  b: {{url: 'http://127.0.0.1:{port}', timeout: {{connect: 1, read: 1}}}}\n"
                                   "  broken: {auth: {type: basic}}\n", name="fleet.yml")
    result = CliRunner().invoke(app, ["check", "--all", "--profiles-file", str(path), "-f", "junit"])
    assert result.exit_code == 2
    root = parse(result.stdout)
    assert [s.get("name") for s in root.findall("testsuite")] == ["a", "b", "broken"]
    assert list(cases(root.findall("testsuite")[2])) == ["profile"]


def test_junit_with_an_unknown_profile_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "profiles:\n  prod: {url: 'http://h'}\n", name="p.yml")
    result = CliRunner().invoke(app, ["check", "--profiles-file", str(path), "-p", "nope", "-f", "junit"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "There is no profile 'nope'" in result.stderr
