"""payload-schema: would the server accept the request the user's script sends to .../dagRuns?

Checked locally, nothing is sent. When the profile says how the script sends it (request: path, method,
content_type), that comes first: a trailing slash, the other API generation, the UI's trigger route, the
old experimental API, GET, or a body that is not JSON each fail in a way of their own. Then the body,
against the detected version's trigger schema (Airflow 2's DAGRun schema in /api/v1, Airflow 3's
TriggerDAGRunPostBody in /api/v2, both read from the released code), then `conf` against the DAG's
params from dag-exists, with jsonschema as Airflow itself does. Prints the corrected request.
"""

from __future__ import annotations

import copy
import json
import re
from urllib.parse import urlsplit
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_doctor.checks.base import ApiFlavour, CheckContext, Fact, Uses
from airflow_doctor.model import Finding, Fix, Status

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.~:+-]+$")
DATE_FIELDS = ("logical_date", "execution_date", "data_interval_start", "data_interval_end")
V1_FIELDS = {"dag_run_id", "logical_date", "execution_date", "conf", "data_interval_start", "data_interval_end", "note"}
V1_READ_ONLY = {"dag_id", "start_date", "end_date", "state", "external_trigger", "run_type", "last_scheduling_decision"}
V2_FIELDS = {"dag_run_id", "logical_date", "run_after", "conf", "data_interval_start", "data_interval_end", "note"}
RENAMES = {"run_id": "dag_run_id", "dagRunId": "dag_run_id", "runId": "dag_run_id", "logicalDate": "logical_date",
           "execution_date": "logical_date", "params": "conf", "config": "conf", "configuration": "conf"}


@dataclass
class Issue:
    field: str
    problem: str
    server_says: str
    """What the detected version answers, in its own words (from real servers)."""


class Check:
    id = "payload-schema"
    title = "Trigger request and payload"
    requires = ("reachability",)
    uses = (Uses(Fact.API), Uses(Fact.DAG, "the DAG's params were not checked"))
    provides = ()
    needs = "the profile's payload (or --payload / --conf); the API and version from reachability; the DAG's params from dag-exists"

    def run(self, ctx: CheckContext) -> Finding:
        payload = ctx.profile.payload
        facts = ctx.facts
        request = request_issues(ctx)
        if request:
            return request_finding(ctx, request)
        if payload is None:
            minimal = {"logical_date": None, "conf": {}} if facts.api is ApiFlavour.V2 else {"conf": {}}
            return Finding(Status.SKIP, "skipped: the profile has no payload (add payload: or --payload to check "
                                        f"what your script sends; the minimal body here is {json.dumps(minimal)})")
        v2 = facts.api is ApiFlavour.V2
        issues = schema_issues(payload, v2, facts.airflow_version or "")
        corrected = correct(payload, v2, facts.airflow_version or "")
        params = facts.dag.params if facts.dag is not None else {}
        if not any(i.field.startswith("conf") and "object" in i.problem for i in issues):
            bad_params = param_issues(corrected.get("conf") or {}, params)
            issues += bad_params
            for issue in bad_params:
                name = issue.field.removeprefix("conf.")
                default = params.get(name, {}).get("value")
                if default is not None and isinstance(corrected.get("conf"), dict):
                    corrected["conf"][name] = default
        version = f"Airflow {facts.airflow_version}" if facts.airflow_version else "this Airflow"
        repeats = repeat_conflicts(payload)
        if not issues:
            checked = f" and conf against the params of {facts.dag.dag_id!r}" if facts.dag and params else ""
            if repeats:
                return Finding(Status.WARN, f"the payload is valid for one trigger, but {repeats[0]}",
                               explanation=" ".join(repeats) + " Scripts that trigger the same body again get 409 "
                                           "Conflict ('already exists').",
                               fix=Fix("Leave the fixed value out (Airflow 3: logical_date null) or make it unique per "
                                       "trigger.", (json.dumps(correct_for_repeats(payload, v2)),)),
                               details=(f"payload: {json.dumps(payload, default=str)}",))
            return Finding(Status.PASS, f"the payload matches {version}'s trigger schema{checked}",
                           details=(f"payload: {json.dumps(payload, default=str)}",))
        first = issues[0]
        lines = [f"- {i.field}: {i.problem} (the server answers: {i.server_says})" for i in issues]
        return Finding(
            Status.FAIL, f"{len(issues)} problem{'s' if len(issues) > 1 else ''} in the payload; first: {first.field}: {first.problem}",
            explanation=f"Checked locally against {version}'s trigger schema"
                        + (" and the DAG's params" if params else "") + ":\n" + "\n".join(lines)
                        + ("\n\nThe UI's trigger form fills in and validates params for you, which is why it works there."
                           if any(i.field.startswith("conf.") for i in issues) else ""),
            fix=Fix("Send this body instead" + (" (invalid conf values replaced by the params' defaults)"
                                                if any(i.field.startswith("conf.") for i in issues) else "") + ":",
                    (json.dumps(corrected, ensure_ascii=False),)),
            details=(f"payload as given: {json.dumps(payload, default=str)}",))


