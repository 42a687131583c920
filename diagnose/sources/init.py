"""`airflow-doctor init`: ask for the URL, probe it, ask only what that server needs, save references.

The questions and answers go through two callables (the CLI passes typer's prompt and echo), so the flow
knows nothing about terminals.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from airflow_doctor.errors import OptionsError, ServerUnreachable
from airflow_doctor.sources.url import AWS_NEEDS_PROFILE, ServerModel, probe_server, validate_url
from airflow_doctor.sources.store import Saved, save_profile, secret_reference

Ask = Callable[[str, str], str]
"""Asks a question with a default answer ("" for none) and returns the answer."""
Say = Callable[[str], None]
URL_ATTEMPTS = 3


@dataclass(frozen=True)
class Initialised:
    name: str
    saved: Saved
    variable: str | None
    """The environment variable the profile reads its secret from, if any."""


def run_init(name: str, profiles_file: str | None, ask: Ask, say: Say, env: Mapping[str, str] = os.environ,
             detect: Callable[[str], ServerModel] = probe_server) -> Initialised:
    url = _ask_url(ask, say)
    say(f"Probing {url} (no credentials sent)…")
    server = detect(url)
    if not server.reachable:
        fix = server.finding.fix.text if server.finding.fix else ""
        raise ServerUnreachable(f"{url} did not answer like Airflow: {server.finding.summary}. {fix}".strip())
    say(server.describe())
    auth = _ask_auth(server, ask)
    body: dict[str, Any] = {"url": url, "auth": auth}
    dag = ask("DAG id to check (Enter to skip)", "").strip()
    if dag:
        body["dag_id"] = dag
    saved = save_profile(name, body, profiles_file, env)
    variable = _variable(auth)
    say(f"{'Updated' if saved.replaced else 'Wrote'} profile '{name}' in {saved.path} (references only, no secret)."
        + (f" The previous file is kept at {saved.backup}." if saved.backup else ""))
    if variable and not env.get(variable):
        say(f"{variable} is not set in this shell: run  export {variable}=...  (the check below runs reachability "
            f"only until it is).")
    return Initialised(name, saved, variable)


def _ask_url(ask: Ask, say: Say) -> str:
    for _ in range(URL_ATTEMPTS):
        try:
            return validate_url(ask("Airflow URL (what you open in the browser)", ""))
        except OptionsError as problem:
            say(str(problem))
    raise OptionsError(f"no valid URL after {URL_ATTEMPTS} tries; run init again with the address you open in the "
                       f"browser, e.g. https://airflow.example.com")


def _ask_auth(server: ServerModel, ask: Ask) -> dict[str, Any]:
    """Only what this server needs: a token for the platforms that issue them, else a user and where the password is."""
    if server.platform == "AWS MWAA":
        raise OptionsError(f"this is AWS MWAA. {AWS_NEEDS_PROFILE}")
    if server.platform in ("Google Cloud Composer", "Astronomer"):
        variable = _variable_name(ask(f"{server.platform} takes an API token: the environment variable that holds it",
                                      "AIRFLOW_TOKEN"))
        return {"type": "token", "token": f"${{{variable}}}"}
    user = ask("User name", "admin").strip()
    where = ask(f"Where is the password of {user} kept? An environment variable name, or a file path",
                "AIRFLOW_PASSWORD")
    key, value = secret_reference(where)
    if key == "password":
        _variable_name(value[2:-1])
    return {"type": server.auth_type().value, "username": user, key: value}


def _variable_name(answer: str) -> str:
    name = answer.strip().strip("${}")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise OptionsError(f"{name!r} is not an environment variable name (letters, digits and _); run init again.")
    return name


def _variable(auth: dict[str, Any]) -> str | None:
    for key in ("password", "token"):
        if key in auth:
            return str(auth[key])[2:-1]
    return None

