"""test-trigger: a real run, created the way the user's script should create it, followed to its end.

Only with --trigger, and only after the prompt (or --yes). Sends the profile's payload (conf and note
kept, a run id that marks the run as the doctor's, the logical date left to the server so a test run
never collides with a real one), then follows the run. A run that stays queued is explained by what
holds it now, re-read (paused, no scheduler, max_active_runs/max_active_tasks, a full pool); a failed
run names its first failed task and quotes the error its log ends with (or, for a task that failed without ever
starting, what the scheduler recorded and, on Airflow 3, the execution API its worker must reach:
checks.readers.run_outcome). A run that never starts within --wait, held by a cause that fails paused (named runs
holding max_active_runs, no scheduler, a paused DAG), fails here too. --cleanup deletes that run, and only that
run. The DAG is never unpaused.
"""

from __future__ import annotations

import ast
import json
import shlex
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from airflow_doctor.platforms.mwaa import findings as mwaa
from airflow_doctor.checks.readers import run_outcome
from airflow_doctor.checks.readers.queue import (UI_QUEUES_TOO, Blocker, Hold, blockers, health_path,
                                                 pool_blockers, task_slots_blocker)
from airflow_doctor.checks.base import ApiFlavour, CheckContext, Fact, Uses, error_detail, json_object
from airflow_doctor.checks.paused import Code as PausedCode
from airflow_doctor.checks.readers.trigger_body import correct, schema_issues
from airflow_doctor.checks.readers.gateway import transport_finding
from airflow_doctor.failures import what_happened
from airflow_doctor.probe import Layer, ProbeResponse, TransportError
from airflow_doctor.model import Finding, FindingCode, Fix, Status
from airflow_doctor.redact import redact_json, redact_text

FINAL_STATES = ("success", "failed")
DOCTOR_NOTE = "Test run created by airflow-doctor"
LOG_LINES = 15
REFUSED_CLEANUP = ("cleanup: not permitted", "cleanup: deleting")
"""How cleanup() words a DELETE the server answered with a refusal."""
NEVER_SENT = (Layer.INVALID_URL, Layer.CLIENT_ENCODING, Layer.DNS, Layer.TCP_REFUSED, Layer.TCP_TIMEOUT, Layer.TLS)
"""Transport failures that happen before the request reaches the server: nothing can have been created."""
UI_REFUSED = ("The UI's trigger form builds the body itself (every param filled in, the run id and date left to the "
              "server) and sends it with the browser's session, which is why the same DAG triggers from there; the "
              "server's answer in the evidence names what it refused in this API request.")
UI_NO_ANSWER = ("The browser reaches the server its own way (its own connection, proxy settings and patience), which "
                "is why the UI works; this request got no answer, so the difference lies between this machine and the "
                "server, not in Airflow.")
UI_RUN_FAILED = ("Not the trigger: the UI's trigger creates the same kind of run, on the same workers. If a run "
                 "started from the UI succeeds, the difference is its conf (the UI's form fills in every param's "
                 "default) or when it ran.")


class Code(FindingCode):
    """How the test run went. A run that waits takes its first blocker's code (checks.readers.queue.Code, or
    paused's 'dag-paused'); a run found after an unanswered trigger keeps the code of how it went when that failed."""

    NOT_REQUESTED = "test-trigger-not-requested", "no --trigger: no run was created"
    DECLINED = "test-trigger-declined", "the prompt was declined: nothing was sent"
    REFUSED = "test-trigger-refused", "the real trigger was refused although the checks before it passed"
    CREATED_WITHOUT_ANSWER = "test-trigger-created-without-answer", "the trigger got no answer, yet the run was created"
    NOT_CREATED = "test-trigger-unanswered-not-created", "the trigger got no answer, and no run was created"
    UNKNOWN_WHETHER_CREATED = "test-trigger-unanswered-unknown", "the trigger got no answer, and the lookup failed too"
    NOT_FOLLOWED = "test-run-not-followed", "the run was created and not followed (--wait 0)"
    SUCCEEDED = "test-run-succeeded", "the test run succeeded"
    FAILED = "test-run-failed", "the test run failed, and no failed task was reported"
    TASK_FAILED = "test-run-task-failed", "the test run failed: a task failed (its log is quoted)"
    STILL_RUNNING = "test-run-still-running", "the run started and did not finish within --wait"
    WAITING_NO_CAUSE = "test-run-waiting-no-cause", "the run did not start within --wait, and no cause is visible now"
    PROCESSOR_DOWN = "dag-processor-unhealthy", "Airflow 3's dag-processor is not healthy while the run waits"
    CLEANUP_REFUSED = "test-run-cleanup-refused", "the test run went well, but the server refused to delete it"
    TASKS_UNREAD = "test-run-failed-tasks-unread", "the test run failed, and the server refused to list its tasks"


