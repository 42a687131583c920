"""paused: will a triggered run actually start?

A paused DAG accepts the trigger (200, state 'queued') and the run then waits forever: nothing fails,
nothing runs. The UI's trigger form unpauses the DAG by default ("Unpause DAG when triggered" in
Airflow 2, "Unpause on trigger" in Airflow 3), which is why the same DAG "works" from the UI. An
unpaused DAG's run also never starts without a live scheduler (fail), stays 'queued' behind the runs that hold
max_active_runs (fail: they are named, so the wait is proven), and its tasks wait while max_active_tasks or a pool
they use is full (warn): checks.readers.queue reads each from the server and ranks them by what they prove about
a new run. A read the server refused is said next to the verdict, which is then not a pass.
"""

from __future__ import annotations

import json
import shlex
from urllib.parse import quote

from airflow_doctor.checks.readers.credentials import Scheme
from airflow_doctor.checks.readers.queue import UI_QUEUES_TOO, Blocker, Hold, Reading, blockers
from airflow_doctor.checks.readers.queue import Code as QueueCode
from airflow_doctor.checks.base import CheckContext, Fact, Uses
from airflow_doctor.sources.profile import AuthType
from airflow_doctor.model import Finding, FindingCode, Fix, Status


class Code(FindingCode):
    """Whether a triggered run would start. A wait's code is its first blocker's (checks.readers.queue.Code)."""

    SKIPPED_NO_DAG = "paused-skipped-no-dag", "no DAG to look at (the profile has no dag_id)"
    RUNS_WILL_START = "runs-will-start", "not paused, and no scheduler, run, task or pool limit would hold a run"
    PAUSED = "dag-paused", "the DAG is paused: a trigger is accepted and its run stays queued"
    PARTLY_UNREAD = "runs-will-start-unverified", ("not paused and nothing found holding a run, but the server refused "
                                                   "some of the reads that would show one")


class Check:
    id = "paused"
    title = "Runs will start"
    requires = ("dag-exists",)
    uses = (Uses(Fact.API), Uses(Fact.HEALTH), Uses(Fact.CREDENTIALS), Uses(Fact.DAG))
    provides = ()
    needs = "the API and scheduler health from reachability; working credentials from auth-backend; the DAG from dag-exists"

    def run(self, ctx: CheckContext) -> Finding:
        facts = ctx.facts
        dag = facts.dag
        if dag is None:
            return Finding(Status.SKIP, "skipped: the profile has no dag_id, so there is no DAG to look at",
                           code=Code.SKIPPED_NO_DAG)
        assert facts.credentials is not None
        if dag.is_paused:
            return paused_finding(ctx, dag.dag_id)
        reading = blockers(ctx, dag.dag_id)
        if reading.found:
            return waiting_finding(dag.dag_id, reading)
        if reading.unread:
            return Finding(Status.WARN, f"{dag.dag_id!r} is not paused and nothing found would hold a new run, but the "
                                        "server refused what would show one: " + "; ".join(reading.unread),
                           explanation="A refused read is no evidence either way: a full pool or max_active_runs "
                                       "reached would go unseen with this identity. The trigger itself is not "
                                       "affected by these refusals.",
                           fix=Fix("Nothing to fix for the trigger; to see the whole picture, run airflow-doctor with "
                                   "an identity that may read runs, tasks and pools."),
                           code=Code.PARTLY_UNREAD)
        return Finding(Status.PASS, f"{dag.dag_id!r} is not paused; no scheduler, run, task or pool limit found that "
                                    "would hold a new run", code=Code.RUNS_WILL_START)


SCHEDULER_CODES = (QueueCode.NO_SCHEDULER, QueueCode.SCHEDULER_RESTARTING)


def opening(dag_id: str, first: Blocker) -> str:
    """The summary's first words, from the first cause: what it does to a new run."""
    if first.hold is Hold.NEVER:
        return (f"a triggered run of {dag_id!r} would start but its task would never run: " if first.code is
                QueueCode.POOL_FULL else f"a triggered run of {dag_id!r} would never start: ")
    if first.hold is Hold.QUEUED:
        return f"a triggered run of {dag_id!r} would wait in 'queued': "
    return f"{dag_id!r} is not paused, but a new run would wait: "


