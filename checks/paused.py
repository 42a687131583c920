"""paused: will a triggered run actually start?

A paused DAG accepts the trigger (200, state 'queued') and the run then waits forever: nothing fails,
nothing runs. The UI's trigger form unpauses the DAG by default ("Unpause DAG when triggered" in
Airflow 2, "Unpause on trigger" in Airflow 3), which is why the same DAG "works" from the UI. A run
also waits when the DAG already has max_active_runs runs going, or when no scheduler is alive.
"""

from __future__ import annotations

from urllib.parse import quote

from airflow_doctor.checks.base import CheckContext, Fact, Uses, json_object
from airflow_doctor.model import Finding, Fix, Status


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
        assert dag is not None and facts.credentials is not None
        path = facts.api_path(f"/dags/{quote(dag.dag_id, safe='')}")
        if dag.is_paused:
            return Finding(
                Status.FAIL, f"{dag.dag_id!r} is paused: a trigger is accepted (200, 'queued') and the run never starts",
                explanation="Airflow accepts runs for a paused DAG and queues them, but the scheduler does not start "
                            "runs of paused DAGs, so the run sits in 'queued' with no error anywhere. The UI's trigger "
                            "form has 'Unpause DAG when triggered' (Airflow 3: 'Unpause on trigger') ticked by default, "
                            "so triggering from the UI silently unpauses the DAG. New DAGs start paused "
                            "([core] dags_are_paused_at_creation = True) unless the DAG sets is_paused_upon_creation.",
                fix=Fix("Unpause the DAG once (airflow-doctor never changes it for you):",
                        (f"airflow dags unpause {dag.dag_id}",
                         f"curl -X PATCH \"$AIRFLOW_URL{path}\" -H 'Content-Type: application/json' "
                         f"-d '{{\"is_paused\": false}}' <your auth>")))
        waits = []
        running = dag.active_runs if dag.active_runs is not None else _running_runs(ctx, dag.dag_id)
        if dag.max_active_runs and running is not None and running >= dag.max_active_runs:
            waits.append((f"{running} run(s) already active, max_active_runs is {dag.max_active_runs}",
                          "A new run waits in 'queued' until one of the active runs finishes.",
                          "Wait for the active runs, raise max_active_runs on the DAG, or fail stuck runs."))
        if facts.health and facts.health.get("scheduler") != "healthy":
            waits.append(("no healthy scheduler", "The run is accepted but nothing schedules it until a scheduler "
                          "runs.", "Start the scheduler (airflow scheduler)."))
        slots = f"{running} of {dag.max_active_runs} run slots in use" if running is not None and dag.max_active_runs else None
        if waits:
            return Finding(Status.WARN, f"{dag.dag_id!r} is not paused, but a new run would wait: "
                                        + "; ".join(w[0] for w in waits),
                           explanation=" ".join(w[1] for w in waits), fix=Fix(" ".join(w[2] for w in waits)))
        return Finding(Status.PASS, f"{dag.dag_id!r} is not paused" + (f"; {slots}" if slots else ""))


def _running_runs(ctx: CheckContext, dag_id: str) -> int | None:
    """When the DAG details carry no active-run count (Airflow 2, older 3.x): count running runs (one request)."""
    facts = ctx.facts
    assert facts.credentials is not None
    response = ctx.probe.get(facts.api_path(f"/dags/{quote(dag_id, safe='')}/dagRuns"),
                             params={"state": "running", "limit": 1}, auth=facts.credentials.auth())
    body = json_object(response)
    total = body.get("total_entries") if body else None
    return total if isinstance(total, int) else None
