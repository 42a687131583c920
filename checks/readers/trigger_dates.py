"""The body's logical_date against what the server knows: its clock (the Date header of the answers the check
received) and the DAG's start_date and end_date (from /dags/{id}/details, the same fields on Airflow 2 and 3).

A date the trigger endpoint takes but the run cannot use: the server creates the run (200), and then it waits
(ahead of the clock) or does nothing (before the start_date). What each version does was seen on real servers
with the schedule-less doctor_demo (tests/recorded/airflow-*/trigger_future.json, run_future_after.json,
tasks_future_after.json and the before_start ones; re-checked by tests/integration/test_scenarios_body.py);
the words say what was seen, and what was not seen (an end_date) is worded as a prediction.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from airflow_doctor.checks.readers.clock import span
from airflow_doctor.checks.readers.trigger_body import Issue, is_aware_datetime

AHEAD_TOLERANCE = timedelta(minutes=1)
"""Clocks a few seconds apart are no problem: only a date more than this ahead is."""


class DateKind(str, Enum):
    """Why a logical_date the trigger takes leaves the run waiting."""

    AHEAD = "ahead"
    BEFORE_START = "before-start"
    AFTER_END = "after-end"


AHEAD_SEEN = {
    2: "200: the run is created and stays queued: the scheduler does not start it before that date (seen on 2.10.5 "
       "and 2.11.2: still queued after 40 s, its task without a state)",
    3: "200: the run is created and set running at once, but its tasks are not scheduled before that date (seen on "
       "3.2.2 and 3.3.2: running after 40 s, its task without a state)",
}
BEFORE_START_SEEN = ("200: the run is created and marked success at once without a single task instance: no task "
                     "ran (seen on 2.10.5, 2.11.2, 3.2.2 and 3.3.2)")
AFTER_END_PREDICTED = ("200, and the run does nothing: a prediction by analogy with a date before the start_date (the "
                       "run marked success without a task instance), not seen on a server")


def parsed(value: Any) -> datetime | None:
    """A body's or the server's date as an aware datetime (Airflow 3 also takes a Unix time); None if unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    if not isinstance(value, str) or not is_aware_datetime(value):
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def date_issues(body: dict[str, Any], v2: bool, version: str, clock: datetime | None,
                details: dict[str, Any]) -> list[Issue]:
    """The corrected body's logical_date ahead of the server's clock, before the DAG's start_date or after its
    end_date: each one a run that is accepted and then waits or does nothing. `clock` is the server's Date (None: this machine's
    time, said so)."""
    field = "logical_date" if body.get("logical_date") is not None else "execution_date"
    date = parsed(body.get(field))
    if date is None:
        return []
    major = 3 if v2 else 2
    shown = body[field]
    issues = []
    now = clock or datetime.now(timezone.utc)
    whose = (f"the server's clock ({now:%Y-%m-%dT%H:%M:%SZ}, the Date of its answer)" if clock else
             f"this machine's clock ({now:%Y-%m-%dT%H:%M:%SZ}; the server was not asked)")
    if date - now > AHEAD_TOLERANCE:
        issues.append(Issue(field, f"{shown} is {span(date - now)} ahead of {whose}: the trigger is accepted "
                            "and the run then waits for that date" + (" (it stays queued)" if not v2 else
                                                                      " (it shows running, its tasks wait)"), AHEAD_SEEN[major], local_only=True,
                            kind=DateKind.AHEAD, left_out="ahead of the server's clock (the server dates the run now)"))
    start, end = parsed(details.get("start_date")), parsed(details.get("end_date"))
    if start is not None and date < start:
        issues.append(Issue(field, f"{shown} is before the DAG's start_date {details['start_date']}: the "
                            "run is accepted and then does nothing: no task of the DAG is due that day", BEFORE_START_SEEN,
                            local_only=True, kind=DateKind.BEFORE_START,
                            left_out="before the DAG's start_date (the server dates the run now)"))
    if end is not None and date > end >= now:
        issues.append(Issue(field, f"{shown} is after the DAG's end_date {details['end_date']}: the run is "
                            "accepted but no task of the DAG is due that day", AFTER_END_PREDICTED, local_only=True,
                            kind=DateKind.AFTER_END, left_out="after the DAG's end_date"))
    if end is not None and end < now:
        issues.append(Issue(field, f"the DAG's end_date {details['end_date']} has passed: a run dated now "
                            "is after it too, so the fix is in the DAG (a later end_date, or none)",
                            AFTER_END_PREDICTED, local_only=True, kind=DateKind.AFTER_END))
    return issues
