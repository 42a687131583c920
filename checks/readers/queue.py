"""Why an accepted run would sit in 'queued' (or its tasks would not start), read from the server now.

Airflow accepts a trigger whatever the scheduler will do with the run, so the reasons a run waits are
only visible elsewhere: the health endpoint (scheduler status, its last heartbeat against the server's
own `Date`), the DAG's active runs against its max_active_runs, its running task instances against its
max_active_tasks, and the open slots of the pools its tasks use. Each reason found is a `Blocker`; an
answer the identity may not read (403) is no evidence and adds none.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from airflow_doctor.checks.readers.clock import server_clock
from airflow_doctor.checks.base import ApiFlavour, CheckContext, json_object
from airflow_doctor.model import FindingCode
from airflow_doctor.probe import TransportError

RUNS_LISTED = 100
RECENT_HEARTBEAT_S = 120
"""A scheduler reported unhealthy whose last heartbeat is younger than this stopped moments ago or is restarting:
Airflow marks a scheduler that exits as ended, so health says 'unhealthy' at once (3.3.2: 3 s after its last
heartbeat when stopped; 2.10.5: 15 s after, while its supervisor restarted it)."""


class Code(FindingCode):
    """Why a run waits: the code of a finding whose first cause is this blocker (paused, test-trigger)."""

    NO_SCHEDULER = "no-live-scheduler", "health reports no live scheduler: a queued run never starts"
    SCHEDULER_RESTARTING = "scheduler-just-stopped", ("the scheduler heartbeated moments ago but is not alive: it "
                                                       "stopped or is restarting")
    RUN_SLOTS_FULL = "max-active-runs-reached", "the DAG already has max_active_runs runs active: a new run waits"
    TASK_SLOTS_FULL = "max-active-tasks-reached", "max_active_tasks of the DAG are running or queued: tasks wait"
    POOL_FULL = "pool-slots-full", "a pool a task of the DAG uses has fewer open slots than the task needs"


@dataclass(frozen=True)
class Blocker:
    """One reason a new run would not start now."""

    cause: str
    explanation: str
    fix: str
    commands: tuple[str, ...] = ()
    never_starts: bool = False
    """True: nothing starts it until someone acts (no scheduler). False: it waits for something to finish."""
    code: FindingCode = field(kw_only=True)
    """The finding code of a wait whose first cause this is."""


UI_QUEUES_TOO = ("The UI's Trigger is accepted exactly like this request (Airflow 2 flashes \"Triggered …, it should "
                 "start any moment now\", Airflow 3 shows \"Dag Run Triggered\"), and its run waits in 'queued' for "
                 "the same reason: the UI only appears to work because the trigger itself is accepted.")


def blockers(ctx: CheckContext, dag_id: str, *, own_run: str | None = None) -> list[Blocker]:
    """Every reason found now; `own_run` (a run the doctor created) is not counted against itself. Before a trigger
    (no `own_run`), what earlier checks read moments ago is not asked again: a healthy scheduler, and the DAG's active
    run count where its details gave one (no active run: no running task either)."""
    before_trigger = own_run is None
    known_active = ctx.facts.dag.active_runs if before_trigger and ctx.facts.dag is not None else None
    found = [scheduler_blocker(ctx, reread=not before_trigger), run_slots_blocker(ctx, dag_id, own_run, known_active),
             None if known_active == 0 else task_slots_blocker(ctx, dag_id, own_run)]
    return [b for b in found if b is not None] + pool_blockers(ctx, dag_id)


def _get(ctx: CheckContext, path: str, params: dict[str, Any] | None = None, auth: bool = True):  # type: ignore[no-untyped-def]
    facts = ctx.facts
    try:
        return ctx.probe.get(path, params=params,
                             auth=facts.credentials.auth() if auth and facts.credentials is not None else None)
    except TransportError:
        return None


def health_path(ctx: CheckContext) -> str:
    return "/api/v2/monitor/health" if ctx.facts.api is ApiFlavour.V2 else "/api/v1/health"


def scheduler_blocker(ctx: CheckContext, reread: bool = True) -> Blocker | None:
    if not reread and ctx.facts.health.get("scheduler") == "healthy":
        return None
    response = _get(ctx, health_path(ctx), auth=False)
    body = json_object(response) if response is not None and response.status == 200 else None
    scheduler = body.get("scheduler") if body else None
    if not isinstance(scheduler, dict):
        return None
    status = scheduler.get("status")
    if status == "healthy":
        return None
    beat = _instant(scheduler.get("latest_scheduler_heartbeat"))
    now = server_clock(response)
    age = (now - beat).total_seconds() if beat is not None and now is not None else None
    if beat is None:
        last = "no scheduler has ever sent a heartbeat"
    elif age is not None:
        last = f"its last heartbeat was {age:.0f} s before the server's clock (Date header)"
    else:
        last = f"its last heartbeat was at {beat.isoformat()}"
    if age is not None and age < RECENT_HEARTBEAT_S:
        return Blocker(
            f"the scheduler reports {status or 'no status'} ({last})",
            "A scheduler heartbeated moments ago but is not reported alive: Airflow reports a scheduler that "
            "stopped (and recorded its end) as unhealthy at once, so it stopped moments ago or is restarting. A new "
            "run waits until a scheduler runs again.",
            "If it does not come back within a minute, start it on the Airflow host, and look in its log for why it "
            "stopped:", ("airflow scheduler",), code=Code.SCHEDULER_RESTARTING)
    return Blocker(
        f"no live scheduler (health: scheduler {status or 'unknown'}; {last})",
        "Airflow accepts the trigger and queues the run, but only a running scheduler starts queued runs; "
        "without one the run sits in 'queued' with no error anywhere.",
        "Start the scheduler on the Airflow host (or find why it stopped, in its log); queued runs then start by "
        "themselves.", ("airflow scheduler",), never_starts=True, code=Code.NO_SCHEDULER)


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _dag_path(ctx: CheckContext, dag_id: str, rest: str = "") -> str:
    return ctx.facts.api_path(f"/dags/{quote(dag_id, safe='')}{rest}")


def active_runs(ctx: CheckContext, dag_id: str, own_run: str | None = None) -> list[tuple[str, str]] | None:
    """(run id, state) of the DAG's running and queued runs, or None when the server would not say."""
    response = _get(ctx, _dag_path(ctx, dag_id, "/dagRuns"),
                    params={"state": ["running", "queued"], "limit": RUNS_LISTED})
    body = json_object(response) if response is not None and response.status == 200 else None
    runs = body.get("dag_runs") if body else None
    if not isinstance(runs, list):
        return None
    return [(str(r.get("dag_run_id")), str(r.get("state"))) for r in runs
            if isinstance(r, dict) and r.get("dag_run_id") != own_run]


