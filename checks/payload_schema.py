"""payload-schema: would the server accept the request the user's script sends to .../dagRuns?

When the profile says how the script sends it (request: path, method, content_type), that comes first: a
trailing slash, the other API generation, the UI's trigger route, the old experimental API, GET, or a body
that is not JSON each fail in a way of their own. Then the body, against the detected version's trigger
schema (Airflow 2's DAGRun schema in /api/v1, Airflow 3's TriggerDAGRunPostBody in /api/v2), then `conf`
against the DAG's params from dag-exists, with jsonschema as Airflow itself does.

Where the server can judge without creating a run, it is asked: the body plus one field the schema forbids
(PROBE_FIELD) is refused before any run exists, and the refusal lists the body's other schema errors (all of
them on Airflow 3; on Airflow 2 the first one, or every field error once the body's types are valid). A fixed
dag_run_id or logical_date is looked up. What the server said in this run is reported as its answer; the
rest is worded as what the detected version answers. Prints the corrected request.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

from airflow_doctor.checks.base import ApiFlavour, CheckContext, Fact, Uses, error_detail, json_object
from airflow_doctor.checks.readers.clock import server_clock
from airflow_doctor.checks.readers.trigger_body import (PLACEHOLDER, PROBE_FIELD, RENAMES, RUN_ID_PATTERN, Issue,
                                                        at_least, complete_conf, converted_params, corrected_body,
                                                        correct_for_repeats, param_issues, refuses_unknown_fields,
                                                        repeat_conflicts, schema_issues, with_param_defaults,
                                                        without_existing, without_refused_null_conf)
from airflow_doctor.checks.readers.trigger_dates import DateKind, date_issues
from airflow_doctor.probe import ProbeResponse, TransportError
from airflow_doctor.model import Finding, FindingCode, Fix, Status

class Code(FindingCode):
    """What the check found in the script's request and body."""

    NO_PAYLOAD = "skipped-no-payload", "the profile has no payload, so the body the script sends was not checked"
    PAYLOAD_VALID = "payload-valid", "the body matches the trigger schema (the server's verdict when it was asked)"
    PAYLOAD_REPEATS = "payload-fixed-run", "a valid body with a fixed run id or date: a second trigger answers 409"
    PAYLOAD_INVALID = "payload-invalid", "the body breaks the trigger schema or the DAG's params"
    RUN_EXISTS = "run-already-exists", "the body's fixed run id or logical date is taken by an existing run (409)"
    NOT_AN_OBJECT = "payload-not-object", "the body is a JSON list or bare value, not an object"
    NOT_THE_TRIGGER_CALL = "request-not-trigger-call", "the script's path, method or content type is not the trigger"
    DATE_AHEAD = "logical-date-ahead", "the body's logical_date is ahead of the server's clock: the run waits for it"
    DATE_OUTSIDE = "logical-date-outside-dag", "the body's logical_date is before the DAG's start_date or after its end_date"


UI_FORM = ("The UI's trigger form builds this body itself: it fills in and validates every param, sends the fields "
           "of this Airflow version and lets the server pick the run id and date, which is why the same DAG "
           "triggers from there.")
UI_ROUTE = ("The UI triggers through its own route with a browser session, which is why the same DAG triggers "
            "from there.")
UI_DATED_NOW = ("The UI's trigger form dates the run now (its logical date defaults to the current time, or the "
                "server picks it), so its runs are never dated ahead of the clock or outside the DAG's dates: that is "
                "why they start from there.")
UI_NEW_RUN = ("The UI's trigger button never repeats a run id or date: each click gets a new run from the "
              "server, which is why it works there.")


def version_label(ctx: CheckContext) -> str:
    return f"Airflow {ctx.facts.airflow_version}" if ctx.facts.airflow_version else "this Airflow"


