from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_doctor.secrets import REGISTRY

RECORDED = Path(__file__).parent / "recorded"


@pytest.fixture(autouse=True)
def _fresh_secret_registry():
    REGISTRY.clear()
    yield
    REGISTRY.clear()


def recorded(label: str, name: str) -> dict[str, Any]:
    """An answer captured from a real Airflow server by tests/recorded/record.py."""
    return json.loads((RECORDED / label / f"{name}.json").read_text())


def replay(rsps, base: str, label: str, name: str, path: str | None = None, method: str | None = None, **match: Any):
    """Register a recorded answer with `responses` (optionally at another path, to model a prefix)."""
    data = recorded(label, name)
    headers = {k: v for k, v in data["headers"].items() if k.lower() != "content-type"}
    content_type = next((v for k, v in data["headers"].items() if k.lower() == "content-type"), None)
    return rsps.add(method or data["method"], base + (path or data["path"]), body=data["body"].encode("utf-8"),
                    status=data["status"], headers=headers, content_type=content_type, **match)


def write_profile(tmp_path: Path, text: str, name: str = "profile.yml", mode: int = 0o600) -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(mode)
    return path


def check_context(url: str, *, api: str, version: str, auth_type: str = "basic", username: str = "admin",
                  password: str | None = "secret-pw", token: str | None = None, dag_id: str | None = "doctor_demo",
                  payload: Any = None, sources: dict[str, str] | None = None, health: dict[str, str | None] | None = None):
    """A CheckContext as reachability leaves it: the API flavour and version known."""
    from airflow_doctor.checks.base import ApiFlavour, CheckContext, Facts
    from airflow_doctor.probe import Probe
    from airflow_doctor.sources.profile import Auth, AuthType, Profile
    from airflow_doctor.secrets import REGISTRY, Secret

    kind = AuthType(auth_type)
    secret = Secret(password) if password is not None and kind in (AuthType.BASIC, AuthType.JWT) else None
    bearer = Secret(token) if token is not None else None
    for value in (secret, bearer):
        if value is not None:
            REGISTRY.add_basic(username, value)
    auth = Auth(kind, username if secret else None, secret, bearer)
    profile = Profile("t", url, auth, dag_id, payload, sources=sources or {})
    facts = Facts(base_url=url, airflow_version=version, api=ApiFlavour(api),
                  health=health or {"metadatabase": "healthy", "scheduler": "healthy", "dag_processor": "healthy"})
    return CheckContext(profile, facts, Probe(url))
