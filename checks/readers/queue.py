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
from enum import Enum
from typing import Any
from urllib.parse import quote

from airflow_doctor.checks.readers.clock import server_clock
from airflow_doctor.checks.base import ApiFlavour, CheckContext, error_detail, json_object
from airflow_doctor.model import FindingCode
from airflow_doctor.probe import ProbeResponse, TransportError

RUNS_LISTED = 100
POOLS_LISTED = 100
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


class Hold(Enum):
    """What a blocker proves about a new run, strongest first. The first two fail: the run itself does not start."""

    NEVER = "never starts"
    """Nothing starts it until someone acts (no scheduler; a pool smaller than its task needs)."""
    QUEUED = "waits in 'queued'"
    """It waits behind runs that are active now, named (max_active_runs reached)."""
    TASKS = "its tasks wait"
    """The run starts; its tasks wait for slots that others hold now (max_active_tasks, a full pool)."""
    MAYBE = "may wait"
    """A condition that may clear by itself in moments (a scheduler that stopped seconds ago or is restarting)."""

    @property
    def fails(self) -> bool:
        return self in (Hold.NEVER, Hold.QUEUED)


@dataclass(frozen=True)
class Blocker:
    """One reason a new run would not start now."""

    cause: str
    explanation: str
    fix: str
    commands: tuple[str, ...] = ()
    hold: Hold = Hold.TASKS
    code: FindingCode = field(kw_only=True)
    """The finding code of a wait whose first cause this is."""

    @property
    def never_starts(self) -> bool:
        return self.hold is Hold.NEVER


@dataclass
class Reading:
    """What the server said about a new run's chances: the blockers found, and what it would not say."""

    found: list[Blocker] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    """Reads the server answered with something other than the data ('the pool 'x': 403 (...)'): no evidence either
    way, so a verdict next to them is never a plain pass."""

    def ranked(self) -> list[Blocker]:
        """Failing holds first (a run that does not start outranks tasks that wait), each group in the order a run
        meets them: scheduler, run slots, task slots, pools. The first is the headline's cause."""
        return sorted(self.found, key=lambda b: not b.hold.fails)


UI_QUEUES_TOO = ("The UI's Trigger is accepted exactly like this request (Airflow 2 flashes \"Triggered …, it should "
                 "start any moment now\", Airflow 3 shows \"Dag Run Triggered\"), and its run waits in 'queued' for "
                 "the same reason: the UI only appears to work because the trigger itself is accepted.")


def blockers(ctx: CheckContext, dag_id: str, *, own_run: str | None = None,
             health: ProbeResponse | None = None) -> Reading:
    """Every reason found now; `own_run` (a run the doctor created) is not counted against itself. Before a trigger
    (no `own_run`), what earlier checks read moments ago is not asked again: a healthy scheduler, and the DAG's active
    runs where its details counted fewer than max_active_runs. No active run means no running task of this DAG, so
    the task instances are then not asked for either. `health`: the health endpoint's answer, when the caller has
    just read it."""
    reading = Reading()
    dag = ctx.facts.dag
    limit = dag.max_active_runs if dag is not None else None
    known = dag.active_runs if own_run is None and dag is not None else None
    runs = (active_runs(ctx, dag_id, own_run, reading.unread)
            if limit and (known is None or known >= limit) else None)
    active = len(runs) if runs is not None else known
    found = [scheduler_blocker(ctx, reread=own_run is not None, health=health), run_slots(runs, limit),
             None if active == 0 else task_slots_blocker(ctx, dag_id, own_run, unread=reading.unread)]
    reading.found = [b for b in found if b is not None] + pool_blockers(ctx, dag_id, unread=reading.unread)
    return reading


def _get(ctx: CheckContext, path: str, params: dict[str, Any] | None = None, auth: bool = True):  # type: ignore[no-untyped-def]
    facts = ctx.facts
    try:
        return ctx.probe.get(path, params=params,
                             auth=facts.credentials.auth() if auth and facts.credentials is not None else None)
    except TransportError:
        return None


def _read(ctx: CheckContext, path: str, what: str, unread: list[str] | None,
          params: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The JSON object the server answered with, or None; a refusal is noted in `unread` with its words."""
    response = _get(ctx, path, params)
    body = json_object(response) if response is not None and response.status == 200 else None
    if body is None and unread is not None:
        unread.append(f"{what}: " + ("no answer" if response is None else
                                     f"{response.status} ({error_detail(response, 120)})"))
    return body


def health_path(ctx: CheckContext) -> str:
    return "/api/v2/monitor/health" if ctx.facts.api is ApiFlavour.V2 else "/api/v1/health"


def scheduler_blocker(ctx: CheckContext, reread: bool = True, health: ProbeResponse | None = None) -> Blocker | None:
    if not reread and ctx.facts.health.get("scheduler") == "healthy":
        return None
    response = health or _get(ctx, health_path(ctx), auth=False)
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
            "stopped:", ("airflow scheduler",), hold=Hold.MAYBE, code=Code.SCHEDULER_RESTARTING)
    return Blocker(
        f"no live scheduler (health: scheduler {status or 'unknown'}; {last})",
        "Airflow accepts the trigger and queues the run, but only a running scheduler starts queued runs; "
        "without one the run sits in 'queued' with no error anywhere.",
        "Start the scheduler on the Airflow host (or find why it stopped, in its log); queued runs then start by "
        "themselves.", ("airflow scheduler",), hold=Hold.NEVER, code=Code.NO_SCHEDULER)


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _dag_path(ctx: CheckContext, dag_id: str, rest: str = "") -> str:
    return ctx.facts.api_path(f"/dags/{quote(dag_id, safe='')}{rest}")


def active_runs(ctx: CheckContext, dag_id: str, own_run: str | None = None,
                unread: list[str] | None = None) -> list[tuple[str, str]] | None:
    """(run id, state) of the DAG's running and queued runs, or None when the server would not say."""
    body = _read(ctx, _dag_path(ctx, dag_id, "/dagRuns"), "the DAG's active runs", unread,
                 params={"state": ["running", "queued"], "limit": RUNS_LISTED})
    runs = body.get("dag_runs") if body else None
    if not isinstance(runs, list):
        return None
    return [(str(r.get("dag_run_id")), str(r.get("state"))) for r in runs
            if isinstance(r, dict) and r.get("dag_run_id") != own_run]


def run_slots_blocker(ctx: CheckContext, dag_id: str, own_run: str | None = None,
                      known_active: int | None = None) -> Blocker | None:
    """max_active_runs against the active runs (read unless `known_active` says there are fewer)."""
    dag = ctx.facts.dag
    limit = dag.max_active_runs if dag is not None else None
    if not limit or (known_active is not None and known_active < limit):
        return None
    return run_slots(active_runs(ctx, dag_id, own_run), limit)


def run_slots(runs: list[tuple[str, str]] | None, limit: int | None) -> Blocker | None:
    """A proven wait: the runs holding every slot are named, so a new run stays 'queued' until one of them ends."""
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
        "{\"state\": \"failed\"}), or raise max_active_runs on the DAG.", hold=Hold.QUEUED, code=Code.RUN_SLOTS_FULL)