class Check:
    id = "payload-schema"
    title = "Trigger request and payload"
    requires = ("reachability",)
    uses = (Uses(Fact.API), Uses(Fact.DAG, "the DAG's params were not checked"),
            Uses(Fact.CREDENTIALS, "the server was not asked to judge the body, nor whether a fixed run id exists"))
    provides = ()
    needs = ("the profile's payload (or --payload / --conf); the API and version from reachability; the DAG's params "
             "from dag-exists; working credentials from auth-backend, to let the server judge the body")

    def run(self, ctx: CheckContext) -> Finding:
        request = confirmed(ctx, request_issues(ctx))
        if request:
            return request_finding(ctx, request)
        payload = ctx.profile.payload
        if payload is None:
            ctx.facts.trigger_body = complete_conf(minimal_body(ctx), dag_params(ctx))
            return Finding(Status.SKIP, "skipped: the profile has no payload (add payload: or --payload to check "
                                        f"what your script sends; the minimal body here is "
                                        f"{json.dumps(minimal_body(ctx))})", code=Code.NO_PAYLOAD)
        if not isinstance(payload, dict):
            return not_an_object_finding(ctx, payload)
        return payload_finding(ctx, payload)


def minimal_body(ctx: CheckContext) -> dict[str, Any]:
    return {"logical_date": None, "conf": {}} if ctx.facts.api is ApiFlavour.V2 else {"conf": {}}


def dag_params(ctx: CheckContext) -> dict[str, dict[str, Any]]:
    return ctx.facts.dag.params if ctx.facts.dag is not None else {}


def assess(ctx: CheckContext, payload: dict[str, Any]) -> tuple[list[Issue], dict[str, Any], bool, list[str]]:
    """The doctor's verdict on a body: its issues (the server's where it judged), the corrected body (a minimal
    edit of the user's), whether the server judged it, and each edit in words. Looks up fixed run ids and dates,
    and compares the dates with the server's clock (the Date of the answers it got) and the DAG's dates; never
    creates a run."""
    facts = ctx.facts
    v2, version = facts.api is ApiFlavour.V2, facts.airflow_version or ""
    params = dag_params(ctx)
    answers: list[ProbeResponse] = []
    judged = server_judgement(ctx, payload, answers)
    issues = merged(schema_issues(payload, v2, version, params), judged)
    corrected, edits = corrected_body(payload, v2, version, params)
    corrected = without_refused_null_conf(corrected, issues)
    if not any(i.field == "body" for i in issues) and isinstance(corrected.get("conf") or {}, dict):
        sent = corrected.get("conf") or {}
        issues += param_issues(sent, params)
        conf, converted = converted_params(sent, params)
        body, defaulted = with_param_defaults({**corrected, "conf": conf} if converted else corrected,
                                              param_issues(conf, params), params)
        edits += converted + defaulted
        corrected = complete_conf(body, params)
    existing = existing_runs(ctx, corrected, answers)
    clock = next((when for answer in answers if (when := server_clock(answer)) is not None), None)
    dated = date_issues(corrected, v2, version, clock, facts.dag.raw if facts.dag else {})
    issues += existing + dated  # a run that exists is refused now (409); a date only makes the run wait
    corrected_before, corrected = corrected, without_existing(corrected, dated + existing, v2)
    edits += list(dict.fromkeys(f"{i.field} {json.dumps(corrected_before[i.field], default=str)} left out: "
                                f"{i.left_out}" for i in dated + existing if i.field in corrected_before and i.left_out))
    return issues, corrected, judged is not None, edits


def payload_finding(ctx: CheckContext, payload: dict[str, Any]) -> Finding:
    issues, corrected, judged, edits = assess(ctx, payload)
    ctx.facts.trigger_body = corrected
    label = version_label(ctx)
    if not issues:
        return valid_finding(ctx, payload, judged, ctx.facts.api is ApiFlavour.V2)
    asked = (f"{label} judged the body itself (it was sent with one extra field, {PROBE_FIELD}, so that it could "
             "not create a run); the rest was checked locally" if judged else
             f"Checked locally against {label}'s trigger schema (the server was not asked)")
    return problems_finding(issues, label, asked + (" and against the DAG's params" if dag_params(ctx) else ""),
                            corrected, payload, edits)


