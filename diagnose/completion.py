"""Shell completion of the values users type most: profile names and check ids.

typer's --install-completion / --show-completion install a script that calls the tool back with
_AIRFLOW_DOCTOR_COMPLETE set; these callbacks answer for one option or argument. They never fail and never print:
a broken or missing profiles file completes to nothing, and a shell prompt is no place for an error.
"""

from __future__ import annotations

import os

import typer


def profile_names(profiles_file: str | None, incomplete: str) -> list[str]:
    """The names in the profiles file (the one `--profiles-file` names, else the usual one) that start with
    `incomplete`."""
    from airflow_doctor.sources.profiles_file import load_all

    try:
        names = load_all(profiles_file, os.environ).names
    except Exception:  # a shell prompt is no place for a trace: an unreadable file completes to nothing
        return []
    return [name for name in names if name.startswith(incomplete)]


def complete_profile(ctx: typer.Context, incomplete: str) -> list[str]:
    return profile_names(ctx.params.get("profiles_file"), incomplete)


def complete_check_id(ctx: typer.Context, incomplete: str) -> list[str]:
    """Check ids not already given to --only / --skip on this command line."""
    from airflow_doctor.checks import CHECK_IDS

    given = {*(ctx.params.get("only") or ()), *(ctx.params.get("skip") or ())}
    return [check_id for check_id in CHECK_IDS if check_id.startswith(incomplete) and check_id not in given]