def run_slots_blocker(ctx: CheckContext, dag_id: str, own_run: str | None = None,
                      known_active: int | None = None) -> Blocker | None:
    dag = ctx.facts.dag
    limit = dag.max_active_runs if dag is not None else None
    if limit and known_active is not None and known_active < limit:
        return None
    runs = active_runs(ctx, dag_id, own_run) if limit else None
    if not runs or limit is None or len(runs) < limit:
        return None
    running = [r for r, state in runs if state == "running"]
    queued = [r for r, state in runs if state == "queued"]
    named = ", ".join(running[:3] + queued[:3])
    return Blocker(
        f"max_active_runs reached: {len(runs)} run(s) already active ({len(running)} running, {len(queued)} queued: "
        f"{named}), max_active_runs is {limit}",
        f"Airflow starts at most max_active_runs ({limit}) runs of this DAG at a time; a new run waits in 'queued' "
        "until an active one finishes.",
        "Wait for the active runs to finish, mark a stuck one failed (in the UI, or PATCH its dagRuns/{run_id} with "
        "{\"state\": \"failed\"}), or raise max_active_runs on the DAG.", code=Code.RUN_SLOTS_FULL)


def task_slots_blocker(ctx: CheckContext, dag_id: str, own_run: str | None = None) -> Blocker | None:
    dag = ctx.facts.dag
    limit = dag.raw.get("max_active_tasks") if dag is not None else None
    if not isinstance(limit, int) or limit <= 0:
        return None
    response = _get(ctx, _dag_path(ctx, dag_id, "/dagRuns/~/taskInstances"),
                    params={"state": ["running", "queued"], "limit": 1})
    body = json_object(response) if response is not None and response.status == 200 else None
    active = body.get("total_entries") if body else None
    if not isinstance(active, int) or active < limit:
        return None
    return Blocker(
        f"max_active_tasks reached: {active} task(s) of this DAG running or queued, max_active_tasks is {limit}",
        f"Airflow runs at most max_active_tasks ({limit}) tasks of this DAG at once, across all its runs: a new "
        "run's tasks wait until running ones finish.",
        "Wait for the running tasks, or raise max_active_tasks on the DAG.", code=Code.TASK_SLOTS_FULL)


def pool_blockers(ctx: CheckContext, dag_id: str) -> list[Blocker]:
    needed = pools_needed(ctx, dag_id)
    found = []
    for pool, (slots, task_id) in sorted(needed.items()):
        response = _get(ctx, ctx.facts.api_path(f"/pools/{quote(pool, safe='')}"))
        body = json_object(response) if response is not None and response.status == 200 else None
        open_slots = body.get("open_slots") if body else None
        if not isinstance(open_slots, (int, float)) or open_slots >= slots:
            continue
        size = body.get("slots") if body else None
        in_use = {k: body.get(k) for k in ("running_slots", "queued_slots") if isinstance(body.get(k), int)}
        use = ", ".join(f"{v} {k.split('_')[0]}" for k, v in in_use.items())
        found.append(Blocker(
            f"pool {pool!r} has {open_slots:g} open slot(s) of {size} ({use}); task {task_id!r} needs {slots:g}",
            f"A task runs only when its pool has a free slot; {task_id!r} is in pool {pool!r}, so the run starts "
            "but its task waits in 'scheduled' until a slot frees up.",
            "Give the pool more slots (Admin → Pools in the UI), or wait for the tasks that hold them:",
            (f"airflow pools set {_shell_word(pool)} {(size if isinstance(size, int) and size > 0 else 0) + math.ceil(slots)} "
             f"{_shell_word(str(body.get('description') or pool))}",), code=Code.POOL_FULL))
    return found


def pools_needed(ctx: CheckContext, dag_id: str) -> dict[str, tuple[float, str]]:
    """Pool name -> (most slots one task needs, that task), from the DAG's tasks."""
    response = _get(ctx, _dag_path(ctx, dag_id, "/tasks"))
    body = json_object(response) if response is not None and response.status == 200 else None
    needed: dict[str, tuple[float, str]] = {}
    for task in (body.get("tasks") if body else None) or []:
        if not isinstance(task, dict) or not isinstance(task.get("pool"), str):
            continue
        slots = task.get("pool_slots") if isinstance(task.get("pool_slots"), (int, float)) else 1
        if slots > needed.get(task["pool"], (0, ""))[0]:
            needed[task["pool"]] = (slots, str(task.get("task_id")))
    return needed


def _shell_word(text: str) -> str:
    return shlex.quote(text)
