"""permissions: may this identity trigger this DAG? Answered without creating a run, like `kubectl auth can-i`.

Neither Airflow version tells a non-admin what it may do, so the check sends the real trigger request
with a body that the server rejects *after* its authorization check and before anything is written:

- Airflow 2: connexion validates the body against the schema before authorization, so the body must
  be schema-valid; conflicting `logical_date` and `execution_date` are rejected later (400 "logical_date
  conflicts with execution_date"), which proves the caller passed authorization.
- Airflow 3: FastAPI runs the authorization dependency before it validates the body, so `conf` that is
  not an object answers 422 `dict_type` only to a caller that may trigger.

A 403 to either means the identity may not trigger this DAG. With FAB, a trigger needs 'can edit' on the DAG
and 'can create' on DAG Runs; a second probe (a PATCH of the DAG rejected after authorization) tells which
one is missing, so a role with DAG-level access only (a DAG's access_control) is named as lacking the second.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from airflow_doctor.platforms.mwaa import findings as mwaa
from airflow_doctor.checks.base import ApiFlavour, CheckContext, Fact, Uses, error_detail, json_object
from airflow_doctor.probe import ProbeResponse, TransportError
from airflow_doctor.model import Finding, FindingCode, Fix, Status

V1_PROBE = {"logical_date": "2000-01-01T00:00:00+00:00", "execution_date": "2000-01-02T00:00:00+00:00"}
V2_PROBE = {"logical_date": None, "conf": "airflow-doctor-probe"}
EDIT_PROBE_MASK = "airflow_doctor_probe"
EDIT_PROBE_V2 = {"is_paused": "airflow-doctor-probe"}


class Code(FindingCode):
    """What the permission probe's answer says about this identity and this DAG."""

    SKIPPED_NO_DAG = "permissions-skipped-no-dag", "no DAG to ask about (the profile has no dag_id)"
    MAY_TRIGGER = "may-trigger", "the probe was rejected after Airflow's authorization check: this identity may trigger"
    PROBE_ACCEPTED = "permission-probe-accepted", "a body Airflow rejects was accepted: a run may exist"
    PROBE_UNEXPECTED = "permission-probe-unexpected-answer", "neither a rejection after authorization nor 403"
    VIEWER_ROLE = "simple-auth-manager-viewer", "403 from Airflow 3's simple auth manager to role 'viewer'"
    FAB_PERMISSIONS_MISSING = "fab-trigger-permissions-missing", ("403: FAB's two permissions a trigger needs are not "
                                                                  "both granted")
    DAG_RUN_CREATE_MISSING = "fab-dag-run-create-missing", "403; the DAG is editable, 'can create' on DAG Runs missing"


class Check:
    id = "permissions"
    title = "May trigger this DAG"
    requires = ("dag-exists",)
    uses = (Uses(Fact.API), Uses(Fact.CREDENTIALS), Uses(Fact.DAG))
    provides = ()
    needs = "the API from reachability; working credentials from auth-backend; the DAG from dag-exists"

    def run(self, ctx: CheckContext) -> Finding:
        facts = ctx.facts
        if facts.dag is None:
            return Finding(Status.SKIP, "skipped: the profile has no dag_id, so there is no DAG to ask about",
                           code=Code.SKIPPED_NO_DAG)
        assert facts.credentials is not None
        body = V2_PROBE if facts.api is ApiFlavour.V2 else V1_PROBE
        response = ctx.probe.post(facts.api_path(f"/dags/{quote(facts.dag.dag_id, safe='')}/dagRuns"), json=body,
                                  auth=facts.credentials.auth())
        refused = mwaa.service_refusal(ctx, response)
        if refused is not None:
            return refused
        who = facts.identity or "this identity"
        if passed_authorization(response.status, json_object(response), facts.api):
            role = f" (role {facts.role})" if facts.role else ""
            return Finding(Status.PASS, f"{who}{role} may trigger {facts.dag.dag_id!r}",
                           details=(f"probe: POST {json.dumps(body)} answered {response.status} ({error_detail(response, 100)}); "
                                    "rejected after authorization, so no run was created",), code=Code.MAY_TRIGGER)
        if response.status == 403:
            return mwaa.lower_role(ctx, response) or forbidden(ctx)
        if 200 <= response.status < 300:
            return Finding(Status.FAIL, f"the permission probe was accepted ({response.status}): a run may have been created",
                           explanation="This server accepted a body that Airflow rejects. Something between this "
                                       "machine and Airflow rewrites requests, or this Airflow version validates "
                                       "differently. Look at the DAG's runs and delete the one named in the evidence.",
                           why_ui_works=UNEXPECTED_ANSWER, code=Code.PROBE_ACCEPTED)
        return Finding(Status.FAIL, f"the trigger endpoint answered {response.status} ({error_detail(response, 160)})",
                       explanation="The permission probe was neither accepted past authorization nor refused with "
                                   "403; the evidence shows what the server said instead.",
                       why_ui_works=UNEXPECTED_ANSWER, code=Code.PROBE_UNEXPECTED)


