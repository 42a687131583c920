"""The trigger body's rules, known offline: which fields each Airflow version's trigger endpoint takes, how it
words its refusals, and the body it would accept instead.

From the servers themselves (answers recorded in tests/recorded, the predictions checked against real servers by
the integration tier): Airflow 2 (/api/v1, marshmallow's DAGRun schema; unknown fields refused from 2.2 on; null
dates refused, run ids up to 250 characters), Airflow 3 (/api/v2, pydantic's TriggerDAGRunPostBody with
extra=forbid; logical_date required, null for 'now'; 3.3 adds partition_key and refuses '..' in run ids), and
each DAG's params, checked with jsonschema as Airflow does when it creates the run.

Offline, because not every reader may ask: explain has only a pasted answer, working-request writes its snippets
from the corrected body, the trial run corrects the body before it creates a run; and the server's handler checks
params, run-id rules and duplicates only once it creates the run, which a probe must not. Where the server can be
asked without creating a run, the payload-schema check asks it and keeps these words for the fields both name.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.~:+-]+$")
RUN_ID_MAX_V1 = 250
"""Airflow 2's DAGRun schema takes its length from the run_id column: longer answers 400 (Airflow 3.3 takes it)."""
DATE_FIELDS = ("logical_date", "execution_date", "data_interval_start", "data_interval_end")
V1_FIELDS = {"dag_run_id", "logical_date", "execution_date", "conf", "data_interval_start", "data_interval_end", "note"}
V1_READ_ONLY = {"dag_id", "start_date", "end_date", "state", "external_trigger", "run_type", "last_scheduling_decision"}
V2_FIELDS = {"dag_run_id", "logical_date", "run_after", "conf", "data_interval_start", "data_interval_end", "note"}
RENAMES = {"run_id": "dag_run_id", "dagRunId": "dag_run_id", "runId": "dag_run_id", "logicalDate": "logical_date",
           "execution_date": "logical_date", "params": "conf", "config": "conf", "configuration": "conf"}
KNOWN_NAMES = (V1_FIELDS | V2_FIELDS | V1_READ_ONLY | set(RENAMES) |
               {"partition_key", "run_after", "run_type", "triggered_by", "triggering_user_name", "bundle_version"})
"""Names that are, or were, or are mistaken for, trigger-body fields: never a DAG input moved into conf."""
PROBE_FIELD = "airflow_doctor_probe"
"""A field no trigger schema has: a body carrying it is refused before a run can be created."""
PLACEHOLDER = "<FILL IN: {name}>"
"""What the corrected body holds for a required param without a default: the user must fill it in."""


@dataclass
class Issue:
    """One problem with the script's request or body: the field, the problem in the doctor's words, and what the
    server answers (predicted, or observed in this run)."""

    field: str
    problem: str
    server_says: str
    """What the detected version answers, in its own words (from real servers): a prediction in this run."""
    observed: str = ""
    """The server's own answer in this run, when it was asked (with a request that cannot create a run)."""
    local_only: bool = False
    """Checked later in the server's handler (params, run-id rules, duplicates): a probe cannot reach it."""
    kind: str = ""
    """What sort of problem, where the check's verdict depends on it: 'exists' (a run has the id or date), or a
    trigger_dates.DateKind; '' for the rest."""
    left_out: str = ""
    """Why the corrected body leaves the field out (the server picks it instead), for the fix's list of edits."""

    def line(self, version: str) -> str:
        if self.observed:
            return f"- {self.field}: {self.problem} (the server answered: {self.observed})"
        return f"- {self.field}: {self.problem} (expected: {version} answers {self.server_says})"


def at_least(version: str, major: int, minor: int) -> bool:
    """Whether `version` (e.g. '3.1.3') is major.minor or later; an unknown version is not."""
    numbers = re.findall(r"\d+", version)[:2]
    return len(numbers) == 2 and (int(numbers[0]), int(numbers[1])) >= (major, minor)


def refuses_unknown_fields(version: str) -> bool:
    """Airflow 2.2+ (marshmallow, unknown=RAISE) and every Airflow 3 (pydantic, extra=forbid)."""
    return at_least(version, 2, 2) and not at_least(version, 4, 0)


def allowed_fields(v2: bool, version: str) -> set[str]:
    """The trigger body's fields: Airflow 2's, or Airflow 3's (with partition_key from 3.3 on)."""
    return set(V2_FIELDS) | ({"partition_key"} if at_least(version, 3, 3) else set()) if v2 else V1_FIELDS