def problems_finding(issues: list[Issue], label: str, how_judged: str, corrected: dict[str, Any] | None,
                     payload: Any = None, edits: list[str] | tuple[str, ...] = ()) -> Finding:
    """The payload's problems in the check's words, however they were found. Without a corrected body (explain has
    only the server's answer) the fix names the fields to correct."""
    first = issues[0]
    existing = [i for i in issues if "already" in i.problem and i.local_only]
    only_existing = bool(existing) and len(existing) == len(issues)
    if corrected is None:
        fix = Fix(f"Correct {', '.join(dict.fromkeys(i.field for i in issues))} in the body the script sends; `check` "
                  "with the script's payload prints the corrected body.", ())
    else:
        placeholders = [name for name, value in (corrected.get("conf") or {}).items()
                        if value == PLACEHOLDER.format(name=name)]
        fix = Fix(fix_text(issues, placeholders, edits), (json.dumps(corrected, ensure_ascii=False),))
    dated = first.kind in (DateKind.AHEAD, DateKind.BEFORE_START, DateKind.AFTER_END)
    return Finding(
        Status.FAIL, f"{len(issues)} problem{'s' if len(issues) > 1 else ''} in the payload; first: {first.field}: "
                     f"{first.problem}",
        explanation=how_judged + ":\n" + "\n".join(i.line(label) for i in issues),
        fix=fix,
        details=(f"payload as given: {json.dumps(payload, default=str)}",) if payload is not None else (),
        why_ui_works=UI_DATED_NOW if dated else UI_NEW_RUN if only_existing else UI_FORM,
        code=(Code.DATE_AHEAD if first.kind == DateKind.AHEAD else Code.DATE_OUTSIDE if dated else
              Code.RUN_EXISTS if only_existing else Code.PAYLOAD_INVALID))


def conflict_issue(detail: str) -> Issue:
    """A trigger's 409: a run with the body's fixed run id or logical date exists (Airflow 2 names the run id;
    Airflow 3 says only 'Unique constraint violation')."""
    run = re.search(r"DAGRun ID: '([^']*)'", detail)
    field = "dag_run_id" if run else "logical_date" if re.search(r"logical|execution", detail, re.I) else \
        "dag_run_id or logical_date"
    what = f"a run {run.group(1)!r} already exists" if run else "a run with this run id or logical date already exists"
    return Issue(field, f"{what}: a run id, and a logical date per DAG, can be used once", "409 'already exists'",
                 f"409 {detail!r}", local_only=True)


def fix_text(issues: list[Issue], placeholders: list[str], edits: list[str] | tuple[str, ...] = ()) -> str:
    """What to send, with every edit made to the user's body said (nothing they sent is dropped silently)."""
    text = "Send this body instead"
    if edits:
        text += " (your body, edited: " + "; ".join(edits) + ")"
    elif any(i.local_only and i.field in ("dag_run_id", "logical_date") and "already exists" in i.problem
             for i in issues):
        text += " (without the run id or date that already exists: the server picks new ones)"
    if placeholders:
        text += f"; fill in {', '.join('conf.' + p for p in placeholders)} first (required params without a default)"
    return text + ":"


def valid_finding(ctx: CheckContext, payload: dict[str, Any], judged: bool, v2: bool) -> Finding:
    facts = ctx.facts
    params = dag_params(ctx)
    checked = f" and conf against the params of {facts.dag.dag_id!r}" if facts.dag and params else ""
    by = f"{version_label(ctx)} accepted its schema (asked with a probe that cannot create a run)" if judged else \
        f"the payload matches {version_label(ctx)}'s trigger schema"
    repeats = repeat_conflicts(payload)
    if repeats:
        return Finding(Status.WARN, f"the payload is valid for one trigger, but {repeats[0]}",
                       explanation=" ".join(repeats) + " Scripts that trigger the same body again get 409 "
                                   "Conflict ('already exists').",
                       fix=Fix("Leave the fixed value out (Airflow 3: logical_date null) or make it unique per "
                               "trigger.", (json.dumps(correct_for_repeats(payload, v2)),)),
                       details=(f"payload: {json.dumps(payload, default=str)}",), code=Code.PAYLOAD_REPEATS)
    return Finding(Status.PASS, by + checked, details=(f"payload: {json.dumps(payload, default=str)}",),
                   code=Code.PAYLOAD_VALID)


