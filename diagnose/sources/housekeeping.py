"""What `profiles remove / use / import` do and say: the CLI only prints these lines (stdout, then stderr)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Said:
    out: tuple[str, ...]
    err: tuple[str, ...] = ()


def _backup_note(backup: Path | None) -> tuple[str, ...]:
    if backup is None:
        return ()
    return (f"the file had comments, which a rewrite cannot keep: the previous file is {backup}",)


def remove(name: str, profiles_file: str | None) -> Said:
    from airflow_doctor.sources.store import remove_profile

    saved = remove_profile(name, profiles_file)
    return Said((f"Removed profile '{name}' from {saved.path}.",), _backup_note(saved.backup))


def use(name: str, profiles_file: str | None) -> Said:
    from airflow_doctor.sources.store import use_profile

    saved = use_profile(name, profiles_file)
    return Said((f"Default profile is now '{name}' ({saved.path}).",), _backup_note(saved.backup))


def import_from(source: str, name: str | None, env_name: str | None, inspect_file: Path | None,
                profiles_file: str | None) -> Said:
    from airflow_doctor.sources.imports import reader
    from airflow_doctor.sources.store import import_profile

    foreign, saved = import_profile(reader(source, env_name, inspect_file), name, profiles_file)
    chosen = name or foreign.name
    lines = [f"{'Updated' if saved.replaced else 'Saved'} profile '{chosen}' in {saved.path} "
             f"(read from {', '.join(map(str, foreign.read_from))}).",
             *(f"Note: {note}" for note in foreign.notes),
             f"Try:   airflow-doctor check --profile {chosen}" + (f" --profiles-file {profiles_file}" if profiles_file else "")]
    return Said(tuple(lines), _backup_note(saved.backup))
