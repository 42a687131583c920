"""Checks declare the facts they use: --only brings their providers along, and a missing input is said, not skipped."""

from __future__ import annotations

import pytest
import responses

from airflow_doctor.checks import CHECKS
from airflow_doctor.doctor import diagnose_profile
from airflow_doctor.model import Status
from airflow_doctor.runner import Selection, producers
from tests.conftest import check_context, replay

BASE = "http://airflow.test"
V2 = "airflow-2.10.5"
BAD_BATCH = {"conf": {"batch_size": 0}}
"""doctor_demo's param batch_size is an integer with minimum 1 (the recorded details say so)."""


def airflow2_up_to_the_dag(rsps) -> None:
    """The answers of a real Airflow 2.10.5 from reachability through dag-exists."""
    for name in ("v2_version", "v1_version", "health", "dags_basic_admin", "details_demo"):
        replay(rsps, BASE, V2, name)


def profile(payload):
    return check_context(BASE, api="/api/v1", version="2.10.5", payload=payload).profile


@responses.activate(assert_all_requests_are_fired=True)
def test_only_payload_schema_runs_dag_exists_and_what_it_needs_and_validates_the_params() -> None:
    airflow2_up_to_the_dag(responses)
    report = diagnose_profile(profile(BAD_BATCH), Selection(only=("payload-schema",)))
    assert [r.check_id for r in report.results] == ["reachability", "auth-backend", "dag-exists", "payload-schema"]
    schema = report.results[-1]
    assert schema.status is Status.FAIL and "conf.batch_size" in schema.summary
    assert "not checked" not in schema.summary


@responses.activate(assert_all_requests_are_fired=True)
def test_skipping_dag_exists_makes_payload_schema_say_the_params_were_not_checked() -> None:
    for name in ("v2_version", "v1_version", "health", "dags_basic_admin"):
        replay(responses, BASE, V2, name)
    report = diagnose_profile(profile(BAD_BATCH), Selection(only=("payload-schema",), skip=("dag-exists",)))
    schema = next(r for r in report.results if r.check_id == "payload-schema")
    assert schema.status is Status.PASS
    assert schema.summary.endswith("; the DAG's params were not checked: dag-exists did not run (--skip dag-exists)")


def test_every_fact_a_check_uses_has_one_provider_that_runs_before_it() -> None:
    provided_by = producers(CHECKS)
    order = [c.id for c in CHECKS]
    for check in CHECKS:
        for used in check.uses:
            assert used.fact in provided_by, f"{check.id} uses {used.fact}, which no check provides"
            assert order.index(provided_by[used.fact]) < order.index(check.id)


@pytest.mark.parametrize("check", CHECKS, ids=[c.id for c in CHECKS])
def test_the_needs_text_that_checks_lists_names_every_provider(check) -> None:
    provided_by = producers(CHECKS)
    for used in check.uses:
        assert provided_by[used.fact] in check.needs, f"{check.id}'s needs does not say it builds on {provided_by[used.fact]}"


def test_the_checks_listing_names_every_check_a_check_builds_on() -> None:
    from typer.testing import CliRunner

    from airflow_doctor.cli import app

    listing = CliRunner().invoke(app, ["checks"]).output
    payload_block = listing.split("payload-schema", 1)[1].split("\n\n")[0]
    assert "runs after: reachability, dag-exists" in payload_block
