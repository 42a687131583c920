"""`profiles import airflowctl`: an airflowctl environment as a profile, read-only, its token as a ${VAR} reference.

What airflowctl keeps (apache-airflow-ctl 0.1.5, airflowctl/api/client.py, class Credentials):
  - `$AIRFLOW_HOME/<environment>.json` (AIRFLOW_HOME defaults to ~/airflow) holding `{"api_url": "..."}`;
    the environment is `$AIRFLOW_CLI_ENVIRONMENT`, else `--env` of `airflowctl auth login`, default "production";
  - the token in the system keyring (service "airflowctl", user "api_token_<environment>"), or in
    `debug_creds_<environment>.json` in debug mode (never opened here), or given as `$AIRFLOW_CLI_TOKEN`.
The client calls `<api_url>/api/v2` with `Authorization: Bearer <token>`: an Airflow 3 token profile.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

from airflow_doctor.errors import ProfileError
from airflow_doctor.sources.store import ForeignProfile

DEFAULT_ENVIRONMENT = "production"
TOKEN_VARIABLE = "AIRFLOW_CLI_TOKEN"
"""airflowctl's own variable for a token; the profile refers to it, so one export serves both tools."""
MAX_CONFIG_BYTES = 64 * 1024


def airflow_home(env: Mapping[str, str]) -> Path:
    return Path(env.get("AIRFLOW_HOME") or Path(env.get("HOME", "~")).expanduser() / "airflow").expanduser()


def environment_name(requested: str | None, env: Mapping[str, str]) -> str:
    name = requested or env.get("AIRFLOW_CLI_ENVIRONMENT") or DEFAULT_ENVIRONMENT
    if "/" in name or "\\" in name or ".." in name or not name.strip():
        raise ProfileError(f"'{name}' is not an airflowctl environment name (no path separators or '..').")
    return name


def environments(home: Path) -> list[str]:
    """The environments airflowctl has logged in to: its `<name>.json` files that hold an api_url."""
    found = []
    for path in sorted(home.glob("*.json")) if home.is_dir() else ():
        if not path.name.startswith("debug_creds_") and _api_url(path) is not None:
            found.append(path.stem)
    return found


def _api_url(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    url = data.get("api_url") if isinstance(data, dict) else None
    return url.strip() if isinstance(url, str) and url.strip() else None


def read(requested: str | None, env: Mapping[str, str] = os.environ) -> ForeignProfile:
    home = airflow_home(env)
    name = environment_name(requested, env)
    path = home / f"{name}.json"
    url = _api_url(path)
    if url is None:
        others = [e for e in environments(home) if e != name]
        where = f"{path} is missing or holds no api_url"
        hint = (f"it has: {', '.join(others)}; pass --env {others[0]}" if others
                else "run 'airflowctl auth login' first, or set AIRFLOW_HOME to where airflowctl keeps its files")
        raise ProfileError(f"airflowctl has no environment '{name}' ({where}); {hint}.")
    body = {"url": url.rstrip("/"), "auth": {"type": "token", "token": f"${{{TOKEN_VARIABLE}}}"},
            "description": f"airflowctl environment {name} (imported from {path})"}
    notes = (f"airflowctl keeps the token in the system keyring, not in {path}; nothing was copied. Before checking: "
             f"export {TOKEN_VARIABLE}=\"$(keyring get airflowctl api_token_{name})\" (or the token you pass to "
             f"airflowctl); such tokens expire, so log in again when the check says it was refused.",)
    return ForeignProfile(name, body, (path,), notes)