def is_aware_datetime(value: str) -> bool:
    text = value.strip()
    if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
        return False
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def schema_issues(payload: dict[str, Any], v2: bool, version: str,
                  params: dict[str, dict[str, Any]] | None = None) -> list[Issue]:
    """The body against the version's trigger schema, each issue with the words that version answers it with (a
    top-level key the DAG's params name is said to belong in conf)."""
    issues: list[Issue] = []
    allowed = allowed_fields(v2, version)
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
        elif key in (params or {}):
            problem = "is a param of the DAG: a DAG's params go inside 'conf', not at the top level of the body"
        elif goes_in_conf(key, params or {}, v2, version):
            problem = ("is not a field of the trigger body; the DAG's inputs go inside 'conf' (the fields: "
                       f"{', '.join(sorted(allowed))})")
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
        if v2 and isinstance(value, (int, float)) and not isinstance(value, bool):
            continue
        if not isinstance(value, str) or not is_aware_datetime(value):
            issues.append(Issue(key, f"{value!r} is not an RFC 3339 date-time with a timezone (e.g. 2024-01-01T00:00:00Z)",
                                "422 timezone_aware 'Input should have timezone info'" if v2
                                else f"400 \"'{value}' is not a 'date-time' - '{key}'\""))
    if not v2 and payload.get("logical_date") and payload.get("execution_date") and \
            payload["logical_date"] != payload["execution_date"]:
        issues.append(Issue("execution_date", "conflicts with logical_date (execution_date is the old name of the same "
                            "field: send only logical_date)", "400 'logical_date conflicts with execution_date'", local_only=True))
    if bool(payload.get("data_interval_start")) != bool(payload.get("data_interval_end")):
        issues.append(Issue("data_interval_start", "and data_interval_end must be given together or not at all",
                            "422 value_error" if v2 else "400 'Both ... must be specified together'", local_only=True))
    issues += run_id_issues(payload.get("dag_run_id"), v2, version)
    if "note" in payload and payload["note"] is not None and not isinstance(payload["note"], str):
        issues.append(Issue("note", "must be a string", "422 string_type" if v2 else "400 not of type 'string'"))
    return issues


def run_id_issues(run_id: Any, v2: bool, version: str = "") -> list[Issue]:
    """An empty dag_run_id is fine (the server generates one); Airflow 2 limits its length, and the handler checks
    the pattern after the schema (Airflow 2.10 with an uncaught error); Airflow 3.3 also refuses '..' there."""
    if run_id in (None, ""):
        return []
    if isinstance(run_id, str) and ".." in run_id and v2 and at_least(version, 3, 3):
        return [Issue("dag_run_id", f"{run_id!r} contains '..', which Airflow 3.3 refuses in a run id (path traversal) "
                                    "unless [core] allow_double_dot_in_ids is set",
                      f"400 \"The run_id '{run_id}' must not contain '..' to prevent path traversal\"", local_only=True)]
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
        return [Issue("dag_run_id", f"{run_id!r} does not match the default run-id pattern ^[A-Za-z0-9_.~:+-]+$",
                      "400 'The run_id provided ... does not match regex pattern'" if v2
                      else "500 an HTML 'Ooops!' page (Airflow 2.10 does not catch this error)", local_only=True)]
    if not v2 and len(run_id) > RUN_ID_MAX_V1:
        return [Issue("dag_run_id", f"is {len(run_id)} characters long; Airflow 2 allows {RUN_ID_MAX_V1}",
                      f"400 \"{{'dag_run_id': ['Longer than maximum length {RUN_ID_MAX_V1}.']}}\"")]
    return []