def not_an_object_finding(ctx: CheckContext, payload: Any) -> Finding:
    """A body that is a JSON list (or a bare value): every version refuses it before anything else."""
    label = version_label(ctx)
    v2 = ctx.facts.api is ApiFlavour.V2
    judged = server_judgement(ctx, payload)
    said = next((i.observed for i in judged[0] if i.observed), "") if judged else ""
    expected = ("422 model_attributes_type 'Input should be a valid dictionary or object to extract fields from'" if v2
                else f"400 \"{json.dumps(payload)[:60]} is not of type 'object'\"")
    issue = Issue("body", f"is a JSON {type(payload).__name__}, not an object", expected, said)
    body = minimal_body(ctx)
    ctx.facts.trigger_body = complete_conf(body, dag_params(ctx))
    return Finding(Status.FAIL, f"the payload is a JSON {type(payload).__name__}: the trigger body must be a JSON "
                                "object", explanation=issue.line(label) + "\nIf the list holds the conf, send it as "
                                "the value of \"conf\".",
                   fix=Fix("Send an object, e.g.:", (json.dumps(ctx.facts.trigger_body),)),
                   why_ui_works=UI_FORM, code=Code.NOT_AN_OBJECT)


def trigger_path(ctx: CheckContext) -> str:
    """The DAG's trigger endpoint; never a placeholder: without a DAG id there is none (callers check dag_id())."""
    return ctx.facts.api_path(f"/dags/{quote(dag_id(ctx) or '<dag_id>', safe='')}/dagRuns")


def dag_id(ctx: CheckContext) -> str | None:
    return ctx.facts.dag.dag_id if ctx.facts.dag else ctx.profile.dag_id


def server_judgement(ctx: CheckContext, body: Any,
                     answers: list[ProbeResponse] | None = None) -> tuple[list[Issue], bool] | None:
    """The server's verdict on the body's schema, asked with a request that cannot create a run.

    Returns the issues it named and whether that list is complete (Airflow 3 lists every schema error;
    Airflow 2 names its first type/format error, or every field error once the types are valid); None when
    the server could not be asked or did not judge (no credentials, no DAG, a version not known to refuse
    unknown fields, an answer that is not a validation error)."""
    facts = ctx.facts
    if facts.credentials is None or dag_id(ctx) is None or not refuses_unknown_fields(facts.airflow_version or ""):
        return None
    probe_body = {**body, PROBE_FIELD: True} if isinstance(body, dict) else body
    try:
        response = ctx.probe.post(trigger_path(ctx), json=probe_body, auth=facts.credentials.auth())
    except TransportError:
        return None
    if answers is not None:
        answers.append(response)
    return judged_issues(response, body)


def judged_issues(response: ProbeResponse, body: Any) -> tuple[list[Issue], bool] | None:
    detail = (json_object(response) or {}).get("detail")
    if response.status == 422 and isinstance(detail, list):
        return [issue for item in detail if isinstance(item, dict) and (issue := _pydantic_issue(item))], True
    if response.status >= 500 and not isinstance(body, dict):  # Airflow 3.1.3 crashes on a list body
        return [Issue("body", "is not a JSON object", "", f"{response.status} {error_detail(response, 80)}")], True
    if response.status != 400 or not isinstance(detail, str):
        return None
    title = str((json_object(response) or {}).get("title") or "")
    observed = f"400 {detail!r}"
    try:
        fields = ast.literal_eval(detail)
    except (ValueError, SyntaxError):
        fields = None
    if isinstance(fields, dict):
        return [Issue(str(k), "; ".join(map(str, v)) if isinstance(v, list) else str(v), "", f"400 {{{k!r}: {v!r}}}")
                for k, v in fields.items() if k != PROBE_FIELD], True
    if match := re.search(r" - '([^']+)'$", detail):
        return [Issue(match.group(1), detail.rsplit(" - ", 1)[0], "", observed)], False
    if "is not of type 'object'" in detail:
        return [Issue("body", "is not a JSON object", "", observed)], True
    if title == "Incorrect datetime argument" and isinstance(body, dict):
        field = next((k for k in ("logical_date", "execution_date") if k in body and body[k] is None), "logical_date")
        return [Issue(field, "may not be null", "", f"400 {title!r}: {detail!r}")], False
    return None


