"""Proxy credentials are canaries: from HTTP_PROXY/HTTPS_PROXY (plain or percent-encoded), and repeated back by a
careless proxy's own page and headers, they appear in no output of `check` (text with evidence, markdown, json,
junit), whatever the proxy answered."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from airflow_doctor.cli import app
from tests.conftest import write_profile
from tests.fronts import recorded_airflow
from tests.proxies import ForwardProxy, Policy
from tests.unit.test_proxy import clean_environment  # noqa: F401  (autouse: the machine's proxies stay out)

USER = "canary-proxy-user"
PASSWORD = "Canary-Proxy-Pw-93f1"
ENCODED = "Canary%40Proxy%2FPw-7c2e"
"""'Canary@Proxy/Pw-7c2e' as a proxy url must carry it."""
FORMS = (["--format", "text", "-vv"], ["--format", "markdown"], ["--format", "json"], ["--format", "junit"])


@pytest.mark.parametrize("policy", [Policy(mode="deny", echo=True), Policy(credentials=("x", "y"), echo=True),
                                    Policy(mode="unreachable", echo=True), Policy(echo=True)],
                         ids=["denied", "wrong-credentials", "cannot-reach", "forwards"])
@pytest.mark.parametrize("password", [PASSWORD, ENCODED])
def test_proxy_credentials_reach_no_output(tmp_path, monkeypatch: pytest.MonkeyPatch, policy: Policy,
                                           password: str) -> None:
    with recorded_airflow() as airflow, ForwardProxy(policy) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url_with(USER, password))
        profile = write_profile(tmp_path, f"url: {airflow.url}\ntimeout: {{connect: 2, read: 5}}\n")
        for form in FORMS:
            result = CliRunner().invoke(app, ["check", "--profile", str(profile), *form])
            assert result.exit_code in (0, 1), result.output
            for secret in (PASSWORD, "Canary@Proxy/Pw-7c2e", ENCODED, USER):
                assert secret not in result.output, (form, secret)
            assert f"127.0.0.1:{proxy.port}" in result.output or form[1] == "junit"
