"""Fronts that refuse a request before Airflow sees it, in front of the real Airflow 2.10.5 and 3.3.2 (tests/fronts.py,
plain HTTP on 127.0.0.1): a body-size limit, a WAF-like body rule, a front that refuses triggers (POST) on the API, a
front that guards /api/ altogether, and a gateway that wants its own key. Each scenario asserts the check that sent
the refused request fails with the front named (never a pass), what the controls found it keys on, why the UI works,
and applies the printed fix (the front reconfigured, or the header added): the check then passes."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import urlsplit
from pathlib import Path
from typing import Any

import pytest

from airflow_doctor.checks.readers.front_controls import Code
from tests.fronts import BodyRule, HttpFront, KeyGateway, PathGuard, SizeLimit
from tests.integration.conftest import Server
from tests.integration.test_scenarios_auth import check, fix_text, result_of

pytestmark = pytest.mark.integration

FRONT_CODES = {c.value for c in Code}


def payload(server: Server, conf: dict[str, Any]) -> dict[str, Any]:
    return {"logical_date": None, "conf": conf} if server.major >= 3 else {"conf": conf}


def no_pass_beside_a_refusal(data: dict[str, Any], front: HttpFront) -> None:
    """No check reports 'pass' (or a warning) with a request the front refused in its own evidence."""
    refused = set(front.refused_sized)
    for result in data["results"]:
        if result["status"] in ("pass", "warn"):
            mine = {(f"{e['method']} {_path(e['url'])}", _size(e)) for e in result["evidence"]}
            assert not mine & refused, (result["check_id"], result["summary"], mine & refused)


def _size(exchange: dict[str, Any]) -> int:
    return int(next((v for k, v in exchange["request_headers"] if k.lower() == "content-length"), 0))


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- a body-size limit -------------------------------------------------------------------------------

def test_a_body_size_limit_refusing_the_schema_probe_fails_payload_schema_with_the_limit_found(
        airflow: Server, tmp_path: Path) -> None:
    rows = [f"order-{i:05d}" for i in range(700)]  # ~10 KiB of conf
    with HttpFront(airflow.url, SizeLimit(4096)) as front:
        profile = airflow.profile(tmp_path, url=front.url, payload=payload(airflow, {"batch_size": 5, "rows": rows}))
        code, data = check(profile)
        schema = result_of(data, "payload-schema")
        assert code == 1 and schema["status"] == "fail" and schema["code"] == Code.BODY_SIZE, schema["summary"]
        assert "the 413 to POST" in schema["summary"] and "front of Airflow ('edge-proxy/1.9')" in schema["summary"]
        assert "413" in schema["summary"] and "a body-size limit between" in schema["summary"]
        assert "KiB" in schema["summary"] and "passed the front" in schema["explanation"]
        assert "Raise the front's request-body size limit" in fix_text(schema)
        assert "below this limit" in schema["why_ui_works"]
        assert result_of(data, "permissions")["status"] == "pass", "the permission probe is small: it passes"
        no_pass_beside_a_refusal(data, front)

        front.rule.limit = 1 << 20  # the printed fix: raise the limit
        code, data = check(profile)
        schema = result_of(data, "payload-schema")
        assert schema["code"] not in FRONT_CODES and schema["status"] in ("pass", "warn"), schema["summary"]


# --- a rule on the body's content -----------------------------------------------------------------------

def test_a_waf_rule_on_the_body_fails_payload_schema_and_names_the_field(airflow: Server, tmp_path: Path) -> None:
    conf = {"batch_size": 5, "note": "<script>alert(1)</script>", "owner": "etl", "region": "eu"}
    with HttpFront(airflow.url, BodyRule()) as front:
        profile = airflow.profile(tmp_path, url=front.url, payload=payload(airflow, conf))
        code, data = check(profile)
        schema = result_of(data, "payload-schema")
        assert code == 1 and schema["code"] == Code.BODY_RULE, schema["summary"]
        assert "'shieldwall/4.2'" in schema["summary"] and "403" in schema["summary"]
        assert "conf.note" in schema["summary"] and "not its size" in schema["summary"]
        assert "web application firewall" in schema["explanation"] and "X-Shieldwall-Incident" in schema["explanation"]
        assert "exempt the trigger endpoint" in fix_text(schema)
        no_pass_beside_a_refusal(data, front)

        front.rule.enabled = False  # the fix: the owner exempts the endpoint
        schema = result_of(check(profile)[1], "payload-schema")
        assert schema["code"] not in FRONT_CODES and schema["status"] in ("pass", "warn"), schema["summary"]


# --- the method and the path -------------------------------------------------------------------------

def test_a_front_refusing_triggers_fails_permissions_instead_of_a_missing_role(airflow: Server, tmp_path: Path) -> None:
    rule = PathGuard(prefix="/api/", methods=("POST",))
    with HttpFront(airflow.url, rule) as front:
        profile = airflow.profile(tmp_path, url=front.url)
        code, data = check(profile, "--skip", "payload-schema") if airflow.major == 2 else check(profile)
        perms = result_of(data, "permissions")
        assert code == 1 and perms["code"] == Code.METHOD, (perms["summary"], [r["summary"] for r in data["results"]])
        assert "it refuses POST on this path while a GET of it passes" in perms["summary"]
        assert "may not trigger" not in perms["summary"]
        assert "allow POST" in fix_text(perms)
        no_pass_beside_a_refusal(data, front)

        front.rule = lambda *request: None  # the fix: the front lets the trigger through
        assert result_of(check(profile)[1], "permissions")["status"] == "pass"


def test_a_front_guarding_the_api_names_the_path_and_why_the_ui_opens(airflow: Server, tmp_path: Path) -> None:
    with HttpFront(airflow.url, PathGuard(prefix="/api/")) as front:
        profile = airflow.profile(tmp_path, url=front.url)
        code, data = check(profile, "--only", "reachability")
        reach = result_of(data, "reachability")
        assert code == 1 and reach["code"] == Code.PATH, reach["summary"]
        assert "it guards the API's paths (/api/…) while GET / passes" in reach["summary"]
        assert "The UI's pages (GET /) pass this front" in reach["why_ui_works"]

        front.rule = lambda *request: None
        assert result_of(check(profile, "--only", "reachability")[1], "reachability")["status"] == "pass"


# --- a gateway with its own key ------------------------------------------------------------------------

@pytest.mark.parametrize("style", ["challenge", "json", "named"])
def test_a_gateway_wanting_its_own_key_gets_the_header_fix_and_the_header_makes_it_pass(
        airflow: Server, tmp_path: Path, style: str, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "gw-canary-key-7731"
    header = "X-Gateway-Key" if style == "named" else "X-API-Key"
    with HttpFront(airflow.url, KeyGateway(key, header=header, style=style)) as front:
        profile = airflow.profile(tmp_path, url=front.url)
        code, data = check(profile)
        failed = [r for r in data["results"] if r["status"] == "fail"]
        first = failed[0]
        assert code == 1 and first["code"] == Code.OWN_CREDENTIALS, first["summary"]
        assert "it demands credentials of its own" in first["summary"]
        snippet = first["fix"]["commands"][0]
        named = header.lower() if style == "named" else header
        assert snippet == f"headers:\n  {named}: ${{GATEWAY_KEY}}", snippet
        assert ("The answer names the header" if style == "named" else "does not name the header") in fix_text(first)
        assert "GET / got past this gateway without its key" in first["why_ui_works"]
        no_pass_beside_a_refusal(data, front)

        with_header(profile, monkeypatch, named, key)  # the printed fix
        code, data = check(profile)
        assert code == 0 and all(r["code"] not in FRONT_CODES for r in data["results"]), \
            [r["summary"] for r in data["results"] if r["status"] != "pass"]
        assert key not in json.dumps(data)


def with_header(profile: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """The profile's `headers:` as the fix prints it, value from the environment; until the profile carries headers
    (another branch adds them), the same header on every request of the doctor's Probe stands in for it."""
    from airflow_doctor.sources.profile import Profile

    monkeypatch.setenv("GATEWAY_KEY", value)
    if "headers" in {f.name for f in dataclasses.fields(Profile)}:
        profile.write_text(profile.read_text() + f"headers:\n  {name}: ${{GATEWAY_KEY}}\n")
        return
    from airflow_doctor import probe

    original = probe.Probe.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        self._session.headers[name] = value

    monkeypatch.setattr(probe.Probe, "__init__", init)
