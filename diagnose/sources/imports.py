"""Which other tool's configuration `profiles import` reads, and the options that tool's reader takes."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from airflow_doctor.errors import ProfileError
from airflow_doctor.sources.store import ForeignProfile

SOURCES = ("airflowctl", "astro")


def reader(source: str, env_name: str | None, inspect_file: Path | None) -> Callable[[], ForeignProfile]:
    """The reader for `source`; options that belong to the other source are refused rather than ignored."""
    if source == "airflowctl":
        if inspect_file is not None:
            raise ProfileError("--inspect is for 'profiles import astro'; airflowctl takes --env.")
        from airflow_doctor.sources import airflowctl

        return lambda: airflowctl.read(env_name)
    if source == "astro":
        if env_name is not None:
            raise ProfileError("--env is for 'profiles import airflowctl'; astro takes --inspect.")
        from airflow_doctor.sources import astro

        return lambda: astro.read(inspect_file)
    raise ProfileError(f"there is no importer for '{source}'; choose one of {', '.join(SOURCES)}.")
