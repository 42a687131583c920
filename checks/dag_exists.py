"""dag-exists: does the API know the profile's DAG, by exactly that id, in a state that can be triggered?

Asks GET /dags/{dag_id}/details (which also gives params, paused state and max_active_runs to the
checks after it). A DAG the UI shows can still be untriggerable: the id differs in case or is the
display name, the DAG is inactive or stale (its file is gone; GET still finds it, the trigger 404s),
or its file now fails to import (the trigger answers 400). On 404 it reads the import errors first
(a file that never imported is the commonest reason), then looks for the id the user may have meant:
a display name or a case-only difference is the DAG the UI shows under that name; any other close id
is a different DAG, so it is only ever a question, never the fix.

A claim about what the trigger endpoint answers is either received in this run (Airflow 2: a probe
that the server refuses before anything is written) or worded as what the detected version does.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from airflow_doctor.platforms.mwaa import findings as mwaa
from airflow_doctor.checks.base import ApiFlavour, CheckContext, DagInfo, Fact, Uses, error_detail, json_object
from airflow_doctor.probe import ProbeResponse
from airflow_doctor.model import Finding, FindingCode, Fix, Status

UNCHECKED_WITHOUT_DAG_ID = ("dag-exists (whether the server knows the DAG and can trigger it), permissions (whether "
                            "this identity may trigger it), paused (whether a run would start) and the payload's "
                            "params")
TRIGGER_PROBE = {"logical_date": "2000-01-01T00:00:00+00:00", "execution_date": "2000-01-02T00:00:00+00:00"}
"""Airflow 2 refuses this body (400 'logical_date conflicts with execution_date') only after it has looked the DAG
up, so its answer to it is what a real trigger would get for a missing, inactive or broken DAG, with nothing
written. Airflow 3 validates a body before it looks the DAG up: no harmless body reaches that point there."""
LIST_IMPORT_ERRORS = "airflow dags list-import-errors"


class Code(FindingCode):
    """What dag-exists concluded, each selected by the evidence named in its meaning."""

    NO_DAG_ID = "no-dag-id", "the profile names no DAG, so nothing about the DAG was checked"
    DAG_FOUND = "dag-found", "the API knows the DAG by exactly this id, active, importable and open to manual runs"
    READ_FORBIDDEN = "dag-read-forbidden", "GET /dags/{id}/details answered 403: this identity may not read the DAG"
    DETAILS_UNEXPECTED = "dag-details-unexpected-answer", "GET /dags/{id}/details answered neither 200, 403 nor 404"
    NOW_BROKEN = "dag-file-fails-to-import", "the DAG exists but its file now fails to import (has_import_errors)"
    STALE = "dag-stale", "the DAG exists but is stale or inactive: its file no longer defines it"
    NO_MANUAL_RUNS = "dag-no-manual-runs", "the DAG's allowed_run_types leaves out 'manual'"
    NEVER_IMPORTED = "dag-never-imported", "no such DAG, and an import error names its likely file"
    OTHER_NAME = "dag-id-other-name", "no such DAG id; the id typed is a display name or differs only in case"
    NOT_PARSED = "dag-not-parsed-processor-down", "no such DAG, and Airflow 3's dag-processor is not running"
    CLOSE_ID = "dag-id-close-to-another", "no such DAG; a different DAG has an id that looks alike"
    NOT_FOUND = "dag-not-found", "no such DAG, and no import error or known id explains why"


@dataclass(frozen=True)
class BrokenFile:
    """An import error the server reported, as the report quotes it."""

    filename: str
    trace: str

    @property
    def last_line(self) -> str:
        return self.trace.splitlines()[-1] if self.trace else "an import error"


@dataclass(frozen=True)
class CloseId:
    """An id the user may have meant. `same_dag`: the display name, or the id in another case: the very DAG the UI
    shows under what was typed. Otherwise a different DAG whose id merely looks alike."""

    dag_id: str
    reason: str
    same_dag: bool


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
            return no_dag_id()
        facts = ctx.facts
        assert facts.credentials is not None
        response = ctx.probe.get(facts.api_path(f"/dags/{quote(dag_id, safe='')}/details"), auth=facts.credentials.auth())
        refused = mwaa.service_refusal(ctx, response)
        if refused is not None:
            return refused
        found = judge_if_found(ctx, response)
        if found is not None:
            return found
        if response.status == 404:
            return deleted_or_not_found(ctx, dag_id)
        if response.status == 403:
            return forbidden_to_read(ctx, dag_id)
        return Finding(Status.FAIL, f"GET /dags/{dag_id}/details answered {response.status} ({error_detail(response, 120)})",
                       why_ui_works="The UI reads the DAG through its own session and routes; this is the API's "
                                    "answer to this client, shown in the evidence.", code=Code.DETAILS_UNEXPECTED)


def no_dag_id() -> Finding:
    return Finding(
        Status.WARN, f"the profile has no dag_id, so {UNCHECKED_WITHOUT_DAG_ID} were not checked",
        explanation="Without a dag_id airflow-doctor can only check that the server answers and accepts these "
                    "credentials; everything about the DAG the script triggers is unchecked, so 'no failure' here "
                    "does not mean the trigger works.",
        fix=Fix("Add the id of the DAG the script triggers to the profile (the DAGs list in the UI, or "
                "'airflow dags list', shows the ids):", ("dag_id: <the DAG's id>",)), code=Code.NO_DAG_ID)


def forbidden_to_read(ctx: CheckContext, dag_id: str) -> Finding:
    who = ctx.facts.identity or "this identity"
    return Finding(
        Status.FAIL, f"{who} may not read the DAG {dag_id!r} (403)",
        explanation="The API refuses to show this DAG to this identity. Airflow checks permissions before it "
                    "looks the DAG up, so a user with only per-DAG permissions gets 403 for a DAG it has no "
                    "access to, and for a dag_id that does not exist at all.",
        fix=Fix("Grant the identity read access to this DAG (a role with DAGs can_read, or the DAG's "
                "access_control), and check the dag_id.", ()),
        why_ui_works="A UI that shows this DAG is logged in as a user who may read it; this identity may not.",
        code=Code.READ_FORBIDDEN)


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
    if dag.has_import_errors and not (dag.is_active is False and file_left_no_import_error(ctx, dag)):
        return now_broken(ctx, dag)
    if dag.is_active is False:
        return gone_stale(ctx, dag)
    allowed = dag.raw.get("allowed_run_types")
    if isinstance(allowed, list) and "manual" not in allowed:
        return no_manual_runs(ctx, dag, allowed)
    notes = [f"file: {dag.fileloc}"] if dag.fileloc else []
    if dag.params:
        notes.append(f"params: {', '.join(dag.params)}")
    where = f"defined in {dag.fileloc}" if dag.fileloc else "found"
    return Finding(Status.PASS, f"{dag.dag_id!r} is {where}", details=tuple(notes), code=Code.DAG_FOUND)


def trigger_answer(ctx: CheckContext, dag_id: str, expected: str) -> str:
    """What a trigger of this DAG gets: the server's own answer where a harmless probe can ask (Airflow 2), else
    what the detected version answers, worded as that."""
    facts = ctx.facts
    if facts.api is ApiFlavour.V1 and facts.credentials is not None:
        response = ctx.probe.post(facts.api_path(f"/dags/{quote(dag_id, safe='')}/dagRuns"), json=TRIGGER_PROBE,
                                  auth=facts.credentials.auth())
        return f"the trigger endpoint answered {response.status} ({error_detail(response, 100)}) to a probe that cannot create a run"
    return f"Airflow {facts.airflow_version or facts.major or ''} answers a trigger of it with {expected}".replace("  ", " ")


def now_broken(ctx: CheckContext, dag: DagInfo) -> Finding:
    stale = dag.is_active is False
    expected = "404 'not found' (a DAG whose file fails to import is stale there)" if stale else "400 'has import errors'"
    answer = trigger_answer(ctx, dag.dag_id, expected)
    broken = broken_file_for(import_errors(ctx), dag.dag_id, dag.fileloc)
    return Finding(
        Status.FAIL, f"the DAG file of {dag.dag_id!r} now fails to import ({broken.last_line if broken else 'see /importErrors'}); "
                     f"{answer}",
        explanation="The last version of the file could not be imported. Airflow keeps the DAG from its last good "
                    "parse, so its page and past runs are still there, but no new run can be created."
                    + (f"\n\nThe import error ({broken.filename}):\n{broken.trace}" if broken else ""),
        fix=Fix(f"Fix the import error in {broken.filename if broken else dag.fileloc}; the DAG can be triggered again "
                "after the next parse. The full traceback:", (LIST_IMPORT_ERRORS,)),
        details=(f"file: {dag.fileloc}",),
        why_ui_works="The UI still shows the DAG from its last good parse, but it cannot trigger it either: its Trigger "
                     "is refused the same way, and the import error banner above the DAG list names this file.",
        code=Code.NOW_BROKEN)


def gone_stale(ctx: CheckContext, dag: DagInfo) -> Finding:
    word = "stale" if ctx.facts.api is ApiFlavour.V2 else "inactive"
    answer = trigger_answer(ctx, dag.dag_id, "404 'not found'")
    return Finding(
        Status.FAIL, f"the DAG {dag.dag_id!r} exists but is {word} (its file no longer defines it); {answer}",
        explanation=f"Airflow still lists this DAG (GET finds it, and the UI may show its history), but it is "
                    f"{word}: the file that defined it was removed, renamed, or no longer defines this dag_id "
                    "when parsed. The trigger endpoint only accepts DAGs that the current files define.",
        fix=Fix(f"Restore the DAG file (last known at {dag.fileloc}), or trigger the id the file defines now.", ()),
        details=(f"file: {dag.fileloc}",),
        why_ui_works="The UI keeps showing a DAG whose file is gone, with its past runs, because Airflow keeps its "
                     "rows; a trigger from the UI is refused the same way.", code=Code.STALE)


def no_manual_runs(ctx: CheckContext, dag: DagInfo, allowed: list[Any]) -> Finding:
    return Finding(
        Status.FAIL, f"the DAG {dag.dag_id!r} does not allow manual runs (allowed_run_types: {', '.join(map(str, allowed)) or 'none'})",
        explanation="The DAG restricts which kinds of runs may be created, and 'manual' (what a trigger through "
                    f"the API or the UI creates) is not among them: Airflow {ctx.facts.airflow_version or ''} answers "
                    "a trigger with 400 'does not allow manual runs'.",
        fix=Fix("Add DagRunType.MANUAL to the DAG's allowed_run_types (or remove the argument).",
                ('DAG(..., allowed_run_types=["scheduled", "manual"])',)),
        details=(f"file: {dag.fileloc}",),
        why_ui_works="The UI cannot trigger it either (its trigger is a manual run too); the runs it lists were "
                     "created by the schedule.", code=Code.NO_MANUAL_RUNS)


def broken_file_for(errors: list[dict[str, Any]], dag_id: str, fileloc: str | None = None) -> BrokenFile | None:
    """The import error of the DAG's file: its known file, else the likely one (named after the id, or the id in
    its source lines as the traceback quotes them)."""
    for error in errors:
        filename = str(error.get("filename", ""))
        if fileloc and (filename == fileloc or fileloc.endswith("/" + filename)):
            return BrokenFile(filename, _last_lines(error.get("stack_trace", "")))
    for error in errors:
        filename = str(error.get("filename", ""))
        stem = PurePosixPath(filename).stem
        if stem and (dag_id == stem or dag_id in stem or stem in dag_id or dag_id in str(error.get("stack_trace", ""))):
            return BrokenFile(filename, _last_lines(error.get("stack_trace", "")))
    return None


def import_errors(ctx: CheckContext) -> list[dict[str, Any]]:
    return read_import_errors(ctx) or []


def read_import_errors(ctx: CheckContext) -> list[dict[str, Any]] | None:
    """The server's import errors, or None when it would not list them."""
    assert ctx.facts.credentials is not None
    response = ctx.probe.get(ctx.facts.api_path("/importErrors"), params={"limit": 100},
                             auth=ctx.facts.credentials.auth())
    body = json_object(response)
    errors = body.get("import_errors") if body and response.status == 200 else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else None


