"""Writing the profiles file (init, profiles add/import/remove/use): references only, never a secret value.

Every write is atomic (a reader sees the old file or the new one) and keeps the file's mode; a new file is made
0600. PyYAML cannot keep comments: a rewrite that would drop them first keeps the previous file as `<name>.bak`
and says so. `profiles use` edits the one `default_profile:` line in place, so it keeps comments.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from airflow_doctor.errors import ProfileError
from airflow_doctor.sources.profiles_file import ProfilesFile, find_profiles_file, read_profiles_file


@dataclass(frozen=True)
class Saved:
    path: Path
    replaced: bool
    backup: Path | None
    """The previous file, kept when rewriting it would drop its comments."""


@dataclass(frozen=True)
class ForeignProfile:
    """A profile read from another tool's configuration (airflowctl, astro), ready to save."""

    name: str
    body: dict[str, Any]
    read_from: tuple[Path, ...]
    notes: tuple[str, ...] = ()
    """What the user still has to do (export the token), said once after saving."""


def _existing(path: Path, chosen_by: str, name: str, action: str) -> tuple[ProfilesFile, str]:
    pf = read_profiles_file(path, chosen_by)
    if pf.single:
        raise ProfileError(f"{path} holds a single profile, not a profiles file; pass --profiles-file with "
                           f"another path to {action} '{name}'.")
    return pf, path.read_text(encoding="utf-8")


def _write(path: Path, chosen_by: str, text: str, had_comments: bool) -> Path | None:
    """Replace the file atomically (its mode kept; a new one 0600); back up a commented file first. The backup."""
    from airflow_doctor.report import write_atomic

    backup = None
    created = not path.exists()
    if had_comments:
        backup = path.with_name(path.name + ".bak")
        shutil.copy2(path, backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    if created:
        path.chmod(0o600)
    read_profiles_file(path, chosen_by)
    return backup


def _dump(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def save_profile(name: str, body: dict[str, Any], profiles_file: str | None,
                 env: Mapping[str, str] = os.environ) -> Saved:
    """Add or replace profile `name` in the profiles file (created, with this profile as default, if missing)."""
    import yaml

    path, chosen_by = find_profiles_file(profiles_file, env)
    data: dict[str, Any] = {"version": 1, "default_profile": name, "profiles": {}}
    text = ""
    if path.exists():
        _, text = _existing(path, chosen_by, name, "save")
        data = yaml.safe_load(text)
    replaced = name in data["profiles"]
    data["profiles"][name] = body
    backup = _write(path, chosen_by, _dump(data), "#" in text)
    return Saved(path, replaced, backup)


def _require(pf: ProfilesFile, name: str) -> None:
    if name in pf.names:
        return
    close = difflib.get_close_matches(name, pf.names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else "."
    raise ProfileError(f"There is no profile '{name}' in {pf.path} (it has: {', '.join(pf.names)}){hint}")


def remove_profile(name: str, profiles_file: str | None, env: Mapping[str, str] = os.environ) -> Saved:
    """Remove profile `name`; a default_profile that named it is removed too (the next `check` asks which)."""
    import yaml

    path, chosen_by = find_profiles_file(profiles_file, env)
    pf, text = _existing(path, chosen_by, name, "remove")
    _require(pf, name)
    if pf.names == (name,):
        raise ProfileError(f"'{name}' is the only profile in {path}; a profiles file needs one, so delete the file "
                           f"itself if you want none.")
    data = yaml.safe_load(text)
    del data["profiles"][_key_of(data["profiles"], name)]
    if pf.default_profile == name:
        data.pop("default_profile", None)
    backup = _write(path, chosen_by, _dump(data), "#" in text)
    return Saved(path, True, backup)


def _key_of(profiles: dict[Any, Any], name: str) -> Any:
    """The YAML key as loaded (a profile named 2024 is the int 2024 to PyYAML)."""
    return next(key for key in profiles if str(key) == name)


_DEFAULT_LINE = re.compile(r"^default_profile[ \t]*:.*$", re.MULTILINE)
_PROFILES_LINE = re.compile(r"^profiles[ \t]*:", re.MULTILINE)
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def _yaml_scalar(name: str) -> str:
    return name if _PLAIN_NAME.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def _with_default_line(text: str, name: str) -> str | None:
    """The text with its top-level default_profile line set to `name` (comments kept); None if it has no such line
    nor a top-level `profiles:` line to put one before."""
    line = f"default_profile: {_yaml_scalar(name)}"
    if len(_DEFAULT_LINE.findall(text)) == 1:
        return _DEFAULT_LINE.sub(lambda _: line, text)
    if not _DEFAULT_LINE.search(text) and len(_PROFILES_LINE.findall(text)) == 1:
        return _PROFILES_LINE.sub(lambda m: f"{line}\n{m.group(0)}", text)
    return None


def use_profile(name: str, profiles_file: str | None, env: Mapping[str, str] = os.environ) -> Saved:
    """Make `name` the default_profile. The one line is edited in place when that gives exactly the intended file;
    otherwise the file is rewritten (with a backup if it had comments)."""
    import yaml

    path, chosen_by = find_profiles_file(profiles_file, env)
    pf, text = _existing(path, chosen_by, name, "use")
    _require(pf, name)
    intended = yaml.safe_load(text)
    intended["default_profile"] = _key_of(intended["profiles"], name)
    edited = _with_default_line(text, name)
    if edited is not None and _same_data(edited, intended):
        return Saved(path, pf.default_profile is not None, _write(path, chosen_by, edited, False))
    return Saved(path, pf.default_profile is not None, _write(path, chosen_by, _dump(intended), "#" in text))


def _same_data(text: str, intended: dict[str, Any]) -> bool:
    import yaml

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(loaded, dict) and str(loaded.get("default_profile")) == str(intended["default_profile"]) \
        and {**loaded, "default_profile": None} == {**intended, "default_profile": None}


def profiles_listing(profiles_file: str | None, env: Mapping[str, str] = os.environ) -> str:
    """`profiles list --format json`: the file, how it was chosen, and each profile's name (secrets never read)."""
    from airflow_doctor.sources.profiles_file import load_all

    pf = load_all(profiles_file, env)
    data = {"schema_version": 1, "path": str(pf.path), "chosen_by": pf.chosen_by,
            "default_profile": pf.default_profile,
            "profiles": [{"name": name, "default": name == pf.default_profile} for name in pf.names]}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def import_profile(read: Callable[[], ForeignProfile], name: str | None, profiles_file: str | None,
                   env: Mapping[str, str] = os.environ) -> tuple[ForeignProfile, Saved]:
    """Save what another tool's configuration describes, under `name` or the name it suggests."""
    foreign = read()
    return foreign, save_profile(name or foreign.name, foreign.body, profiles_file, env)


def secret_reference(answer: str) -> tuple[str, str]:
    """The auth key and value for where a secret lives: an environment variable name, or a file path."""
    answer = answer.strip()
    if answer.startswith(("$", "${")):
        answer = answer.strip("${}")
    if "/" in answer or answer.startswith("~") or answer.startswith("."):
        return "password_file", answer
    return "password", f"${{{answer}}}"
