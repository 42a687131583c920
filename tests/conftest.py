from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from diagnose.secrets import REGISTRY

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
    return rsps.add(method or data["method"], base + (path or data["path"]), body=data["body"].encode("utf-8"),
                    status=data["status"], headers=headers, content_type=data["headers"].get("content-type"), **match)


def write_profile(tmp_path: Path, text: str, name: str = "profile.yml", mode: int = 0o600) -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(mode)
    return path
