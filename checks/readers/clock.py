"""The server's clock and spans of time in words, shared by the token checks and the queue check."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from airflow_doctor.probe import ProbeResponse


def server_clock(response: ProbeResponse | None) -> datetime | None:
    """The server's time from its `Date` header, always timezone-aware (a `-0000` zone is UTC, RFC 5322); None when
    it sent none or an unreadable one."""
    value = response.headers.get("Date") if response is not None else None
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def span(delta: timedelta) -> str:
    """A length of time as a person says it: '40 s', '12 min', '3.5 h', '9 days' (the sign is the caller's)."""
    seconds = abs(delta.total_seconds())
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"