def trigger_path(ctx: CheckContext) -> str:
    dag_id = ctx.facts.dag.dag_id if ctx.facts.dag else (ctx.profile.dag_id or "<dag_id>")
    return ctx.facts.api_path(f"/dags/{dag_id}/dagRuns")


def request_issues(ctx: CheckContext) -> list[Issue]:
    """How the script sends the trigger, when the profile says: path, method and content type."""
    request, facts = ctx.profile.request, ctx.facts
    if request is None or facts.api is None:
        return []
    v2 = facts.api is ApiFlavour.V2
    issues: list[Issue] = []
    expected = trigger_path(ctx)
    if request.path:
        path = urlsplit(request.path).path if "://" in request.path else request.path.split("?")[0]
        base_path = urlsplit(facts.base_url).path.rstrip("/")
        if base_path and path.startswith(base_path + "/"):
            path = path[len(base_path):]
        other = "/api/v1" if v2 else "/api/v2"
        if path == expected:
            pass
        elif path.rstrip("/") == expected:
            issues.append(Issue("path", f"{path} ends with a slash; the endpoint is {expected}",
                                "405 'Method Not Allowed'" if v2 else "404 'The requested URL was not found on the server'"))
        elif path.startswith(other + "/"):
            issues.append(Issue("path", f"{path} is the {'Airflow 2' if v2 else 'Airflow 3'} API; this server is Airflow "
                                f"{facts.major} and serves {facts.api.value}",
                                "405 'Method Not Allowed' (a GET answers 404 '/api/v1 has been removed in Airflow 3')"
                                if v2 else "404 HTML 'Airflow 404'"))
        elif re.match(r"^/dags/[^/]+/trigger/?$", path) or path.startswith("/trigger"):
            issues.append(Issue("path", f"{path} is the web UI's trigger form, not the REST API",
                                "405 'Method Not Allowed'" if v2 else
                                "400 'The CSRF token is missing.' (the UI form needs the token of a browser session)"))
        elif path.startswith("/api/experimental/"):
            issues.append(Issue("path", f"{path} is the experimental API, " + (
                "removed in Airflow 3" if v2 else "off by default since Airflow 2.0 ([api] enable_experimental_api)"),
                "405 'Method Not Allowed'" if v2 else "404 HTML 'Airflow 404'"))
        else:
            match = re.match(r"^/api/v[12]/dags/([^/]+)/dagRuns$", path)
            if match and facts.dag and match.group(1) != facts.dag.dag_id:
                issues.append(Issue("path", f"{path} names the DAG {match.group(1)!r}, not {facts.dag.dag_id!r}",
                                    "404 'DAG ... not found' (dag_id is case-sensitive)"))
            elif not match:
                issues.append(Issue("path", f"{path} is not the trigger endpoint {expected}",
                                    "405 'Method Not Allowed'" if v2 else "404"))
    if request.method == "GET":
        issues.append(Issue("method", "GET lists the DAG's runs; only POST creates one",
                            "200 with a list of runs, and nothing is triggered"))
    elif request.method != "POST":
        issues.append(Issue("method", f"{request.method} is not allowed on the trigger endpoint; use POST",
                            "405 'Method Not Allowed'"))
    content_type = (request.content_type or "application/json").split(";")[0].strip().lower()
    if request.method == "POST" and content_type != "application/json":
        shown = request.content_type if content_type not in ("", "none") else "no Content-Type (curl -d sends form data)"
        if v2 and not _at_least(facts.airflow_version or "", 3, 3):
            says = "accepted by this version, but 422 'Input should be a valid dictionary' from Airflow 3.3 on"
        else:
            says = ("422 model_attributes_type 'Input should be a valid dictionary or object to extract fields from'"
                    if v2 else f"415 'Invalid Content-type ({content_type or 'none'}), expected JSON data'")
        issues.append(Issue("content_type", f"{shown} is not JSON; the body must be sent as application/json", says))
    return issues