def task_slots_blocker(ctx: CheckContext, dag_id: str, own_run: str | None = None, *,
                       unread: list[str] | None = None) -> Blocker | None:
    dag = ctx.facts.dag
    limit = dag.raw.get("max_active_tasks") if dag is not None else None
    if not isinstance(limit, int) or limit <= 0:
        return None
    body = _read(ctx, _dag_path(ctx, dag_id, "/dagRuns/~/taskInstances"), "the DAG's running tasks", unread,
                 params={"state": ["running", "queued"], "limit": 1})
    active = body.get("total_entries") if body else None
    if not isinstance(active, int) or active < limit:
        return None
    return Blocker(
        f"max_active_tasks reached: {active} task(s) of this DAG running or queued, max_active_tasks is {limit}",
        f"Airflow runs at most max_active_tasks ({limit}) tasks of this DAG at once, across all its runs: a new "
        "run's tasks wait until running ones finish.",
        "Wait for the running tasks, or raise max_active_tasks on the DAG.", code=Code.TASK_SLOTS_FULL)


def pool_blockers(ctx: CheckContext, dag_id: str, *, unread: list[str] | None = None) -> list[Blocker]:
    """A pool whose open slots are fewer than a task of the DAG needs. One pool is read by name; several in one list
    (each read costs a password hash on Airflow 2)."""
    needed = pools_needed(ctx, dag_id, unread)
    pools = read_pools(ctx, sorted(needed), unread)
    found = []
    for pool, (slots, task_id) in sorted(needed.items()):
        body = pools.get(pool)
        open_slots = body.get("open_slots") if body else None
        if not isinstance(open_slots, (int, float)) or open_slots >= slots:
            continue
        assert body is not None
        size = body.get("slots")
        in_use = {k: body.get(k) for k in ("running_slots", "queued_slots") if isinstance(body.get(k), int)}
        use = ", ".join(f"{v} {k.split('_')[0]}" for k, v in in_use.items())
        too_small = isinstance(size, (int, float)) and 0 <= size < slots
        found.append(Blocker(
            f"pool {pool!r} has {open_slots:g} open slot(s) of {size} ({use}); task {task_id!r} needs {slots:g}",
            f"A task runs only when its pool has a free slot; {task_id!r} is in pool {pool!r}, so the run starts "
            + ("but its task stays in 'scheduled' for good: the pool has fewer slots in all than it needs." if too_small
               else "but its task waits in 'scheduled' until a slot frees up."),
            "Give the pool more slots (Admin → Pools in the UI)" + ("" if too_small else ", or wait for the tasks that "
                                                                       "hold them") + ":",
            (f"airflow pools set {_shell_word(pool)} {(size if isinstance(size, int) and size > 0 else 0) + math.ceil(slots)} "
             f"{_shell_word(str(body.get('description') or pool))}",),
            hold=Hold.NEVER if too_small else Hold.TASKS, code=Code.POOL_FULL))
    return found


def read_pools(ctx: CheckContext, names: list[str], unread: list[str] | None) -> dict[str, dict[str, Any]]:
    """Pool name -> its answer: one read by name for one pool, one list for several (a name the list lacks is then
    read by name, so a pool is never judged from a partial page)."""
    pools: dict[str, dict[str, Any]] = {}
    if len(names) > 1:
        listed = _read(ctx, ctx.facts.api_path("/pools"), "the pools", None, params={"limit": POOLS_LISTED})
        for pool in (listed.get("pools") if listed else None) or []:
            if isinstance(pool, dict) and pool.get("name") in names:
                pools[str(pool["name"])] = pool
    for name in names:
        if name not in pools:
            body = _read(ctx, ctx.facts.api_path(f"/pools/{quote(name, safe='')}"), f"the pool {name!r}", unread)
            if body is not None:
                pools[name] = body
    return pools


def pools_needed(ctx: CheckContext, dag_id: str, unread: list[str] | None = None) -> dict[str, tuple[float, str]]:
    """Pool name -> (most slots one task needs, that task), from the DAG's tasks."""
    body = _read(ctx, _dag_path(ctx, dag_id, "/tasks"), "the DAG's tasks (for their pools)", unread)
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