@dataclass
class TestRun:
    run_id: str
    state: str
    logical_date: str | None
    url: str


class Check:
    id = "test-trigger"
    title = "Test trigger (creates a real run)"
    requires = ("permissions",)
    uses = (Uses(Fact.API), Uses(Fact.HEALTH), Uses(Fact.CREDENTIALS), Uses(Fact.DAG))
    provides = ()
    changes_server = True
    """It creates a real run: never on a fix the runner only assumed (the runner skips it then)."""
    needs = ("--trigger; the API and health from reachability; working credentials from auth-backend; the DAG from "
             "dag-exists; the permission from permissions")

    def run(self, ctx: CheckContext) -> Finding:
        if ctx.trigger is None:
            return Finding(Status.SKIP, "skipped: not requested (--trigger creates a real DAG run)",
                           code=Code.NOT_REQUESTED)
        facts = ctx.facts
        assert facts.dag is not None and facts.credentials is not None and facts.api is not None
        v2 = facts.api is ApiFlavour.V2
        payload = ctx.profile.payload if isinstance(ctx.profile.payload, dict) else {}
        problems = schema_issues(payload, v2, facts.airflow_version or "")
        body = mwaa.fit_run_id(ctx, trigger_body(payload, v2, facts.airflow_version or ""))
        path = facts.api_path(f"/dags/{quote(facts.dag.dag_id, safe='')}/dagRuns")
        plan = (f"POST {facts.base_url}{path}\n{json.dumps(redact_json(body), ensure_ascii=False)}\n"
                f"This creates a real run of {facts.dag.dag_id!r}"
                + (" (the DAG is paused: the run will stay queued)" if facts.dag.is_paused else "") + ".")
        if not ctx.trigger.confirm(plan):
            return Finding(Status.SKIP, "skipped: declined at the prompt; nothing was sent", code=Code.DECLINED)

        corrected = ([f"sent the corrected payload ({len(problems)} problem(s) in the profile's payload: see "
                      "payload-schema)"] if problems else [])
        try:
            response = ctx.probe.post(path, json=body, auth=facts.credentials.auth())
        except TransportError as failure:
            if failure.layer in NEVER_SENT:
                raise
            return unanswered_trigger(ctx, str(body["dag_run_id"]), failure, corrected)
        created = json_object(response)
        if response.status not in (200, 201) or created is None:
            return Finding(Status.FAIL, f"the trigger was refused: {response.status} ({error_detail(response, 200)})",
                           explanation="The checks before this one passed, yet the real trigger failed; the evidence "
                                       "holds the server's answer.", why_ui_works=UI_REFUSED, code=Code.REFUSED)
        return follow_and_clean_up(ctx, described_run(ctx, created), corrected)


def described_run(ctx: CheckContext, answer: dict[str, Any]) -> TestRun:
    """The run as the server described it (the trigger's answer, or a lookup by its run id)."""
    facts = ctx.facts
    assert facts.dag is not None
    run_id = str(answer.get("dag_run_id"))
    return TestRun(run_id, str(answer.get("state")), answer.get("logical_date"),
                   ui_link(facts.base_url, facts.dag.dag_id, run_id, facts.api is ApiFlavour.V2))


def follow_and_clean_up(ctx: CheckContext, run: TestRun, notes: list[str]) -> Finding:
    """Follow the created run to its end (or --wait), then delete it if --cleanup asked."""
    assert ctx.trigger is not None
    details = [f"run id: {run.run_id}", f"logical date: {run.logical_date or 'none (Airflow 3 run_after: now)'}",
               f"in the UI: {run.url}", *notes]
    finding = follow(ctx, run, details)
    if ctx.trigger.cleanup:
        details.append(cleanup(ctx, run))
        if finding.status is Status.PASS and details[-1].startswith(REFUSED_CLEANUP):
            return Finding(Status.WARN, f"{finding.summary}, but the server refused to delete it (--cleanup)",
                           "The test run is still there: " + details[-1].removeprefix("cleanup: ") + ".",
                           Fix(f"Delete it in the UI: {run.url}"), tuple(details), code=Code.CLEANUP_REFUSED)
    return Finding(finding.status, finding.summary, finding.explanation, finding.fix, tuple(details),
                   why_ui_works=finding.why_ui_works, code=finding.code)


