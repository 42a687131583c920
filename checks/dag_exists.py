"""dag-exists: does the API know the profile's DAG, by exactly that id, in a state that can be triggered?

Asks GET /dags/{dag_id}/details (which also gives params, paused state and max_active_runs to the
checks after it). A DAG the UI shows can still be untriggerable: the id differs in case or is the
display name, the DAG is inactive or stale (its file is gone; GET still finds it, the trigger 404s),
or its file now fails to import (the trigger answers 400). On 404 it looks for close ids and for
import errors that would explain why the DAG never appeared.
"""

from __future__ import annotations

import difflib
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from airflow_doctor.checks.base import ApiFlavour, CheckContext, DagInfo, Fact, Uses, error_detail, json_object
from airflow_doctor.http import ProbeResponse
from airflow_doctor.model import Finding, Fix, Status


class Check:
    id = "dag-exists"
    title = "DAG exists and can be triggered"
    requires = ("auth-backend",)
    uses = (Uses(Fact.API), Uses(Fact.HEALTH), Uses(Fact.CREDENTIALS))
    provides = (Fact.DAG,)
    needs = "the profile's dag_id; the API and dag-processor health from reachability; working credentials from auth-backend"

    def run(self, ctx: CheckContext) -> Finding:
        dag_id = ctx.profile.dag_id
        if not dag_id:
            return Finding(Status.SKIP, "skipped: the profile has no dag_id")
        facts = ctx.facts
        assert facts.credentials is not None
        response = ctx.probe.get(facts.api_path(f"/dags/{quote(dag_id, safe='')}/details"), auth=facts.credentials.auth())
        found = judge_if_found(ctx, response)
        if found is not None:
            return found
        if response.status == 404:
            return deleted_or_not_found(ctx, dag_id)
        if response.status == 403:
            return Finding(
                Status.FAIL, f"{facts.identity or 'this identity'} may not read the DAG {dag_id!r} (403)",
                explanation="The API refuses to show this DAG to this identity. Airflow checks permissions before it "
                            "looks the DAG up, so a user with only per-DAG permissions gets 403 for a DAG it has no "
                            "access to, and for a dag_id that does not exist at all.",
                fix=Fix("Grant the identity read access to this DAG (a role with DAGs can_read, or the DAG's "
                        "access_control), and check the dag_id.", ()))
        return Finding(Status.FAIL, f"GET /dags/{dag_id}/details answered {response.status} ({error_detail(response, 120)})")


def dag_info(body: dict[str, Any], api: ApiFlavour | None) -> DagInfo:
    is_active = body.get("is_active")
    if api is ApiFlavour.V2 and "is_stale" in body:
        is_active = not body["is_stale"]
    params = {}
    for name, spec in (body.get("params") or {}).items():
        if isinstance(spec, dict) and ("schema" in spec or "value" in spec):
            params[name] = {"value": spec.get("value"), "schema": spec.get("schema") or {}}
        else:
            params[name] = {"value": spec, "schema": {}}
    return DagInfo(
        dag_id=body.get("dag_id", ""),
        is_paused=body.get("is_paused"),
        is_active=is_active,
        has_import_errors=body.get("has_import_errors"),
        fileloc=body.get("fileloc") or body.get("relative_fileloc"),
        max_active_runs=body.get("max_active_runs"),
        params=params,
        active_runs=body.get("active_runs_count"),
        raw=body,
    )