def file_left_no_import_error(ctx: CheckContext, dag: DagInfo) -> bool:
    """A stale DAG still flagged has_import_errors whose file has no import error listed: the file is gone, not
    broken. Seen on fresh Airflow 3.1.3 and 3.3.2 servers whose file was deleted while queued for parsing."""
    errors = read_import_errors(ctx)
    return errors is not None and broken_file_for(errors, dag.dag_id, dag.fileloc) is None


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
    ctx.facts.dag = dag_info(with_row_state(ctx, body), ctx.facts.api)
    return judge(ctx, ctx.facts.dag)


ROW_STATE = ("has_import_errors", "is_active", "is_paused")


def with_row_state(ctx: CheckContext, body: dict[str, Any]) -> dict[str, Any]:
    """The details plus the DAG row's state when they do not carry it: Airflow 2.7 answers /details from the parsed
    DAG (has_import_errors null), while its GET /dags/{dag_id} row says the file now fails to import."""
    facts = ctx.facts
    if body.get("has_import_errors") is not None or facts.credentials is None or not body.get("dag_id"):
        return body
    response = ctx.probe.get(facts.api_path(f"/dags/{quote(body['dag_id'], safe='')}"), auth=facts.credentials.auth())
    row = json_object(response) if response.status == 200 else None
    return {**body, **{k: row[k] for k in ROW_STATE if row and row.get(k) is not None}}