def unanswered_trigger(ctx: CheckContext, run_id: str, failure: TransportError, notes: list[str]) -> Finding:
    """A trigger that got no answer may still have created the run: look it up by its run id before judging."""
    assert ctx.facts.credentials is not None
    try:
        lookup = ctx.probe.get(run_path(ctx, run_id), auth=ctx.facts.credentials.auth())
    except TransportError as lookup_failure:
        return _unknown_whether_created(ctx, run_id, failure, what_happened(lookup_failure), notes)
    found = json_object(lookup)
    if lookup.status == 200 and found is not None:
        return _created_without_answer(ctx, described_run(ctx, {**found, "dag_run_id": run_id}), failure, notes)
    if lookup.status == 404:
        return _not_created(ctx, run_id, failure, notes)
    return _unknown_whether_created(ctx, run_id, failure, f"the lookup answered {lookup.status} "
                                    f"({error_detail(lookup, 100)})", notes)


def _created_without_answer(ctx: CheckContext, run: TestRun, failure: TransportError, notes: list[str]) -> Finding:
    outcome = follow_and_clean_up(ctx, run, ["the trigger got no answer; the run was found by its run id", *notes])
    explanation = (f"{failure.message}. The server created the run all the same: a lookup by its run id found it. A "
                   "script that takes this for a failure and triggers again creates a second run. Give the trigger "
                   "call a longer timeout, and after a timeout look the run up by the dag_run_id it sent before "
                   "retrying, as airflow-doctor did here.")
    fix = outcome.fix if outcome.status is Status.FAIL else Fix(
        "Send your own dag_run_id with each trigger; after a timeout, GET that run before triggering again:",
        (f"GET {ctx.facts.base_url}{run_path(ctx, run.run_id)}",))
    return Finding(Status.FAIL if outcome.status is Status.FAIL else Status.WARN,
                   f"{what_happened(failure)}, yet the run {run.run_id} was created; {outcome.summary}",
                   "\n\n".join(e for e in (explanation, outcome.explanation) if e), fix, outcome.details,
                   why_ui_works=outcome.why_ui_works or UI_NO_ANSWER,
                   code=outcome.code if outcome.status is Status.FAIL else Code.CREATED_WITHOUT_ANSWER)


def _not_created(ctx: CheckContext, run_id: str, failure: TransportError, notes: list[str]) -> Finding:
    assert ctx.trigger is not None
    reported = transport_finding(failure, f"A lookup by its run id afterwards found no run {run_id}: nothing was "
                                          "created (unless the server is still creating it).")
    cleanup_note = ["cleanup: nothing to delete"] if ctx.trigger.cleanup else []
    return Finding(Status.FAIL, f"{reported.summary}; no run {run_id} was created", reported.explanation,
                   reported.fix, (f"run id sent: {run_id}", *notes, *cleanup_note), why_ui_works=UI_NO_ANSWER,
                   code=Code.NOT_CREATED)


def _unknown_whether_created(ctx: CheckContext, run_id: str, failure: TransportError, lookup: str,
                             notes: list[str]) -> Finding:
    assert ctx.trigger is not None and ctx.facts.dag is not None
    run = TestRun(run_id, "unknown", None, ui_link(ctx.facts.base_url, ctx.facts.dag.dag_id, run_id,
                                                   ctx.facts.api is ApiFlavour.V2))
    cleanup_note = [cleanup(ctx, run)] if ctx.trigger.cleanup else []
    return Finding(Status.FAIL, f"{what_happened(failure)}; whether the run {run_id} was created is unknown "
                                f"(looking it up failed too: {lookup})",
                   explanation=f"{failure.message}. The request may have reached the server, so a run may exist.",
                   fix=Fix(f"Look for the run {run_id} in the UI and delete it if it is there: {run.url}"),
                   details=(f"run id sent: {run_id}", *notes, *cleanup_note), why_ui_works=UI_NO_ANSWER,
                   code=Code.UNKNOWN_WHETHER_CREATED)


def run_path(ctx: CheckContext, run_id: str) -> str:
    facts = ctx.facts
    assert facts.dag is not None
    return facts.api_path(f"/dags/{quote(facts.dag.dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}")