def passed_authorization(status: int, body: dict[str, Any] | None, api: ApiFlavour | None) -> bool:
    if api is ApiFlavour.V2:
        errors = body.get("detail") if body else None
        return status == 422 and isinstance(errors, list) and any(
            isinstance(e, dict) and e.get("type") == "dict_type" and list(e.get("loc", []))[-1:] == ["conf"] for e in errors)
    return status == 400 and bool(body) and "conflicts with execution_date" in str(body.get("title", ""))


def forbidden(ctx: CheckContext) -> Finding:
    from airflow_doctor.checks.base import Platform

    facts = ctx.facts
    assert facts.dag is not None
    if facts.platform is Platform.COMPOSER and facts.credentials is not None and facts.credentials.scheme.value == "google":
        from airflow_doctor.platforms.composer.findings import principal_without_role

        return principal_without_role(facts.identity or "the ADC principal", composer_user(login_name(ctx)),
                                      dag_id=facts.dag.dag_id)
    if facts.platform is Platform.ASTRONOMER:
        from airflow_doctor.platforms.astronomer import role_cannot

        return role_cannot(ctx, f"trigger {facts.dag.dag_id!r}")
    if facts.api is ApiFlavour.V2 and facts.role:
        return viewer_in_simple_auth_manager(ctx, facts.dag.dag_id)
    return missing_fab_permissions(ctx, facts.dag.dag_id)


def composer_user(identity: str | None) -> str | None:
    return identity if identity and identity.startswith("accounts.google.com:") else None


def login_name(ctx: CheckContext) -> str | None:
    """The name the user logs in with: what CLI commands and configuration take (the identity shown may be
    'admin (user id 2)')."""
    credentials = ctx.facts.credentials
    return (credentials.username if credentials and credentials.username else None) or ctx.profile.auth.username


def viewer_in_simple_auth_manager(ctx: CheckContext, dag_id: str) -> Finding:
    facts = ctx.facts
    who = facts.identity or "this identity"
    name = login_name(ctx) or "<the user's name>"
    return Finding(
        Status.FAIL, f"{who} (role {facts.role}) may not trigger {dag_id!r} (403)",
        explanation="Airflow 3's simple auth manager lets role 'viewer' read DAGs but not trigger them; "
                    "triggering needs role 'user', 'op' or 'admin'.",
        fix=Fix(f"In [core] simple_auth_manager_users, change this user's entry to {name}:user and restart the "
                "api-server. The setting is the whole list of users: keep every other entry exactly as it is (an "
                "entry left out is a user who can no longer log in). Passwords are not in this setting and do not "
                "change. The entry, as configuration:", (f"{name}:user",)),
        why_ui_works=WHY_UI_WORKS_FORBIDDEN, code=Code.VIEWER_ROLE)