def correct(payload: dict[str, Any], v2: bool, version: str,
            params: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The body the user should send: a minimal edit of theirs (see corrected_body), params' values converted where
    the meaning is clear (see converted_params)."""
    body, _ = corrected_body(payload, v2, version, params)
    conf, _ = converted_params(body.get("conf"), params or {})
    return {**body, "conf": conf} if isinstance(conf, dict) and conf is not body.get("conf") else body


def goes_in_conf(key: str, params: dict[str, dict[str, Any]], v2: bool, version: str) -> bool:
    """Whether a top-level key the trigger body has no field for is a DAG input that belongs in conf: a param's
    name, or a name that is no trigger field (nor close to one: a misspelt field is not an input)."""
    if key in params:
        return True
    if key in KNOWN_NAMES or key == PROBE_FIELD or key in allowed_fields(v2, version):
        return False
    return not difflib.get_close_matches(key.lower(), [n.lower() for n in KNOWN_NAMES], n=1, cutoff=0.75)


def corrected_body(payload: dict[str, Any], v2: bool, version: str,
                   params: dict[str, dict[str, Any]] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The body the user should send, as a minimal edit of theirs, and each edit in words: renamed fields,
    read-only ones dropped, top-level DAG inputs moved into conf with their values, conf decoded from a JSON
    string, dates given a zone. Every value the server would take is kept."""
    allowed = allowed_fields(v2, version)
    fixed: dict[str, Any] = {}
    edits: list[str] = []
    moved: dict[str, Any] = {}
    for key, value in payload.items():
        target = key if key in allowed else RENAMES.get(key)
        if target in allowed and not (target in fixed and key != target):
            fixed[target] = copy.deepcopy(value)
            if key != target:
                edits.append(f"{key} renamed to {target}")
        elif target in allowed:
            edits.append(f"{key} dropped: {target} is also given")
        elif goes_in_conf(key, params or {}, v2, version):
            moved[key] = copy.deepcopy(value)
        elif key != PROBE_FIELD:
            edits.append(f"{key} dropped" + (" (the server sets it)" if key in V1_READ_ONLY else
                                             " (not a field of this version's trigger body)"))
    _decode_conf(fixed, v2, edits)
    if moved:
        conf = fixed.get("conf") if isinstance(fixed.get("conf"), dict) else {}
        kept = {k: v for k, v in moved.items() if k not in conf}
        fixed["conf"] = {**conf, **kept}
        if kept:
            edits.append(f"{', '.join(kept)} moved into conf with {'its value' if len(kept) == 1 else 'their values'}")
        edits += [f"top-level {k} dropped: conf already has {k}" for k in moved if k not in kept]
    _fix_dates(fixed, v2, edits)
    _fix_run_id(fixed, v2, version, edits)
    if v2:
        fixed = {"logical_date": fixed.pop("logical_date", None), **fixed}
    return fixed, edits


def _decode_conf(fixed: dict[str, Any], v2: bool, edits: list[str]) -> None:
    if isinstance(fixed.get("conf"), str) and _json_object(fixed["conf"]) is not None:
        fixed["conf"] = _json_object(fixed["conf"])
        edits.append("conf decoded from the JSON string it was sent as into the object it holds")
    elif "conf" in fixed and not isinstance(fixed["conf"], dict) and not (v2 and fixed["conf"] is None):
        edits.append(f"conf {json.dumps(fixed['conf'], default=str)[:60]} replaced by {{}}: it holds no JSON object")
        fixed["conf"] = {}


def _fix_dates(fixed: dict[str, Any], v2: bool, edits: list[str]) -> None:
    for key in DATE_FIELDS:
        value = fixed.get(key)
        if not v2 and isinstance(value, (int, float)) and not isinstance(value, bool):
            fixed[key] = datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            edits.append(f"{key} {value} (a Unix time) written as {fixed[key]}")
        elif isinstance(value, str) and not is_aware_datetime(value):
            fixed[key] = (value.strip() + ("T00:00:00" if len(value.strip()) == 10 else "") + "Z") if re.match(
                r"^\d{4}-\d{2}-\d{2}", value.strip()) else None
            edits.append(f"{key} {value!r} read as UTC: {fixed[key]}" if fixed[key] else
                         f"{key} {value!r} dropped: not a date")
    if not v2:
        for key in ("logical_date", "execution_date"):
            if key in fixed and fixed[key] is None:
                fixed.pop(key)
        if fixed.get("execution_date") is not None and "logical_date" in fixed:
            fixed.pop("execution_date")
            edits.append("execution_date dropped: logical_date is the same field")
    if bool(fixed.get("data_interval_start")) != bool(fixed.get("data_interval_end")):
        fixed.pop("data_interval_start", None)
        fixed.pop("data_interval_end", None)
        edits.append("data_interval_start/end dropped: they go together")


def _fix_run_id(fixed: dict[str, Any], v2: bool, version: str, edits: list[str]) -> None:
    run_id = fixed.get("dag_run_id")
    if run_id in (None, ""):
        fixed.pop("dag_run_id", None)
    elif not v2 and len(str(run_id)) > RUN_ID_MAX_V1:
        fixed["dag_run_id"] = re.sub(r"[^A-Za-z0-9_.~:+-]", "_", str(run_id))[:RUN_ID_MAX_V1]
    elif not RUN_ID_PATTERN.match(str(run_id)):
        fixed["dag_run_id"] = re.sub(r"[^A-Za-z0-9_.~:+-]", "_", str(run_id))
    if v2 and ".." in str(fixed.get("dag_run_id", "")) and at_least(version, 3, 3):
        fixed["dag_run_id"] = re.sub(r"\.{2,}", ".", str(fixed["dag_run_id"]))
    if fixed.get("dag_run_id", run_id) != run_id:
        edits.append(f"dag_run_id {run_id!r} written as {fixed['dag_run_id']!r}")


def converted_params(conf: Any, params: dict[str, dict[str, Any]]) -> tuple[Any, list[str]]:
    """conf with each value its param refuses converted where the meaning is clear ("5" for an integer, 5 for a
    string, "true" for a boolean, a JSON string for an array or object), and each conversion in words; a value
    with no clear conversion is left as sent (the caller decides)."""
    if not isinstance(conf, dict) or not params:
        return conf, []
    out, notes = dict(conf), []
    for name, spec in params.items():
        if name not in conf:
            continue
        schema = spec.get("schema") or {}
        if _valid(conf[name], schema) is not False:
            continue
        for candidate in _conversions(conf[name]):
            if _valid(candidate, schema):
                out[name] = candidate
                notes.append(f"conf.{name} {json.dumps(conf[name])} converted to {json.dumps(candidate)}, as the "
                             "param's schema expects")
                break
    return (out, notes) if notes else (conf, [])


def _conversions(value: Any) -> list[Any]:
    """What a value sent with the wrong type clearly means, most literal first."""
    if isinstance(value, bool):
        return [str(value).lower()]
    if isinstance(value, (int, float)):
        return ([int(value)] if isinstance(value, float) and value.is_integer() else []) + [str(value)]
    if not isinstance(value, str):
        return []
    text = value.strip()
    found: list[Any] = []
    if re.fullmatch(r"[+-]?\d+", text):
        found.append(int(text))
    elif re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?", text):
        found.append(float(text))
    if text.lower() in ("true", "false"):
        found.append(text.lower() == "true")
    if text[:1] in "[{":
        try:
            found.append(json.loads(text))
        except ValueError:
            pass
    return found


def _valid(value: Any, schema: dict[str, Any]) -> bool | None:
    """Whether jsonschema takes the value (None: the schema itself is broken)."""
    import jsonschema

    try:
        jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError:
        return False
    except jsonschema.SchemaError:
        return None
    return True


def without_refused_null_conf(body: dict[str, Any], issues: list[Issue]) -> dict[str, Any]:
    """A null conf that was refused becomes {}: Airflow 3.1+ takes null, 3.0.x answers 422 dict_type 'Input should be
    a valid dictionary', so the server's verdict decides."""
    if "conf" in body and body["conf"] is None and any(i.field == "conf" for i in issues):
        return {**body, "conf": {}}
    return body


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
                                    f"400 'Invalid input for param {name}: None is not of type ...'", local_only=True))
            continue
        try:
            jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())
        except jsonschema.ValidationError as error:
            issues.append(Issue(f"conf.{name}", f"{value!r} is invalid for the param: {error.message}",
                                f"400 'Invalid input for param {name}: {error.message}'", local_only=True))
        except jsonschema.SchemaError:
            continue
    return issues