def request_finding(ctx: CheckContext, issues: list[Issue]) -> Finding:
    facts = ctx.facts
    lines = [f"- {i.field}: {i.problem} (the server answers: {i.server_says})" for i in issues]
    url = f"{facts.base_url}{trigger_path(ctx)}"
    return Finding(
        Status.FAIL, f"the script's request is not the trigger call: {issues[0].field}: {issues[0].problem}",
        explanation="How the script sends the trigger, as the profile's request: block describes it:\n"
                    + "\n".join(lines)
                    + "\n\nThe UI triggers through its own routes with a browser session, which is why the same "
                      "DAG triggers from there.",
        fix=Fix("Send a POST with a JSON body (Content-Type: application/json) to exactly this URL:",
                (f"POST {url}", "requests.post(url, json=body, ...)  # json= sets the Content-Type",
                 "curl -X POST -H 'Content-Type: application/json' -d '<body>' " + url)),
        details=tuple(f"request.{k}: {v}" for k, v in (("path", ctx.profile.request.path),
                                                       ("method", ctx.profile.request.method),
                                                       ("content_type", ctx.profile.request.content_type)) if v))


def _is_aware_datetime(value: str) -> bool:
    text = value.strip()
    if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
        return False
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


def schema_issues(payload: dict[str, Any], v2: bool, version: str) -> list[Issue]:
    issues: list[Issue] = []
    allowed = set(V2_FIELDS) | ({"partition_key"} if _at_least(version, 3, 3) else set()) if v2 else V1_FIELDS
    for key in payload:
        if key in allowed:
            continue
        target = RENAMES.get(key)
        if key in V1_READ_ONLY:
            problem = "is read-only: the server sets it" + (" (the dag_id goes in the URL)" if key == "dag_id" else "")
        elif target and target in allowed:
            problem = f"is not a field of the trigger body; the field is '{target}'"
            if key == "execution_date" and v2:
                problem = "was removed in Airflow 3; use 'logical_date'"
        else:
            problem = f"is not a field of the trigger body (fields: {', '.join(sorted(allowed))})"
        issues.append(Issue(key, problem, f"422 extra_forbidden 'Extra inputs are not permitted'" if v2
                            else f"400 \"{{'{key}': ['Unknown field.']}}\""))
    if v2 and "logical_date" not in payload:
        issues.append(Issue("logical_date", "is required in Airflow 3 (send null to let the server pick the time)",
                            "422 missing 'Field required'"))
    if not v2:
        for key in ("logical_date", "execution_date"):
            if key in payload and payload[key] is None:
                issues.append(Issue(key, "may not be null in Airflow 2 (leave it out to let the server pick the time; "
                                         "null is Airflow 3's way)",
                                    "400 'Incorrect datetime argument' \"'None' is not an instance of 'str'\""))
        if "dag_run_id" in payload and payload["dag_run_id"] is None:
            issues.append(Issue("dag_run_id", "may not be null in Airflow 2 (leave it out to get a generated id)",
                                "400 \"{'dag_run_id': ['Field may not be null.']}\""))
    conf = payload.get("conf")
    if "conf" in payload and not isinstance(conf, dict) and not (v2 and conf is None):
        kind = "a JSON string holding an object (double-encoded)" if isinstance(conf, str) and _json_object(conf) else type(conf).__name__
        issues.append(Issue("conf", f"must be a JSON object, not {kind}",
                            "422 dict_type 'Input should be a valid dictionary'" if v2
                            else "400 \"... is not of type 'object' - 'conf'\""))
    for key in DATE_FIELDS:
        value = payload.get(key)
        if value is None or key not in allowed:
            continue
        if not isinstance(value, str) or not _is_aware_datetime(value):
            issues.append(Issue(key, f"{value!r} is not an RFC 3339 date-time with a timezone (e.g. 2024-01-01T00:00:00Z)",
                                "422 timezone_aware 'Input should have timezone info'" if v2
                                else f"400 \"'{value}' is not a 'date-time' - '{key}'\""))
    if not v2 and payload.get("logical_date") and payload.get("execution_date") and \
            payload["logical_date"] != payload["execution_date"]:
        issues.append(Issue("execution_date", "conflicts with logical_date (execution_date is the old name of the same "
                            "field: send only logical_date)", "400 'logical_date conflicts with execution_date'"))
    if bool(payload.get("data_interval_start")) != bool(payload.get("data_interval_end")):
        issues.append(Issue("data_interval_start", "and data_interval_end must be given together or not at all",
                            "422 value_error" if v2 else "400 'Both ... must be specified together'"))
    run_id = payload.get("dag_run_id")
    if run_id is not None and (not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id)):
        issues.append(Issue("dag_run_id", f"{run_id!r} does not match the default run-id pattern ^[A-Za-z0-9_.~:+-]+$",
                            "400 'The run_id provided ... does not match regex pattern'" if v2
                            else "500 an HTML 'Ooops!' page (Airflow 2.10 does not catch this error)"))
    if "note" in payload and payload["note"] is not None and not isinstance(payload["note"], str):
        issues.append(Issue("note", "must be a string", "422 string_type" if v2 else "400 not of type 'string'"))
    return issues