def missing_fab_permissions(ctx: CheckContext, dag_id: str) -> Finding:
    who = ctx.facts.identity or "this identity"
    name = login_name(ctx)
    edit = edit_probe(ctx, dag_id)
    if edit is not None and edit.allowed:
        return lacks_dag_run_create(ctx, dag_id, edit)
    edit_refused = (f" A PATCH of the DAG, which Airflow would reject only after its authorization check, was refused "
                    f"with 403 as well, so 'can edit' on DAG:{dag_id} is missing at least." if edit is not None else "")
    cache = CACHE_NOTE if ctx.facts.api is ApiFlavour.V2 else ""
    return Finding(
        Status.FAIL, f"{who} may not trigger {dag_id!r} (403)",
        explanation="Triggering needs two permissions together: 'can edit' on DAG:" + dag_id + " (or on all DAGs) "
                    "and 'can create' on DAG Run:" + dag_id + " (or on all DAG Runs). The built-in Viewer role has "
                    "neither. Reading the DAG (which this identity can) is not enough." + edit_refused,
        fix=Fix(dag_scoped_grant_text(dag_id, name) + cache, dag_scoped_grant(dag_id, name), DOCS_FAB_ACCESS),
        why_ui_works=WHY_UI_WORKS_FORBIDDEN, code=Code.FAB_PERMISSIONS_MISSING)


DOCS_FAB_ACCESS = "https://airflow.apache.org/docs/apache-airflow-providers-fab/stable/auth-manager/access-control.html"
CACHE_NOTE = (" Airflow 3 with FAB caches a user's permissions for [fab] cache_ttl seconds (30 by default): the "
              "trigger works once that time has passed.")


def trigger_role(dag_id: str) -> str:
    """The name of the role the grant creates: one per DAG, so granting it opens this DAG and nothing else."""
    return f"trigger_{dag_id}"


def dag_scoped_grant(dag_id: str, login: str | None) -> tuple[str, ...]:
    """FAB commands (Airflow 2, and Airflow 3 with the FAB auth manager; proven by `--help` in the integration
    tier) that give `login` exactly what a trigger of this one DAG needs: read and edit on DAG:<id>, create on
    DAG Run:<id>. A role scoped to the DAG, never a global role (User, Op) that opens every DAG."""
    role = trigger_role(dag_id)
    user = shlex.quote(login) if login else "<the user's login>"
    return (f"airflow roles create {shlex.quote(role)}",
            f"airflow roles add-perms {shlex.quote(role)} -r {shlex.quote('DAG:' + dag_id)} -a can_read can_edit",
            f"airflow roles add-perms {shlex.quote(role)} -r {shlex.quote('DAG Run:' + dag_id)} -a can_create",
            f"airflow users add-role -u {user} -r {shlex.quote(role)}")


def access_control_line(dag_id: str) -> str:
    """The same grant kept in the DAG file (FAB syncs it at every parse), for teams that manage access there."""
    return (f"access_control={{{trigger_role(dag_id)!r}: {{'DAGs': {{'can_read', 'can_edit'}}, "
            "'DAG Runs': {'can_create'}}}")


def dag_scoped_grant_text(dag_id: str, login: str | None) -> str:
    who = login or "the user this token belongs to"
    return (f"Give {who} a role scoped to {dag_id!r}, on the Airflow host: it grants 'can read' and 'can edit' on "
            f"DAG:{dag_id} and 'can create' on DAG Run:{dag_id}, nothing else (a global role such as User would "
            f"open every DAG and bypass the DAG's access_control). To keep it in the DAG file instead, add to "
            f"the DAG: {access_control_line(dag_id)} (the role must exist; the users add-role line still applies).")


@dataclass(frozen=True)
class EditProbe:
    """Whether this identity may edit the DAG (FAB's 'can edit' on DAGs or DAG:<id>), asked without changing it."""

    allowed: bool
    status: int
    said: str