def visible_dags(ctx: CheckContext, dag_id: str) -> list[dict[str, Any]]:
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
    return dags


def not_found(ctx: CheckContext, dag_id: str) -> Finding:
    """The cheap evidence first (import errors, the ids the server knows), then the conclusion that fits it."""
    errors = import_errors(ctx)
    dags = visible_dags(ctx, dag_id)
    processor = (ctx.facts.health.get("dag_processor") or "never started") if processor_is_down(ctx) else None
    return why_not_found(dag_id, errors, dags, processor, major=ctx.facts.major)


def why_not_found(dag_id: str, errors: list[dict[str, Any]], dags: list[dict[str, Any]] | None,
                  processor_down: str | None = None, said: str = "", major: int | None = None) -> Finding:
    """The conclusion that fits what the server said about a missing id: its import errors, the ids it lists (None:
    not asked, as in explain), the dag-processor's health when it is down, and its own 404 sentence. On Airflow 3
    the id itself is questioned first (with the known ids closest to it), the dag-processor or bundle after."""
    close = closest(dag_id, dags or [])
    broken = broken_file_for(errors, dag_id)
    if broken is not None:
        return never_imported(dag_id, broken, close)
    if close is not None and close.same_dag:
        return same_dag_other_name(dag_id, close)
    if close is None and processor_down is not None:
        return nothing_parses(dag_id, errors, processor_down, nearest_ids(dag_id, dags or []))
    if close is not None:
        return did_you_mean(dag_id, close, errors, len(dags or []))
    if (major or 0) >= 3 and dags is not None:
        return unknown_id_v3(dag_id, dags, errors)
    return unknown_id(dag_id, dags, errors, said)