def judge(ctx: CheckContext, dag: DagInfo) -> Finding:
    facts = ctx.facts
    where = f"defined in {dag.fileloc}" if dag.fileloc else "found"
    if dag.has_import_errors:
        trace = import_error_for(ctx, dag)
        answer = "404 (a DAG whose file fails to import is stale in Airflow 3)" if dag.is_active is False else \
            "400 'DAG ... has import errors'"
        return Finding(
            Status.FAIL, f"the DAG file of {dag.dag_id!r} now fails to import: a trigger answers {answer.split(' ')[0]}",
            explanation="The last version of the file could not be imported. Airflow keeps the DAG from its last good "
                        f"parse, so the UI still shows it, but the trigger answers {answer}."
                        + (f"\n\nThe import error:\n{trace}" if trace else ""),
            fix=Fix("Fix the import error in the DAG file (see /importErrors, or the UI's import error banner).", ()),
            details=(f"file: {dag.fileloc}",))
    if dag.is_active is False:
        word = "stale" if facts.api is ApiFlavour.V2 else "inactive"
        return Finding(
            Status.FAIL, f"the DAG {dag.dag_id!r} exists but is {word}: a trigger answers 404",
            explanation=f"Airflow still lists this DAG (GET finds it, and the UI may show its history), but it is "
                        f"{word}: the file that defined it was removed, renamed, or no longer defines this dag_id "
                        "when parsed. The trigger endpoint only accepts DAGs that the current files define, so it "
                        "answers 404 'DAG not found'.",
            fix=Fix(f"Restore the DAG file (last known at {dag.fileloc}) or trigger the id the file defines now.", ()),
            details=(f"file: {dag.fileloc}",))
    allowed = dag.raw.get("allowed_run_types")
    if isinstance(allowed, list) and "manual" not in allowed:
        return Finding(
            Status.FAIL, f"the DAG {dag.dag_id!r} does not allow manual runs (allowed_run_types: {', '.join(map(str, allowed)) or 'none'})",
            explanation="The DAG restricts which kinds of runs may be created, and 'manual' (what a trigger through "
                        "the API or the UI creates) is not among them, so the trigger answers 400 'does not allow "
                        "manual runs'.",
            fix=Fix("Add DagRunType.MANUAL to the DAG's allowed_run_types (or remove the argument).",
                    ('DAG(..., allowed_run_types=["scheduled", "manual"])',)),
            details=(f"file: {dag.fileloc}",))
    notes = [f"file: {dag.fileloc}"] if dag.fileloc else []
    if dag.params:
        notes.append(f"params: {', '.join(dag.params)}")
    return Finding(Status.PASS, f"{dag.dag_id!r} is {where}", details=tuple(notes))


def import_error_for(ctx: CheckContext, dag: DagInfo | None, dag_id: str | None = None) -> str | None:
    """The stack trace of the import error for this DAG's file (or a file named after the dag_id)."""
    errors = _import_errors(ctx)
    for error in errors:
        filename = str(error.get("filename", ""))
        if dag is not None and dag.fileloc and (filename == dag.fileloc or dag.fileloc.endswith("/" + filename)):
            return _last_lines(error.get("stack_trace", ""))
        if dag_id and (dag_id in PurePosixPath(filename).stem or dag_id in str(error.get("stack_trace", ""))):
            return f"{filename}:\n{_last_lines(error.get('stack_trace', ''))}"
    return None


def _import_errors(ctx: CheckContext) -> list[dict[str, Any]]:
    assert ctx.facts.credentials is not None
    response = ctx.probe.get(ctx.facts.api_path("/importErrors"), params={"limit": 100},
                             auth=ctx.facts.credentials.auth())
    body = json_object(response)
    errors = body.get("import_errors") if body else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _last_lines(trace: str, count: int = 4) -> str:
    lines = [line for line in str(trace).strip().splitlines() if line.strip()]
    return "\n".join(lines[-count:])


def deleted_or_not_found(ctx: CheckContext, dag_id: str) -> Finding:
    """Airflow 2 drops the serialized DAG (so /details 404s) when its file is deleted, but keeps the DAG row."""
    facts = ctx.facts
    assert facts.credentials is not None
    response = ctx.probe.get(facts.api_path(f"/dags/{quote(dag_id, safe='')}"), auth=facts.credentials.auth())
    return judge_if_found(ctx, response) or not_found(ctx, dag_id)