def edit_probe(ctx: CheckContext, dag_id: str) -> EditProbe | None:
    """PATCH the DAG with what Airflow rejects after authorization and before writing: Airflow 2 an update_mask
    naming no field it updates (the body keeps is_paused as it is, should anything ignore the mask), Airflow 3 an
    is_paused that is not a boolean. 403 means no edit permission; 400/422 that the caller passed authorization."""
    facts = ctx.facts
    if facts.credentials is None:  # `airflow-doctor explain` judges a pasted answer offline: nothing to ask
        return None
    path = facts.api_path(f"/dags/{quote(dag_id, safe='')}")
    try:
        response = _send_edit_probe(ctx, path)
    except TransportError:
        return None
    if response is None:
        return None
    if facts.api is ApiFlavour.V2:
        body = json_object(response)
        errors = body.get("detail") if body else None
        passed = response.status == 422 and isinstance(errors, list) and any(
            isinstance(e, dict) and list(e.get("loc", []))[-1:] == ["is_paused"] for e in errors)
    else:
        passed = response.status == 400
    if not passed and response.status != 403:
        return None
    return EditProbe(passed, response.status, error_detail(response, 120))


def _send_edit_probe(ctx: CheckContext, path: str) -> ProbeResponse | None:
    facts = ctx.facts
    assert facts.credentials is not None
    if facts.api is ApiFlavour.V2:
        return ctx.probe.request("PATCH", path, json=EDIT_PROBE_V2, auth=facts.credentials.auth())
    if facts.dag is None or not isinstance(facts.dag.is_paused, bool):
        return None
    return ctx.probe.request("PATCH", path, params={"update_mask": EDIT_PROBE_MASK},
                             json={"is_paused": facts.dag.is_paused}, auth=facts.credentials.auth())


def lacks_dag_run_create(ctx: CheckContext, dag_id: str, edit: EditProbe) -> Finding:
    """DAG-level access (what a DAG's access_control grants) without the DAG Runs permission a trigger also needs."""
    facts = ctx.facts
    who = facts.identity or "this identity"
    name = login_name(ctx) or "this user"
    v2 = facts.api is ApiFlavour.V2
    cache = CACHE_NOTE if v2 else ""
    return Finding(
        Status.FAIL, f"{who} may edit {dag_id!r} but may not trigger it (403): missing 'can create on DAG Runs'",
        explanation=f"A trigger needs two permissions together: 'can edit' on DAG:{dag_id} (or on DAGs), which this "
                    f"identity has (a PATCH of the DAG that Airflow rejects only after its authorization check "
                    f"answered {edit.status}: {edit.said}), and 'can create' on DAG Run:{dag_id} (or on all DAG Runs), "
                    "which it lacks. DAG-level access, as a DAG's access_control grants it, covers the first only: "
                    "the DAG shows up as editable, so access looks granted, and the trigger is still refused.",
        fix=Fix(f"Grant the missing permission, for this DAG only, to the role that gives {name} access to "
                f"{dag_id!r} (the role named in the DAG's access_control; `airflow users list` shows a user's roles), "
                f"on the Airflow host, with ROLE set to that role's name. In the DAG file the same grant is "
                f"access_control={{'<that role>': {{'DAGs': {{'can_read', 'can_edit'}}, 'DAG Runs': {{'can_create'}}}}}}."
                f"{cache}",
                (f'airflow roles add-perms "$ROLE" -r {shlex.quote("DAG Run:" + dag_id)} -a can_create',),
                DOCS_FAB_ACCESS),
        why_ui_works=WHY_UI_REFUSES_TOO_V2 if v2 else WHY_UI_REFUSES_TOO_V1, code=Code.DAG_RUN_CREATE_MISSING)


WHY_UI_REFUSES_TOO_V1 = ("It does not, for this user: the UI checks the same two permissions. It lists the DAG and lets "
                         "its pause switch be used (DAG-level 'can edit'), which is why access looks granted, but its "
                         "Trigger DAG button is greyed out and the trigger page refuses it ('can create' on DAG Runs "
                         "is missing there too). A UI that triggers this DAG is logged in as another user.")
WHY_UI_REFUSES_TOO_V2 = ("It does not, for this user: the UI's Trigger sends this same API request and gets the same "
                         "403. A UI that triggers this DAG is logged in as another user.")
WHY_UI_WORKS_FORBIDDEN = ("A UI that can trigger this DAG is logged in as another user, or one with another role: "
                          "for this user the UI offers no working Trigger either.")
UNEXPECTED_ANSWER = ("The UI triggers through its own session; this answer is what the API gave this client, shown "
                     "in the evidence.")