def never_imported(dag_id: str, broken: BrokenFile, close: CloseId | None) -> Finding:
    question = (f"\n\nDid you mean {close.dag_id!r}? It is a different DAG: triggering it would not run "
                f"{dag_id!r}." if close is not None and not close.same_dag else "")
    return Finding(
        Status.FAIL, f"no DAG has the id {dag_id!r}: its likely file {broken.filename} fails to import "
                     f"({broken.last_line})",
        explanation="The file that should define this DAG cannot be imported, so the DAG never reached the database "
                    f"and the API does not know the id.\n\nThe import error:\n{broken.trace}{question}",
        fix=Fix(f"Fix the import error in {broken.filename}; the DAG appears after the next parse. The full "
                "traceback:", (LIST_IMPORT_ERRORS,)),
        details=(f"import error: {broken.filename}",),
        why_ui_works=f"The UI does not have a DAG {dag_id!r} either: it shows this file's import error in the banner "
                     "above the DAG list" + (f", and {close.dag_id!r} in the list is another DAG" if question else "")
                     + ".", code=Code.NEVER_IMPORTED)


def same_dag_other_name(dag_id: str, close: CloseId) -> Finding:
    return Finding(
        Status.FAIL, f"no DAG has the id {dag_id!r}; {close.reason}: {close.dag_id!r}",
        explanation="dag_id is matched exactly, case included, and the UI shows a DAG's display name, which can "
                    "differ from its id. The trigger endpoint needs the id.",
        fix=Fix(f"Use the exact dag_id in the profile and in the script: {close.dag_id}", (f"dag_id: {close.dag_id}",)),
        why_ui_works="The UI finds the DAG by the name it shows (its search ignores case and matches display names) "
                     "and then uses the id; the API takes only the exact id.", code=Code.OTHER_NAME)


