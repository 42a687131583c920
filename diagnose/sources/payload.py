"""The body the script posts, given on the command line: `--payload FILE` replaces the profile's payload, `--conf
JSON` its conf. Either source is recorded, so `profiles show` and the report say where the payload came from."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from airflow_doctor.errors import UsageError
from airflow_doctor.sources.profile import Profile


def with_payload(profile: Profile, payload: Path | None, conf: str | None) -> Profile:
    """The profile with the payload given on the command line, if any."""
    body = profile.payload
    if payload is not None:
        try:
            body = json.loads(payload.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"--payload {payload} cannot be read ({exc.strerror or exc}); check the path.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise UsageError(f"--payload {payload} is not valid JSON ({exc}); fix the file.") from None
        if not isinstance(body, dict):
            raise UsageError(f"--payload {payload} must hold a JSON object (the body your script posts).")
    if conf is not None:
        try:
            parsed = json.loads(conf)
        except ValueError as exc:
            raise UsageError(f"--conf is not valid JSON ({exc}); quote it, e.g. --conf '{{\"x\": 1}}'.") from None
        body = {**(body if isinstance(body, dict) else {}), "conf": parsed}
    sources = dict(profile.sources)
    if body is not profile.payload:
        sources["payload"] = "--payload" if conf is None else "--conf"
    return dataclasses.replace(profile, payload=body, sources=sources)