def _pydantic_issue(item: dict[str, Any]) -> Issue | None:
    loc = [str(p) for p in item.get("loc", []) if p != "body"]
    field = ".".join(loc) or "body"
    if field == PROBE_FIELD:
        return None
    return Issue(field, str(item.get("msg")), "", f"422 {item.get('type')} {str(item.get('msg'))!r}")


def merged(local: list[Issue], judged: tuple[list[Issue], bool] | None) -> list[Issue]:
    """The server's verdict where it gave one, in the local check's words where both name the same field; the
    local checks for what a probe cannot reach (and, when the server named only its first error, the rest)."""
    if judged is None:
        return local
    said, complete = judged
    words = {i.field: i for i in local if not i.local_only}
    from_server = [replace(i, problem=words[i.field].problem, server_says=words[i.field].server_says)
                   if i.field in words else i for i in said]
    from_server.sort(key=lambda i: i.field not in RENAMES)  # a misnamed field is the cause of the missing one
    named = {i.field for i in said}
    rest = [i for i in local if i.local_only or (not complete and i.field not in named)]
    return from_server + [i for i in rest if i.field not in named]


def existing_runs(ctx: CheckContext, body: dict[str, Any], answers: list[ProbeResponse] | None = None) -> list[Issue]:
    """A fixed dag_run_id or logical_date that a run already has: the trigger answers 409, so it is the failure.
    The answers received are added to `answers` (their Date is the server's clock)."""
    facts = ctx.facts
    if facts.credentials is None or facts.dag is None:
        return []
    issues = []
    run_id = body.get("dag_run_id")
    if isinstance(run_id, str) and run_id and RUN_ID_PATTERN.match(run_id):
        found = _lookup(ctx, f"/dagRuns/{quote(run_id, safe='')}", None, answers)
        if found is not None and found.status == 200:
            state = (json_object(found) or {}).get("state")
            issues.append(Issue("dag_run_id", f"a run {run_id!r} already exists (state {state}): a run id can be "
                                "used once", "409 'already exists'",
                                f"200 to GET .../dagRuns/{run_id}: that run exists, so the trigger answers 409 'already "
                                "exists'", local_only=True, kind="exists",
                                left_out="a run already has it (the server generates a new id)"))
    field = "logical_date" if body.get("logical_date") is not None else "execution_date"
    date = body.get(field)
    if date is not None and not any(i.field == "dag_run_id" for i in issues):
        prefix = "logical_date" if facts.api is ApiFlavour.V2 else "execution_date"
        found = _lookup(ctx, "/dagRuns", {f"{prefix}_gte": str(date), f"{prefix}_lte": str(date), "limit": 1}, answers)
        runs = (json_object(found) or {}).get("dag_runs") if found is not None and found.status == 200 else None
        if runs:
            issues.append(Issue(field, f"the run {runs[0].get('dag_run_id')!r} already has the logical "
                                f"date {date}: one run per DAG and date", "409 'already exists'",
                                f"GET .../dagRuns?{prefix}_gte=... lists a run with that date, so the trigger answers 409 "
                                "'already exists'", local_only=True, kind="exists",
                                left_out="a run already has it (the server dates the new run now)"))
    return issues


def _lookup(ctx: CheckContext, suffix: str, params: dict[str, Any] | None,
            answers: list[ProbeResponse] | None = None) -> ProbeResponse | None:
    assert ctx.facts.credentials is not None and ctx.facts.dag is not None
    path = ctx.facts.api_path(f"/dags/{quote(ctx.facts.dag.dag_id, safe='')}{suffix}")
    try:
        response = ctx.probe.get(path, params=params, auth=ctx.facts.credentials.auth())
    except TransportError:
        return None
    if answers is not None:
        answers.append(response)
    return response