def trigger_body(payload: dict[str, Any], v2: bool, version: str) -> dict[str, Any]:
    """The user's payload as the version expects it, marked as the doctor's, dated by the server."""
    body = correct(payload, v2, version)
    for key in ("logical_date", "execution_date", "dag_run_id", "data_interval_start", "data_interval_end"):
        body.pop(key, None)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    body = {**({"logical_date": None} if v2 else {}), **body, "dag_run_id": f"airflow_doctor__{stamp}",
            "note": DOCTOR_NOTE}
    body.setdefault("conf", {})
    return body


def ui_link(base_url: str, dag_id: str, run_id: str, v2: bool) -> str:
    if v2:
        return f"{base_url}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    return f"{base_url}/dags/{quote(dag_id, safe='')}/grid?dag_run_id={quote(run_id, safe='')}"


def follow(ctx: CheckContext, run: TestRun, details: list[str]) -> Finding:
    facts, options = ctx.facts, ctx.trigger
    assert options is not None and facts.dag is not None and facts.credentials is not None
    started = time.monotonic()
    if options.wait <= 0:
        return Finding(Status.PASS, f"triggered run {run.run_id} (state {run.state}); not followed (--wait 0)",
                       code=Code.NOT_FOLLOWED)
    path = run_path(ctx, run.run_id)
    waits = options.poll_waits()
    while run.state not in FINAL_STATES and time.monotonic() - started < options.wait:
        options.progress(f"run {run.run_id}: {run.state} ({time.monotonic() - started:.0f} s)")
        time.sleep(next(waits))
        try:
            answer = json_object(ctx.probe.get(path, auth=facts.credentials.auth()))
        except TransportError:
            continue
        if answer and answer.get("state"):
            run.state = str(answer["state"])
    elapsed = time.monotonic() - started
    if run.state == "success":
        return Finding(Status.PASS, f"the test run {run.run_id} succeeded in {elapsed:.0f} s", code=Code.SUCCEEDED)
    if run.state == "failed":
        return failed_run(ctx, run, details)
    return waiting_run(ctx, run, elapsed)


def failed_run(ctx: CheckContext, run: TestRun, details: list[str]) -> Finding:
    """The first failed task, by what the server says about it: the error its log ends with, or, for a task that
    never started, why (checks.readers.run_outcome)."""
    facts = ctx.facts
    assert facts.dag is not None and facts.credentials is not None
    base = run_path(ctx, run.run_id)
    listed = ctx.probe.get(f"{base}/taskInstances", auth=facts.credentials.auth())
    if listed.status != 200:
        return Finding(Status.FAIL, f"the test run {run.run_id} failed; its tasks could not be listed: {listed.status} "
                                    f"({error_detail(listed, 150)})",
                       fix=Fix(f"Open the run in the UI to see which task failed and why: {run.url}"),
                       why_ui_works=UI_RUN_FAILED, code=Code.TASKS_UNREAD)
    body = json_object(listed) or {}
    failed = [t for t in body.get("task_instances", []) if isinstance(t, dict) and t.get("state") in ("failed", "upstream_failed")]
    failed.sort(key=lambda t: (t.get("state") != "failed", str(t.get("end_date") or "")))
    if not failed:
        return Finding(Status.FAIL, f"the test run {run.run_id} failed (no failed task was reported)",
                       fix=Fix(f"Open the run in the UI: {run.url}"), why_ui_works=UI_RUN_FAILED, code=Code.FAILED)
    task = failed[0]
    task_id, try_number = str(task.get("task_id")), int(task.get("try_number") or 1)
    log_url = f"{run.url}" + (f"&task_id={quote(task_id)}" if "?" in run.url else f"/tasks/{quote(task_id)}")
    details.append(f"task log: {log_url}")
    if run_outcome.never_started(task):
        why = run_outcome.explain_never_started(ctx, run.run_id, task_id)
        return Finding(Status.FAIL, f"the test run {run.run_id} failed: {why.cause}",
                       explanation="The trigger itself worked: the run was created and scheduled. " + why.explanation,
                       fix=why.fix, why_ui_works=UI_RUN_FAILED, code=why.code)
    lines = log_lines(ctx, f"{base}/taskInstances/{quote(task_id, safe='')}/logs/{try_number}")
    error = run_outcome.error_of(lines)
    excerpt = redact_text("\n".join(line[:300] for line in lines[-LOG_LINES:])) or None
    return Finding(
        Status.FAIL, f"the test run {run.run_id} failed: task {task_id!r} failed (try {try_number})"
                     + (f": {error}" if error else ""),
        explanation="The trigger itself worked: the run was created and scheduled. It failed while running, which is "
                    "about the task's execution context (environment variables, connections, variables, files, "
                    "permissions on the worker), not about how it was triggered. Compare with a run that "
                    "succeeded from the UI: the conf it received and the worker it ran on."
                    + (f"\n\nThe end of the task's log (redacted):\n{excerpt}" if excerpt else ""),
        fix=Fix(f"Fix the task for the error its log ends with{f' ({error})' if error else ''}, then trigger again; "
                f"the whole log: {log_url}"), why_ui_works=UI_RUN_FAILED, code=Code.TASK_FAILED)