def repeat_conflicts(payload: dict[str, Any]) -> list[str]:
    """Fixed values that make a second trigger with the same body fail with 409."""
    notes = []
    if payload.get("logical_date") or payload.get("execution_date"):
        notes.append("a fixed logical_date allows one run per date: a second trigger with it answers 409.")
    if payload.get("dag_run_id"):
        notes.append("a fixed dag_run_id can be used once: a second trigger with it answers 409.")
    return notes


def correct_for_repeats(payload: dict[str, Any], v2: bool) -> dict[str, Any]:
    fixed = {k: v for k, v in payload.items() if k not in ("logical_date", "execution_date", "dag_run_id")}
    return {"logical_date": None, **fixed} if v2 else fixed


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _at_least(version: str, major: int, minor: int) -> bool:
    numbers = re.findall(r"\d+", version)[:2]
    return len(numbers) == 2 and (int(numbers[0]), int(numbers[1])) >= (major, minor)


def correct(payload: dict[str, Any], v2: bool, version: str) -> dict[str, Any]:
    """The body the user should send: renamed fields, read-only ones dropped, conf decoded, dates given a zone."""
    allowed = set(V2_FIELDS) | ({"partition_key"} if _at_least(version, 3, 3) else set()) if v2 else V1_FIELDS
    fixed: dict[str, Any] = {}
    for key, value in payload.items():
        target = key if key in allowed else RENAMES.get(key)
        if target not in allowed or (target in fixed and key != target):
            continue
        fixed[target] = copy.deepcopy(value)
    if isinstance(fixed.get("conf"), str) and _json_object(fixed["conf"]) is not None:
        fixed["conf"] = _json_object(fixed["conf"])
    elif "conf" in fixed and not isinstance(fixed["conf"], dict) and not (v2 and fixed["conf"] is None):
        fixed["conf"] = {}
    for key in DATE_FIELDS:
        value = fixed.get(key)
        if isinstance(value, str) and not _is_aware_datetime(value):
            fixed[key] = (value.strip() + ("T00:00:00" if len(value.strip()) == 10 else "") + "Z") if re.match(
                r"^\d{4}-\d{2}-\d{2}", value.strip()) else None
    if not v2:
        for key in ("logical_date", "execution_date"):
            if key in fixed and fixed[key] is None:
                fixed.pop(key)
        if fixed.get("execution_date") is not None and "logical_date" in fixed:
            fixed.pop("execution_date")
    if bool(fixed.get("data_interval_start")) != bool(fixed.get("data_interval_end")):
        fixed.pop("data_interval_start", None)
        fixed.pop("data_interval_end", None)
    run_id = fixed.get("dag_run_id")
    if run_id is None:
        fixed.pop("dag_run_id", None)
    elif not RUN_ID_PATTERN.match(str(run_id)):
        fixed["dag_run_id"] = re.sub(r"[^A-Za-z0-9_.~:+-]", "_", str(run_id))
    if v2:
        fixed = {"logical_date": fixed.pop("logical_date", None), **fixed}
    return fixed


def param_issues(conf: dict[str, Any], params: dict[str, dict[str, Any]]) -> list[Issue]:
    """conf checked against each param's JSON schema, as Airflow does when it creates the run."""
    if not params or not isinstance(conf, dict):
        return []
    import jsonschema

    issues: list[Issue] = []
    for name, spec in params.items():
        schema = spec.get("schema") or {}
        if name in conf:
            value = conf[name]
        elif spec.get("value") is not None:
            value = spec["value"]
        else:
            allows_null = schema.get("type") in (None, "null") or (isinstance(schema.get("type"), list) and "null" in schema["type"])
            if not allows_null:
                issues.append(Issue(f"conf.{name}", "is required: the param has no default",
                                    f"400 'Invalid input for param {name}: None is not of type ...'"))
            continue
        try:
            jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())
        except jsonschema.ValidationError as error:
            issues.append(Issue(f"conf.{name}", f"{value!r} is invalid for the param: {error.message}",
                                f"400 'Invalid input for param {name}: {error.message}'"))
        except jsonschema.SchemaError:
            continue
    return issues
