"""Every finding code of the project: the members of the `Code(FindingCode)` tables that the modules building
findings declare next to their evidence.

The tables live in the checks and their readers, the platforms, and the few modules of the pipeline that conclude
something themselves (explain, failures). This module imports them all, so it sits above both: nothing imports it
but the tests and the tool that writes the codes into report.schema.json (tests/finding_codes.py).
"""

from __future__ import annotations

import importlib
import pkgutil

from airflow_doctor.model import FindingCode

TABLE_PACKAGES = ("airflow_doctor.checks", "airflow_doctor.platforms")
"""Every module in these packages is imported: a table added to any of them is found without being listed."""
TABLE_MODULES = ("airflow_doctor.explain", "airflow_doctor.failures")
"""The pipeline's modules that build findings of their own."""


def table_modules() -> list[str]:
    """The names of the modules that may declare a table, each imported."""
    names = list(TABLE_MODULES)
    for package_name in TABLE_PACKAGES:
        package = importlib.import_module(package_name)
        names += [package_name, *(m.name for m in pkgutil.walk_packages(package.__path__, f"{package_name}."))]
    for name in names:
        importlib.import_module(name)
    return names


def code_tables() -> list[type[FindingCode]]:
    """Every table of the project's modules (not one a test declares), in the order of its module's name."""
    modules = set(table_modules())
    found: list[type[FindingCode]] = []
    pending = list(FindingCode.__subclasses__())
    while pending:
        table = pending.pop()
        if table.__module__ in modules:
            found.append(table)
        pending += table.__subclasses__()
    return sorted(found, key=lambda table: (table.__module__, table.__qualname__))


def finding_codes() -> list[FindingCode]:
    """Every code of the project, table by table."""
    return [code for table in code_tables() for code in table]