def waiting_finding(dag_id: str, reading: Reading) -> Finding:
    """A prediction from what the server says now, ranked by what each cause proves about a new run: one that never
    starts or waits behind named runs fails and leads, whatever warning came before it (a scheduler restarting);
    tasks waiting for slots warn. The code is the first cause's. A scheduler cause is the root of reachability's
    health warning."""
    found = reading.ranked()
    first = found[0]
    commands = tuple(c for b in found for c in b.commands)
    unread = [f"could not read {u}" for u in reading.unread]
    return Finding(Status.FAIL if first.hold.fails else Status.WARN, opening(dag_id, first) + "; ".join(b.cause for b in found),
                   explanation=" ".join(b.explanation for b in found), details=tuple(unread),
                   fix=Fix(" ".join(b.fix for b in found), commands), why_ui_works=UI_QUEUES_TOO,
                   explains=("reachability",) if first.code in SCHEDULER_CODES else (), code=first.code)


def paused_finding(ctx: CheckContext, dag_id: str) -> Finding:
    version = ctx.facts.airflow_version or "unknown"
    return Finding(
        Status.FAIL, f"{dag_id!r} is paused: Airflow {version} accepts a trigger of a paused DAG (200, state "
                     "'queued') and the run never starts",
        explanation="Airflow accepts runs for a paused DAG and queues them, but the scheduler does not start "
                    "runs of paused DAGs, so the run sits in 'queued' with no error anywhere. New DAGs start paused "
                    "([core] dags_are_paused_at_creation = True) unless the DAG sets is_paused_upon_creation.",
        fix=Fix("Unpause the DAG once (airflow-doctor never changes it for you), on the Airflow host or through the "
                "API with the secret in the environment as in the request that works:",
                (f"airflow dags unpause {shlex.quote(dag_id)}", unpause_curl(ctx, dag_id))),
        why_ui_works="The UI's trigger form has 'Unpause DAG when triggered' (Airflow 3: 'Unpause on trigger') "
                     "ticked by default, so a trigger from the UI unpauses the DAG first; the API never does.",
        code=Code.PAUSED)


def unpause_curl(ctx: CheckContext, dag_id: str) -> str:
    """PATCH .../dags/{id} {"is_paused": false}, runnable as printed with only the secret in the environment."""
    from airflow_doctor.checks.readers.working_request import PASSWORD_VAR, TOKEN_VAR

    facts = ctx.facts
    url = shlex.quote(facts.base_url + facts.api_path(f"/dags/{quote(dag_id, safe='')}"))
    credentials = facts.credentials
    user = shlex.quote((credentials.username if credentials else "") or ctx.profile.auth.username or "")
    lines = []
    if credentials is not None and credentials.scheme is Scheme.BEARER and ctx.profile.auth.type is AuthType.JWT:
        login = (f'import json, os; print(json.dumps({{"username": {json.dumps(ctx.profile.auth.username or "")}, '
                 f'"password": os.environ["{PASSWORD_VAR}"]}}))')
        lines.append(f"JWT=$(python3 -c {shlex.quote(login)} \\\n"
                     f"  | curl -sS -X POST {shlex.quote(facts.base_url + '/auth/token')} -H 'Content-Type: application/json' -d @- \\\n"
                     f"  | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"access_token\"])')")
        auth = '-H "Authorization: Bearer $JWT"'
    elif credentials is not None and credentials.scheme is Scheme.BEARER:
        auth = f'-H "Authorization: Bearer ${TOKEN_VAR}"'
    elif credentials is not None and credentials.scheme is Scheme.BASIC:
        auth = f'-u {user}:"${PASSWORD_VAR}"'
    else:
        auth = ""
    lines.append(f"curl -sS --fail-with-body -X PATCH {url} -H 'Content-Type: application/json' {auth} "
                 f"-d '{{\"is_paused\": false}}'".replace("  ", " "))
    return "\n".join(lines)
