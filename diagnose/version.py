"""`--version` for support tickets, as `pip --version` does: the tool, where it runs from, Python, platform, extras.

On the cold path of `airflow-doctor --version`: standard library only, and the optional extras are found from
their installed metadata, never imported (boto3 alone takes longer to import than the whole answer should).
"""

from __future__ import annotations

import platform
from pathlib import Path

EXTRAS = (("aws", "boto3"), ("gcp", "google-auth"))
"""The optional extras (pyproject's [project.optional-dependencies]) and the distribution each one brings."""


def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution, read from its metadata (the package is not imported)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def extras_text() -> str:
    parts = []
    for extra, distribution in EXTRAS:
        found = installed_version(distribution)
        parts.append(f"[{extra}] {distribution} {found}" if found else f"[{extra}] not installed")
    return ", ".join(parts)


def version_text() -> str:
    """One line, e.g. `airflow-doctor 0.1.0 from /…/airflow_doctor (Python 3.11.9, Linux-6.1-x86_64; extras: …)`."""
    from airflow_doctor import __version__

    where = Path(__file__).resolve().parent
    python = f"{platform.python_implementation()} {platform.python_version()}"
    system = f"{platform.system()} {platform.release()} {platform.machine()}".strip()
    return f"airflow-doctor {__version__} from {where} ({python}, {system}; extras: {extras_text()})"

