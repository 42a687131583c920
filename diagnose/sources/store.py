"""Writing a profile into the profiles file (init, profiles add): references only, never a secret value."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from airflow_doctor.errors import ProfileError
from airflow_doctor.sources.profiles_file import find_profiles_file, read_profiles_file


@dataclass(frozen=True)
class Saved:
    path: Path
    replaced: bool
    backup: Path | None
    """The previous file, kept when rewriting it would drop its comments."""


def save_profile(name: str, body: dict[str, Any], profiles_file: str | None,
                 env: Mapping[str, str] = os.environ) -> Saved:
    """Add or replace profile `name` in the profiles file (created, with this profile as default, if missing)."""
    import yaml

    from airflow_doctor.report import write_atomic

    path, chosen_by = find_profiles_file(profiles_file, env)
    data: dict[str, Any] = {"version": 1, "default_profile": name, "profiles": {}}
    backup = None
    if path.exists():
        pf = read_profiles_file(path, chosen_by)
        if pf.single:
            raise ProfileError(f"{path} holds a single profile, not a profiles file; pass --profiles-file with "
                               f"another path to save '{name}'.")
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        if "#" in text:
            backup = path.with_name(path.name + ".bak")
            shutil.copy2(path, backup)
    replaced = name in data["profiles"]
    data["profiles"][name] = body
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False))
    path.chmod(0o600)
    read_profiles_file(path, chosen_by)
    return Saved(path, replaced, backup)


def secret_reference(answer: str) -> tuple[str, str]:
    """The auth key and value for where a secret lives: an environment variable name, or a file path."""
    answer = answer.strip()
    if answer.startswith(("$", "${")):
        answer = answer.strip("${}")
    if "/" in answer or answer.startswith("~") or answer.startswith("."):
        return "password_file", answer
    return "password", f"${{{answer}}}"