def _script_path(ctx: CheckContext) -> str:
    """The path the script posts to, relative to the server's base URL."""
    assert ctx.profile.request is not None and ctx.profile.request.path
    given = ctx.profile.request.path
    path = urlsplit(given).path if "://" in given else given.split("?")[0]
    base_path = urlsplit(ctx.facts.base_url).path.rstrip("/")
    return path[len(base_path):] if base_path and path.startswith(base_path + "/") else path


def request_issues(ctx: CheckContext) -> list[Issue]:
    """How the script sends the trigger, when the profile says: path, method and content type (predictions)."""
    request, facts = ctx.profile.request, ctx.facts
    if request is None or facts.api is None:
        return []
    issues = [_path_issue(ctx)] if request.path else []
    if request.method == "GET":
        issues.append(Issue("method", "GET lists the DAG's runs; only POST creates one",
                            "200 with a list of runs, and nothing is triggered"))
    elif request.method != "POST":
        issues.append(Issue("method", f"{request.method} is not allowed on the trigger endpoint; use POST",
                            "405 'Method Not Allowed'"))
    content_type = (request.content_type or "application/json").split(";")[0].strip().lower()
    if request.method == "POST" and content_type != "application/json":
        issues.append(_content_type_issue(ctx, content_type))
    return [i for i in issues if i is not None]


def _path_issue(ctx: CheckContext) -> Issue | None:
    facts = ctx.facts
    assert facts.api is not None
    v2 = facts.api is ApiFlavour.V2
    path, expected = _script_path(ctx), trigger_path(ctx)
    other = "/api/v1" if v2 else "/api/v2"
    if path == expected:
        return None
    if path.rstrip("/") == expected:
        return Issue("path", f"{path} ends with a slash; the endpoint is {expected}",
                     "405 'Method Not Allowed'" if v2 else "404 'The requested URL was not found on the server'")
    if path.startswith(other + "/"):
        return Issue("path", f"{path} is the {'Airflow 2' if v2 else 'Airflow 3'} API; this server is Airflow "
                     f"{facts.major} and serves {facts.api.value}",
                     "405 'Method Not Allowed' (a GET answers 404 '/api/v1 has been removed in Airflow 3')"
                     if v2 else "404 HTML 'Airflow 404'")
    if re.match(r"^/dags/[^/]+/trigger/?$", path) or path.startswith("/trigger"):
        return Issue("path", f"{path} is the web UI's trigger form, not the REST API",
                     "405 'Method Not Allowed'" if v2 else
                     "400 'The CSRF token is missing.' (the UI form needs the token of a browser session)")
    if path.startswith("/api/experimental/"):
        return Issue("path", f"{path} is the experimental API, " + (
            "removed in Airflow 3" if v2 else "off by default since Airflow 2.0 ([api] enable_experimental_api)"),
            "405 'Method Not Allowed'" if v2 else "404 HTML 'Airflow 404'")
    match = re.match(r"^/api/v[12]/dags/([^/]+)/dagRuns$", path)
    if match and facts.dag:
        return Issue("dag_id", f"{path} names the DAG {match.group(1)!r}, not {facts.dag.dag_id!r}",
                     "404 'DAG ... not found' (dag_id is case-sensitive)")
    if match:
        return None
    return Issue("path", f"{path} is not the trigger endpoint {expected}", "405 'Method Not Allowed'" if v2 else "404")


def _content_type_issue(ctx: CheckContext, content_type: str) -> Issue:
    request, facts = ctx.profile.request, ctx.facts
    assert request is not None
    v2 = facts.api is ApiFlavour.V2
    shown = request.content_type if content_type not in ("", "none") else "no Content-Type (curl -d sends form data)"
    if v2 and not at_least(facts.airflow_version or "", 3, 3):
        says = "accepted by this version, but 422 'Input should be a valid dictionary' from Airflow 3.3 on"
    else:
        says = ("422 model_attributes_type 'Input should be a valid dictionary or object to extract fields from'"
                if v2 else f"415 'Invalid Content-type ({content_type or 'none'}), expected JSON data'")
    return Issue("content_type", f"{shown} is not JSON; the body must be sent as application/json", says)


