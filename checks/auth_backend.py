"""auth-backend: which authentication does the API accept, and do the profile's credentials pass it?

This module is the check and its dispatch only. What each generation accepts and how its refusals read lives in
the readers: Airflow 2's Basic auth and browser session in readers/auth_airflow2.py, Airflow 3's token exchange
and Bearer JWT in readers/auth_airflow3.py, what both share in readers/auth_common.py; MWAA's IAM path in
platforms/mwaa/findings.py.
"""

from __future__ import annotations

from airflow_doctor.checks.base import ApiFlavour, CheckContext, Fact, Uses
from airflow_doctor.checks.readers.auth_airflow2 import airflow2
from airflow_doctor.checks.readers.auth_airflow3 import airflow3
from airflow_doctor.model import Finding
from airflow_doctor.platforms.mwaa import findings as mwaa


class Check:
    id = "auth-backend"
    title = "API authentication"
    requires = ("reachability",)
    uses = (Uses(Fact.API),)
    provides = (Fact.CREDENTIALS, Fact.TRIALS)
    needs = "the profile's auth; the API flavour from reachability"

    def run(self, ctx: CheckContext) -> Finding:
        if ctx.facts.mwaa is not None:
            return mwaa.authenticate(ctx)
        if ctx.facts.api is ApiFlavour.V2:
            return airflow3(ctx)
        return airflow2(ctx)