def with_param_defaults(body: dict[str, Any], bad: list[Issue],
                        params: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """Values the params still refuse once converted (see converted_params): the param's default where it has one,
    else a placeholder (the user's value is quoted in the note: it cannot be sent as it is); each said."""
    conf = dict(body.get("conf") or {})
    notes = []
    for issue in bad:
        name = issue.field.removeprefix("conf.")
        if name not in conf:
            continue
        sent = json.dumps(conf[name], default=str)
        if params.get(name, {}).get("value") is not None:
            conf[name] = params[name]["value"]
            notes.append(f"conf.{name} {sent} has no clear conversion to what the param takes: the param's default "
                         f"{json.dumps(conf[name], default=str)} is in its place; put the value you meant there")
        elif name in params:
            conf[name] = PLACEHOLDER.format(name=name)
            notes.append(f"conf.{name} {sent} has no clear conversion to what the param takes and the param has no "
                         "default: fill in the value you meant")
    return ({**body, "conf": conf}, notes) if notes else (body, [])


def complete_conf(body: dict[str, Any], params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The body with a clearly marked placeholder for every required param without a default that conf lacks."""
    conf = body.get("conf")
    if conf is None:
        conf = {}
    if not isinstance(conf, dict):
        return body
    missing = {name: PLACEHOLDER.format(name=name) for name, spec in params.items()
               if name not in conf and spec.get("value") is None and not _allows_null(spec.get("schema") or {})}
    if not missing and "conf" in body:
        return body
    return {**body, "conf": {**conf, **missing}}


def _allows_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind in (None, "null") or (isinstance(kind, list) and "null" in kind)


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


def without_existing(body: dict[str, Any], existing: list[Issue], v2: bool) -> dict[str, Any]:
    """The corrected body must not repeat the fault (an id or date a run has, a date the run would wait for): the
    server picks a new id and date."""
    fields = {i.field for i in existing}
    fixed = {k: v for k, v in body.items() if k not in fields}
    if "logical_date" in fields and v2:
        fixed = {"logical_date": None, **fixed}
    return fixed
