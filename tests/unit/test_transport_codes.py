"""The code tables of reachability, the gateway reader, payload-schema and the transport failures: every transport
layer has its one row, codes keep the values JSON consumers already read, and the tables do not collide."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_doctor import failures
from airflow_doctor.checks import payload_schema, reachability
from airflow_doctor.checks.readers import gateway
from airflow_doctor.model import Exchange
from airflow_doctor.probe import Layer, TransportError

ROOT = Path(__file__).resolve().parents[2]
TABLES = (failures.Code, reachability.Code, gateway.Code, payload_schema.Code)


@pytest.mark.parametrize("layer", list(Layer))
def test_every_transport_layer_has_one_row_whose_code_is_the_layers_own(layer: Layer) -> None:
    row = failures.TRANSPORT_FAILURES[layer]
    assert row.code == layer.value and row.code.meaning


def test_codes_are_kebab_case_explained_and_unique_across_these_tables() -> None:
    values = [member.value for table in TABLES for member in table]
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", v) for v in values)
    assert all(member.meaning for table in TABLES for member in table)


def test_the_codes_json_consumers_read_keep_their_values() -> None:
    assert [gateway.UPSTREAM[s].code for s in (502, 503, 504)] == ["gateway-502", "gateway-503", "gateway-504"]
    assert gateway.Code.AIRFLOW2_API_ON_AIRFLOW3 == "airflow2-api-on-airflow3"
    assert gateway.Code.V2_NOT_ROUTED == "airflow3-v2-not-routed"
    assert failures.Code.RATE_LIMITED == "rate-limited" == Layer.HELD_BACK.value


def test_unvouched_knows_every_mwaa_code_the_platform_declares() -> None:
    """gateway reads the MWAA codes by value (readers do not import the platforms): the set must not fall behind."""
    declared = set(re.findall(r'"(mwaa-[a-z-]+)"', (ROOT / "diagnose/platforms/mwaa/findings.py").read_text()))
    assert declared and declared <= gateway.MWAA_SERVICE_CODES


def test_a_failed_first_request_and_a_failed_request_mid_run_share_the_layers_code_and_words() -> None:
    exchange = Exchange("GET", "http://airflow.test/api/v2/version", None, 12.0, error="tcp-refused")
    error = TransportError(Layer.TCP_REFUSED, "airflow.test refused the TCP connection on port 80", exchange)
    mid_run = failures.transport_finding(error)
    first = failures.transport_finding(error, first_contact_url="http://airflow.test")
    assert mid_run.code == first.code == failures.Code.TCP_REFUSED
    assert first.summary == f"{mid_run.summary} ({error.message})"
    assert "curl -sv http://airflow.test/api/v2/version" in first.fix.commands
