"""Astronomer: what a refused API token means on a deployment, next to the evidence that selects it.

Astro deployments are served under a sub-path of the organisation's host (https://<org>.astronomer.run/<deployment>)
and take Deployment, Workspace or Organization API tokens as 'Authorization: Bearer' on /api/v1 or, for Airflow 3
deployments, /api/v2 (no /auth/token). Astro Private Cloud / Software take the key alone in Authorization.
What Astronomer's front answers for a token of another deployment is not documented publicly: a refusal that is
not in Airflow's shape is reported as the front's, with what the server said.
"""

from __future__ import annotations

from airflow_doctor.checks.readers.credentials import Scheme, Trial
from airflow_doctor.checks.readers.front import airflows_own, front_label
from airflow_doctor.checks.base import CheckContext, Platform, error_detail
from airflow_doctor.model import Finding, FindingCode, Fix, Status
from airflow_doctor.secrets import Secret

DOCS = "https://www.astronomer.io/docs/astro/airflow-api"
TOKENS_DOCS = "https://www.astronomer.io/docs/astro/deployment-api-tokens"
WHY_UI_WORKS = ("The browser is logged in to Astro as a person whose workspace role covers this deployment; the "
                "script authenticates only with its API token, which carries its own scope and role.")


class Code(FindingCode):
    TOKEN_REFUSED = "astronomer-token-refused", "Astronomer's front refused the API token before Airflow saw it"
    TOKEN_ROLE = "astronomer-token-role", "Airflow accepted the API token but its role does not allow the request"


def token_refused(ctx: CheckContext, token: Secret, trial: Trial) -> Finding | None:
    """A token refused on an Astronomer deployment: by the platform's front (wrong deployment, expired, deleted), or
    by Airflow itself for the role the token maps to."""
    if ctx.facts.platform is not Platform.ASTRONOMER or trial.response is None:
        return None
    response = trial.response
    bare = trial.credentials.scheme is Scheme.KEY
    if not airflows_own(response):
        front = front_label(response)
        return Finding(
            Status.FAIL, f"Astronomer refused the API token before Airflow saw it ({trial.status}, {front}: "
                         f"{error_detail(response, 80)})",
            explanation="The deployment's front checks API tokens itself: a token of another deployment or "
                        "workspace, an expired or deleted token, or a Workspace token with no role on this "
                        "deployment's workspace is turned away there. Astronomer does not document the exact answer; "
                        "this is what it said."
                        + (" The key was sent alone in Authorization (scheme none), as Astro Private Cloud / Software "
                           "expect; Astro (astronomer.run) expects 'Bearer <token>'." if bare else ""),
            fix=Fix("Create a Deployment API token for this deployment (or give the Workspace/Organization token a "
                    "role on it) and send it as 'Authorization: Bearer':",
                    ("astro deployment token create --name airflow-api --deployment-id DEPLOYMENT_ID",), TOKENS_DOCS),
            why_ui_works=WHY_UI_WORKS, code=Code.TOKEN_REFUSED)
    if trial.status == 403:
        return role_cannot(ctx, "read DAGs")
    return None


def role_cannot(ctx: CheckContext, what: str) -> Finding:
    """Airflow's own 403 for the identity the token maps to: the token's role does not allow it."""
    return Finding(
        Status.FAIL, f"Airflow accepted the API token but its role may not {what} (403)",
        explanation="Astronomer maps each API token to an Airflow identity with the token's role. Deployment API "
                    "tokens act as Workspace Operator for their deployment; Workspace and Organization tokens act with "
                    "the role they were given, and Organization tokens may hold DAG-level roles: a DAG Viewer reads "
                    "but cannot trigger.",
        fix=Fix("Give the token a role that may trigger (Workspace Operator or above, or a DAG role that can "
                "trigger this DAG), or use a Deployment API token of this deployment.", (), TOKENS_DOCS),
        why_ui_works=WHY_UI_WORKS, code=Code.TOKEN_ROLE)