def processor_is_down(ctx: CheckContext) -> bool:
    """Airflow 3 reported its dag-processor as not alive (None: it never ran); unknown health says nothing."""
    health = ctx.facts.health
    return (ctx.facts.major or 0) >= 3 and "dag_processor" in health and health["dag_processor"] != "healthy"


def nothing_parses(dag_id: str, errors: list[dict[str, Any]], state: str, nearest: list[str] | None = None) -> Finding:
    return Finding(
        Status.FAIL, f"no DAG has the id {dag_id!r}: first, is the id right? ({known_ids(nearest)}); if it is, no "
                     f"dag-processor is running (health: {state}): DAG files added or changed since it stopped are "
                     "never parsed",
        explanation="The id comes first: no import error names it and no known id is close enough to be its "
                    "display name or another case of it, so check it against the DAG ids this deployment lists. If "
                    "it is right: in Airflow 3 DAG files are parsed by a separate dag-processor. Without it, a new "
                    "DAG file never reaches the database, so neither the API nor the UI knows its DAG."
                    + _other_broken_files(errors),
        fix=Fix(f"Check the id against the list first; if it is right and the file that defines {dag_id} is in this "
                "deployment's DAG bundle, start the dag-processor next to the scheduler (it parses every file on its "
                "first pass):", ("airflow dags list", "airflow dag-processor")),
        why_ui_works=f"The UI does not list {dag_id!r} either; it shows only DAGs that were parsed before the "
                     "dag-processor stopped.", code=Code.NOT_PARSED)


def did_you_mean(dag_id: str, close: CloseId, errors: list[dict[str, Any]], count: int) -> Finding:
    return Finding(
        Status.FAIL, f"no DAG has the id {dag_id!r} (did you mean {close.dag_id!r}? that is a different DAG)",
        explanation=f"{close.dag_id!r} looks like the id typed, but it is another DAG: triggering it would run "
                    f"that DAG, not {dag_id!r}. Use it only if it is the DAG the script means." + _other_broken_files(errors),
        fix=Fix("Compare the profile's and the script's dag_id with the ids this deployment knows:",
                ("airflow dags list",)),
        details=(f"{count} DAG(s) visible to this identity",),
        why_ui_works="The UI does not know this id either: clicking a DAG in the UI never sends a mistyped id.",
        code=Code.CLOSE_ID)


