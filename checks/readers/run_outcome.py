"""Why a followed test run failed, from what the server says about its first failed task.

A task that ran and failed: the error its log ends with (Airflow 3's structured events carry it as error_detail,
Airflow 2's text log as the traceback's last line), quoted in the summary, with the end of the log.

A task that failed with no start date never ran: the executor reported it failed while it was still queued, and
the scheduler recorded a 'state mismatch' event saying so. On Airflow 3 a worker's first act for a task is to tell
the API server, through the execution API at [core] execution_api_server_url, that the task starts; a worker that
cannot reach that URL fails every task this way and the task's own log stays empty (seen on 3.3.2: the
httpx.ConnectError is in the worker's log, which for the LocalExecutor is the scheduler's). The URL to set is
the API server's own, which the doctor reached, with /execution/.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from airflow_doctor.checks.base import ApiFlavour, CheckContext, json_object
from airflow_doctor.model import FindingCode, Fix
from airflow_doctor.probe import TransportError
from airflow_doctor.redact import redact_text

EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Timeout|Failure)): (.+)$")
"""The last line of a Python traceback in an Airflow 2 text log ('RuntimeError: boom')."""
MISMATCH = "state mismatch"
EXECUTION_PATH = "/execution/"


class Code(FindingCode):
    """How a followed run's first failed task failed."""

    NEVER_STARTED = "test-run-task-never-started", ("a task failed without ever starting: the executor reported it "
                                                    "failed while it was queued")
    EXECUTION_API_UNREACHED = "test-run-task-never-reached-execution-api", (
        "Airflow 3: a task failed without starting, the mark of a worker that cannot reach the execution API "
        "([core] execution_api_server_url)")


@dataclass(frozen=True)
class NeverStarted:
    """A failed task that never started, explained."""

    cause: str
    explanation: str
    fix: Fix
    code: FindingCode


def error_of(lines: list[str]) -> str | None:
    """The error a task's log ends with: the last exception line, whatever came after it."""
    for line in reversed(lines):
        match = EXCEPTION_LINE.match(line.strip())
        if match:
            return redact_text(f"{match.group(1)}: {match.group(2)}"[:300])
    return None


def never_started(task: dict[str, Any]) -> bool:
    """Failed with no start date: it never ran (a task that ran has one, even when it failed at once). Only an answer
    that says so counts: real servers always send the key, null when the task never started."""
    return task.get("state") == "failed" and "start_date" in task and task["start_date"] is None


def explain_never_started(ctx: CheckContext, run_id: str, task_id: str) -> NeverStarted:
    """What the scheduler recorded about the task, and (Airflow 3) where its workers must reach the API server."""
    recorded = mismatch_event(ctx, run_id, task_id)
    said = (f" The scheduler recorded: \"{recorded}\"" if recorded else "")
    if ctx.facts.api is not ApiFlavour.V2:
        return NeverStarted(
            f"task {task_id!r} failed without ever starting (no start date, no host)",
            "The executor reported the task failed while it was still queued: the worker never started it." + said
            + " Look in the worker's log (for the LocalExecutor, the scheduler's) for the error at that time.",
            Fix("Read the worker's log at the time of the run; the cause is on the worker, not in the trigger."),
            Code.NEVER_STARTED)
    url = ctx.facts.base_url.rstrip("/") + EXECUTION_PATH
    return NeverStarted(
        f"task {task_id!r} failed without ever starting (no start date, no host): its worker most likely could not "
        "reach the execution API ([core] execution_api_server_url)",
        "The executor reported the task failed while it was still queued." + said + " On Airflow 3 a worker's first "
        "act for a task is to call the API server's execution API ([core] execution_api_server_url, by default "
        "http://localhost:8080/execution/ unless [api] base_url is set) to mark it running; a worker that cannot reach "
        "it (or that the API server refuses: [api_auth] jwt_secret differing between them) fails the task before "
        "it starts, and the task's log stays empty. The error is in the worker's log (the LocalExecutor's: the "
        f"scheduler's), e.g. httpx.ConnectError from task_instances.start. An Airflow 3 api-server serves the "
        f"execution API under its own URL (unless started with --apps core): for the one airflow-doctor reached, "
        f"{url}, the URL the workers need if they can reach this host.",
        Fix("Point the scheduler and every worker at the API server's execution API (the same jwt_secret on all of "
            "them), restart them, and check from a worker host that the URL answers:",
            (f"export AIRFLOW__CORE__EXECUTION_API_SERVER_URL={shlex.quote(url)}",
             f"curl -sS {shlex.quote(url + 'health')}")),
        Code.EXECUTION_API_UNREACHED)


def mismatch_event(ctx: CheckContext, run_id: str, task_id: str) -> str | None:
    """The scheduler's 'state mismatch' event log entry for the task (its own words), or None."""
    facts = ctx.facts
    assert facts.dag is not None and facts.credentials is not None
    try:
        response = ctx.probe.get(facts.api_path("/eventLogs"), auth=facts.credentials.auth(),
                                 params={"dag_id": facts.dag.dag_id, "run_id": run_id, "task_id": task_id,
                                         "event": MISMATCH, "limit": 5})
    except TransportError:
        return None
    body = json_object(response) if response.status == 200 else None
    for entry in (body.get("event_logs") if body else None) or []:
        if isinstance(entry, dict) and entry.get("event") == MISMATCH and isinstance(entry.get("extra"), str):
            return redact_text(entry["extra"].split(" Learn more:")[0][:400])
    return None
