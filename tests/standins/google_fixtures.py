"""Fixtures for the platform stand-ins (imported by the test modules that use them; no conftest is edited)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.servers import closed_port
from tests.standins.google import GoogleOAuth, GooglePrincipal

ADC_VARIABLES = ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "GCE_METADATA_HOST", "GCE_METADATA_IP",
                 "GOOGLE_CLOUD_PROJECT")


def isolate_adc(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """ADC as on a machine with nothing configured: no variable, an empty gcloud folder, no metadata server (a
    closed local port, so google-auth's probe of it is refused at once instead of timing out)."""
    for name in ADC_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    gcloud = home / "gcloud"
    gcloud.mkdir(exist_ok=True)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(gcloud))
    dead = f"127.0.0.1:{closed_port()}"
    monkeypatch.setenv("GCE_METADATA_HOST", dead)
    monkeypatch.setenv("GCE_METADATA_IP", dead)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


PERSON = GooglePrincipal("ana@example.com", "104955463298271738432")
ROBOT = GooglePrincipal("etl-trigger@example-project.iam.gserviceaccount.com", "113377058562346985512",
                        service_account=True)


@pytest.fixture
def google_oauth() -> Iterator[GoogleOAuth]:
    """Google's token endpoint and tokeninfo, knowing a person and a service account (fresh tokens per test)."""
    people = [GooglePrincipal(PERSON.email, PERSON.sub), GooglePrincipal(ROBOT.email, ROBOT.sub, service_account=True)]
    with GoogleOAuth(people) as server:
        yield server