def unknown_id(dag_id: str, dags: list[dict[str, Any]] | None, errors: list[dict[str, Any]], said: str = "") -> Finding:
    """No evidence names the id. `dags` None: the ids the server knows were not listed; `said`: its 404 sentence."""
    visible = ", ".join(sorted(str(d.get("dag_id")) for d in dags or [])[:10]) or "none"
    commands = ("airflow dags list", LIST_IMPORT_ERRORS) if errors or dags is None else ("airflow dags list",)
    counted = f"{len(dags)} visible to this identity" if dags is not None else f"the server: {said or '404'}"
    return Finding(
        Status.FAIL, f"no DAG has the id {dag_id!r} ({counted})",
        explanation="The API does not know this dag_id. Either the file that defines it is not in the DAGs folder (or "
                    "bundle) of this deployment, it has not been parsed yet (new files appear after "
                    "[scheduler] dag_dir_list_interval in Airflow 2, or the dag-processor's next pass in Airflow 3), "
                    "or this identity may not see it. Note that a file which does not contain both words 'airflow' "
                    "and 'dag' is skipped without any import error ([core] dag_discovery_safe_mode)."
                    + _other_broken_files(errors),
        fix=Fix("Check the dag_id against the DAG files of this deployment.", commands),
        details=(f"visible DAGs: {visible}",) if dags is not None else (),
        why_ui_works=f"The UI does not list {dag_id!r} either (for this user); a DAG that triggers from the UI has "
                     "another id: the UI's DAG page shows it.", code=Code.NOT_FOUND)


def unknown_id_v3(dag_id: str, dags: list[dict[str, Any]], errors: list[dict[str, Any]]) -> Finding:
    """Airflow 3, a 404 no evidence explains: the id first (the closest known ids), then the bundle and parsing."""
    commands = ("airflow dags list", LIST_IMPORT_ERRORS) if errors else ("airflow dags list",)
    return Finding(
        Status.FAIL, f"no DAG has the id {dag_id!r}: is the id right? ({known_ids(nearest_ids(dag_id, dags))}; "
                     f"{len(dags)} visible to this identity)",
        explanation="First the id: dag_id is matched exactly, and no known id is its display name or another case "
                    "of it; compare it with the ids this deployment lists. If the id is right, the file that defines "
                    "it is not in any DAG bundle this deployment parses ([dag_processor] dag_bundle_config_list; by "
                    "default the dags folder), the dag-processor has not parsed it yet (new files appear after its "
                    "next pass over the bundle, [dag_processor] refresh_interval), or this identity may not see it. "
                    "A file that does not contain both words 'airflow' and 'dag' is skipped without any import error "
                    "([core] dag_discovery_safe_mode)." + _other_broken_files(errors),
        fix=Fix("Check the dag_id against the ids this deployment knows; if it is right, put the file in the "
                "deployment's DAG bundle and wait for the dag-processor's next pass.", commands),
        details=(f"visible DAGs: {', '.join(sorted(str(d.get('dag_id')) for d in dags)[:10]) or 'none'}",),
        why_ui_works=f"The UI does not list {dag_id!r} either (for this user); a DAG that triggers from the UI has "
                     "another id: the UI's DAG page shows it.", code=Code.NOT_FOUND)


def known_ids(nearest: list[str] | None) -> str:
    if nearest:
        return "the closest known ids: " + ", ".join(repr(i) for i in nearest)
    return "no known id is close to it"


def nearest_ids(dag_id: str, dags: list[dict[str, Any]], count: int = 3) -> list[str]:
    """The known ids that look most like the one typed, for the question 'is the id right?' (none is ever the fix)."""
    ids = [str(d.get("dag_id")) for d in dags if d.get("dag_id")]
    return difflib.get_close_matches(dag_id, ids, n=count, cutoff=0.5)


def _other_broken_files(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return ""
    names = ", ".join(str(e.get("filename", "?")) for e in errors[:5])
    return (f"\n\n{len(errors)} DAG file(s) fail to import ({names}); none is named after this id, but if one of "
            "them defines it, its import error is the cause.")


def closest(dag_id: str, dags: list[dict[str, Any]]) -> CloseId | None:
    ids = [str(d.get("dag_id")) for d in dags if d.get("dag_id")]
    for d in dags:
        if str(d.get("dag_display_name", "")) == dag_id and d.get("dag_id") != dag_id:
            return CloseId(str(d["dag_id"]), "that is the display name of the DAG whose id is", same_dag=True)
    for candidate in ids:
        if candidate.lower() == dag_id.lower():
            return CloseId(candidate, "ids are case-sensitive, and this one differs only in case", same_dag=True)
    close = difflib.get_close_matches(dag_id, ids, n=1, cutoff=0.75)
    return CloseId(close[0], "the closest id is", same_dag=False) if close else None