def log_lines(ctx: CheckContext, path: str) -> list[str]:
    """A task log's non-empty lines (Airflow 3's structured events, Airflow 2's text); none when it cannot be read."""
    facts = ctx.facts
    assert facts.credentials is not None
    accept = "application/json" if facts.api is ApiFlavour.V2 else "text/plain"
    try:
        response = ctx.probe.get(path, auth=facts.credentials.auth(), headers={"Accept": accept})
    except TransportError:
        return []
    if response.status != 200:
        return []
    return [line for line in _log_lines(response.json(), response.text)
            if line.strip() and "::group::" not in line and "::endgroup::" not in line]


def _log_lines(parsed: Any, text: str) -> list[str]:
    if isinstance(parsed, dict) and isinstance(parsed.get("content"), list):
        lines = []
        for event in parsed["content"]:
            if not isinstance(event, dict):
                continue
            line = " ".join(str(event[k]) for k in ("timestamp", "level", "event") if event.get(k))
            for error in event.get("error_detail") or []:
                if isinstance(error, dict):
                    line += f"\n{error.get('exc_type')}: {error.get('exc_value')}"
            lines.extend(line.splitlines())
        return lines
    if isinstance(parsed, dict) and isinstance(parsed.get("content"), str):
        try:
            chunks = ast.literal_eval(parsed["content"])
            return [l for _, chunk in chunks for l in str(chunk).splitlines()]
        except (ValueError, SyntaxError, TypeError):
            return parsed["content"].splitlines()
    return text.splitlines()


def waiting_run(ctx: CheckContext, run: TestRun, elapsed: float) -> Finding:
    """A run that did not finish within --wait: what holds it, as the server says now (re-read, not predicted),
    ranked as paused ranks it. A run observed not starting, held by a cause that fails paused, fails."""
    facts = ctx.facts
    assert facts.dag is not None
    dag_id = facts.dag.dag_id
    if run.state == "running":
        unread: list[str] = []
        held = [b for b in (task_slots_blocker(ctx, dag_id, run.run_id, unread=unread),
                            *pool_blockers(ctx, dag_id, unread=unread)) if b]
        if held:
            return Finding(Status.WARN, f"the test run {run.run_id} is running after {elapsed:.0f} s, but its tasks "
                                        f"wait: {'; '.join(b.cause for b in held)}",
                           explanation="The trigger worked and the run started. " + " ".join(b.explanation for b in held),
                           fix=Fix(" ".join(b.fix for b in held), tuple(c for b in held for c in b.commands)),
                           details=tuple(f"could not read {u}" for u in unread),
                           why_ui_works=UI_QUEUES_TOO, code=held[0].code)
        return Finding(Status.WARN, f"the test run {run.run_id} is still running after {elapsed:.0f} s",
                       explanation="The trigger worked and the run started; it just did not finish within --wait.",
                       fix=Fix(f"Follow it in the UI ({run.url}) or run again with a longer --wait."),
                       details=tuple(f"could not read {u}" for u in unread), code=Code.STILL_RUNNING)
    health = _health(ctx)
    reading = blockers(ctx, dag_id, own_run=run.run_id, health=health.response)
    if _paused_now(ctx, dag_id):
        reading.found.insert(0, Blocker("the DAG is paused", "A paused DAG accepts runs but the scheduler does not "
                                        "start them; airflow-doctor never unpauses a DAG for you.",
                                        "Unpause the DAG; the queued run then starts.",
                                        (f"airflow dags unpause {shlex.quote(dag_id)}",), hold=Hold.NEVER,
                                        code=PausedCode.PAUSED))
    if facts.major and facts.major >= 3 and health.states.get("dag_processor") not in (None, "healthy"):
        reading.found.append(Blocker("no healthy dag-processor", "Without a dag-processor, changes to DAG files are "
                                     "not seen.", "Start the dag-processor.", ("airflow dag-processor",),
                                     hold=Hold.MAYBE, code=Code.PROCESSOR_DOWN))
    unread = tuple(f"could not read {u}" for u in reading.unread)
    if not reading.found:
        return Finding(
            Status.WARN, f"the test run {run.run_id} is still {run.state} after {elapsed:.0f} s: no cause visible now "
                         "(no paused DAG, stopped scheduler, or full run, task or pool limit found)",
            explanation="The trigger was accepted and no reason for the wait is visible through the API now: the "
                        "scheduler has not picked the run up yet (a busy or just-restarted scheduler).",
            fix=Fix(f"Follow it in the UI ({run.url}) or run again with a longer --wait."), details=unread,
            code=Code.WAITING_NO_CAUSE)
    held = reading.ranked()
    return Finding(
        Status.FAIL if held[0].hold.fails else Status.WARN,
        f"the test run {run.run_id} is still {run.state} after {elapsed:.0f} s: {held[0].cause}",
        explanation="The trigger was accepted, which is all an API client ever sees; the run then waits. Found now: "
                    + "; ".join(b.cause for b in held) + ". " + " ".join(b.explanation for b in held),
        fix=Fix("Remove the cause, then the queued run starts by itself: " + " ".join(b.fix for b in held),
                tuple(c for b in held for c in b.commands)), details=unread,
        why_ui_works=UI_QUEUES_TOO, code=held[0].code)