def judge_if_found(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """A DAG the server returned: record it for later checks and judge whether it can be triggered."""
    body = json_object(response)
    if response.status != 200 or body is None:
        return None
    ctx.facts.dag = dag_info(body, ctx.facts.api)
    return judge(ctx, ctx.facts.dag)


def not_found(ctx: CheckContext, dag_id: str) -> Finding:
    facts = ctx.facts
    assert facts.credentials is not None
    response = ctx.probe.get(facts.api_path("/dags"), params={"limit": 100, "order_by": "dag_id"},
                             auth=facts.credentials.auth())
    body = json_object(response) or {}
    dags = [d for d in body.get("dags", []) if isinstance(d, dict)]
    if isinstance(body.get("total_entries"), int) and body["total_entries"] > len(dags):
        narrowed = ctx.probe.get(facts.api_path("/dags"), params={"limit": 100, "dag_id_pattern": dag_id[:20]},
                                 auth=facts.credentials.auth())
        dags += [d for d in (json_object(narrowed) or {}).get("dags", []) if isinstance(d, dict)]
    suggestion, why = closest(dag_id, dags)
    if suggestion:
        return Finding(
            Status.FAIL, f"no DAG has the id {dag_id!r}; {why}: {suggestion!r}",
            explanation="dag_id is matched exactly, case included, and the UI shows a DAG's display name, which can "
                        "differ from its id. The trigger endpoint needs the id.",
            fix=Fix(f"Use the exact dag_id in the profile and in the script: {suggestion}", (f"dag_id: {suggestion}",)),
            details=(f"{len(dags)} DAG(s) visible to this identity",))
    trace = import_error_for(ctx, None, dag_id)
    if trace:
        return Finding(
            Status.FAIL, f"no DAG has the id {dag_id!r}, and a DAG file that mentions it fails to import",
            explanation="The file that should define this DAG cannot be imported, so the DAG never reached the "
                        f"database and the API answers 404.\n\nThe import error:\n{trace}",
            fix=Fix("Fix the import error in that file; the DAG appears after the next parse.", ()))
    processor = facts.health.get("dag_processor")
    if facts.major is not None and facts.major >= 3 and processor != "healthy":
        return Finding(
            Status.FAIL, f"no DAG has the id {dag_id!r}, and no dag-processor is running to parse DAG files",
            explanation="In Airflow 3 DAG files are parsed by a separate dag-processor. Without it, new DAG files "
                        "never reach the database, so the API (and the UI) do not know them.",
            fix=Fix("Start the dag-processor next to the scheduler.", ("airflow dag-processor",)))
    visible = ", ".join(sorted(str(d.get("dag_id")) for d in dags)[:10]) or "none"
    return Finding(
        Status.FAIL, f"no DAG has the id {dag_id!r} ({len(dags)} visible to this identity)",
        explanation="The API does not know this dag_id. Either the file that defines it is not in the DAGs folder (or "
                    "bundle) of this deployment, it has not been parsed yet (new files appear after "
                    "[scheduler] dag_dir_list_interval in Airflow 2, or the dag-processor's next pass in Airflow 3), "
                    "or this identity may not see it. Note that a file which does not contain both words 'airflow' "
                    "and 'dag' is skipped without any import error ([core] dag_discovery_safe_mode).",
        fix=Fix("Check the dag_id against the DAG files of this deployment.", ("airflow dags list",)),
        details=(f"visible DAGs: {visible}",))


def closest(dag_id: str, dags: list[dict[str, Any]]) -> tuple[str | None, str]:
    ids = [str(d.get("dag_id")) for d in dags if d.get("dag_id")]
    for d in dags:
        if str(d.get("dag_display_name", "")) == dag_id and d.get("dag_id") != dag_id:
            return str(d["dag_id"]), "that is the display name of the DAG whose id is"
    for candidate in ids:
        if candidate.lower() == dag_id.lower():
            return candidate, "ids are case-sensitive, and this one differs only in case"
    close = difflib.get_close_matches(dag_id, ids, n=1, cutoff=0.75)
    if close:
        return close[0], "the closest id is"
    return None, ""