def confirmed(ctx: CheckContext, issues: list[Issue]) -> list[Issue]:
    """Each predicted request problem, sent to the server with a body that cannot create a run; a path the
    server serves as the trigger endpoint after all (Airflow 2 serves //api/v1/...) is no problem."""
    facts = ctx.facts
    if not issues or facts.credentials is None or not refuses_unknown_fields(facts.airflow_version or ""):
        return issues
    kept = []
    for issue in issues:
        answer = _ask(ctx, issue)
        if answer is None:
            kept.append(issue)
        elif issue.field != "dag_id" and names_probe_field(answer):
            continue
        else:
            kept.append(replace(issue, observed=f"{answer.status} ({error_detail(answer, 120)})"))
    return kept


def names_probe_field(response: ProbeResponse) -> bool:
    """Whether the answer refuses the probe field: the request reached the trigger endpoint's body schema."""
    detail = (json_object(response) or {}).get("detail")
    if isinstance(detail, list):
        return any(isinstance(i, dict) and PROBE_FIELD in map(str, i.get("loc", [])) for i in detail)
    return isinstance(detail, str) and f"'{PROBE_FIELD}': ['Unknown field.']" in detail


def _ask(ctx: CheckContext, issue: Issue) -> ProbeResponse | None:
    """The request the script sends, with the probe field in its body; never to the experimental API or the UI's
    form, whose bodies are not checked against a schema."""
    request, facts = ctx.profile.request, ctx.facts
    assert request is not None and facts.credentials is not None
    body = {**minimal_body(ctx), PROBE_FIELD: True}
    auth = facts.credentials.auth()
    try:
        if issue.field == "dag_id":
            named = re.match(r"^/api/v[12]/dags/([^/]+)/dagRuns$", _script_path(ctx))
            return ctx.probe.get(facts.api_path(f"/dags/{named.group(1)}"), auth=auth) if named else None
        if issue.field == "path":
            if not re.match(r"^/+api/v[12]/+dags/[^/]+/dagRuns/?$", _script_path(ctx)):
                return None
            return ctx.probe.post(_script_path(ctx), json=body, auth=auth)
        if issue.field == "method":
            return ctx.probe.request(request.method, trigger_path(ctx), json=body, auth=auth)
        kind = request.content_type or ""
        return ctx.probe.post(trigger_path(ctx), data=json.dumps(body), auth=auth,
                              headers={"Content-Type": kind} if kind.lower() not in ("", "none") else {})
    except TransportError:
        return None


def request_finding(ctx: CheckContext, issues: list[Issue]) -> Finding:
    facts = ctx.facts
    request = ctx.profile.request
    assert request is not None
    url = f"{facts.base_url}{trigger_path(ctx)}" if dag_id(ctx) else None
    asked = any(i.observed for i in issues)
    return Finding(
        Status.FAIL, f"the script's request is not the trigger call: {issues[0].field}: {issues[0].problem}",
        explanation="How the script sends the trigger, as the profile's request: block describes it"
                    + (" (each sent once more by airflow-doctor with a body that cannot create a run)" if asked else "")
                    + ":\n" + "\n".join(i.line(version_label(ctx)) for i in issues),
        fix=Fix("Send a POST with a JSON body (Content-Type: application/json) to exactly this URL "
                "(the request that works below does):", (f"POST {url}",)) if url else
            Fix("Send a POST with a JSON body to /dags/<the DAG's id>/dagRuns; add dag_id: to the profile to get the "
                "exact URL."),
        details=tuple(f"request.{k}: {v}" for k, v in (("path", request.path), ("method", request.method),
                                                       ("content_type", request.content_type)) if v),
        why_ui_works=UI_ROUTE, code=Code.NOT_THE_TRIGGER_CALL)