def _paused_now(ctx: CheckContext, dag_id: str) -> bool:
    """Whether the DAG is paused now (re-read); what dag-exists saw when the answer cannot be had."""
    facts = ctx.facts
    assert facts.credentials is not None and facts.dag is not None
    try:
        body = json_object(ctx.probe.get(facts.api_path(f"/dags/{quote(dag_id, safe='')}"), auth=facts.credentials.auth()))
    except TransportError:
        body = None
    paused = body.get("is_paused") if body else None
    return paused if isinstance(paused, bool) else bool(facts.dag.is_paused)


@dataclass
class Health:
    """The health endpoint's answer, read once for both the scheduler's blocker and the dag-processor."""

    response: ProbeResponse | None
    states: dict[str, str | None]


def _health(ctx: CheckContext) -> Health:
    try:
        response = ctx.probe.get(health_path(ctx))
    except TransportError:
        return Health(None, dict(ctx.facts.health))
    body = json_object(response) or {}
    return Health(response, {k: (v.get("status") if isinstance(v, dict) else None) for k, v in body.items()})


def scheduler_holds(api: ApiFlavour | None, state: str, paused: bool) -> bool:
    """Whether a scheduler may be working on a run in this state: any unfinished run of an unpaused DAG on Airflow 2,
    a running one on Airflow 3 (a queued run is not yet the scheduler's)."""
    if paused or state in FINAL_STATES:
        return False
    return api is ApiFlavour.V1 or state == "running"


def cleanup(ctx: CheckContext, run: TestRun) -> str:
    facts = ctx.facts
    assert facts.dag is not None and facts.credentials is not None
    path = run_path(ctx, run.run_id)
    if scheduler_holds(facts.api, run.state, bool(facts.dag.is_paused)):
        return (f"cleanup: left the test run {run.run_id} in place: it is still {run.state}, and a scheduler exits "
                "(Airflow 2, 3.1: StaleDataError) or the API refuses (3.2+: 409) when a run it is working on is "
                f"deleted; delete it once it has finished: curl -X DELETE \"$AIRFLOW_URL{path}\" <your auth>, or in "
                f"the UI ({run.url})")
    try:
        response = ctx.probe.request("DELETE", path, auth=facts.credentials.auth())
    except TransportError as failure:
        return f"cleanup: could not delete the test run ({failure.message})"
    if response.status in (200, 204):
        return f"cleanup: deleted the test run {run.run_id}"
    if response.status == 403:
        return f"cleanup: not permitted to delete runs (403); delete {run.run_id} in the UI"
    return f"cleanup: deleting {run.run_id} answered {response.status} ({error_detail(response, 100)})"
