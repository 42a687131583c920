"""What every check shares: the Check protocol, the facts checks pass on, and how to read Airflow's error bodies."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Iterator

from airflow_doctor.checks.readers.credentials import Credentials, JwtClaims, Trial
from airflow_doctor.probe import Probe, ProbeResponse
from airflow_doctor import model
from airflow_doctor.model import Finding, Fix, Status, Uses
from airflow_doctor.sources.profile import Profile


class ApiFlavour(str, Enum):
    """Which REST API the server speaks."""

    V1 = "/api/v1"
    V2 = "/api/v2"


class Platform(str, Enum):
    SELF_HOSTED = "self-hosted"
    MWAA = "AWS MWAA"
    COMPOSER = "Google Cloud Composer"
    ASTRONOMER = "Astronomer"


@dataclass
class DagInfo:
    """What GET /dags/{id}/details said about the profile's DAG."""

    dag_id: str
    is_paused: bool | None
    is_active: bool | None
    has_import_errors: bool | None
    fileloc: str | None
    max_active_runs: int | None
    params: dict[str, Any]
    active_runs: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)


class Fact(str, Enum):
    """A fact one check learns for the checks after it; the value names the attribute of Facts that holds it."""

    API = "api"
    HEALTH = "health"
    CREDENTIALS = "credentials"
    TRIALS = "trials"
    DAG = "dag"


@dataclass
class Facts:
    """What earlier checks learned, for later checks. Filled in order; None means not learned (yet)."""

    base_url: str
    platform: Platform = Platform.SELF_HOSTED
    airflow_version: str | None = None
    api: ApiFlavour | None = None
    server: str | None = None
    health: dict[str, str | None] = field(default_factory=dict)
    auth_scheme: str | None = None
    credentials: Credentials | None = None
    trials: list[Trial] = field(default_factory=list)
    identity: str | None = None
    role: str | None = None
    claims: JwtClaims | None = None
    dag: DagInfo | None = None
    trigger_body: dict[str, Any] | None = None
    """The body that triggers the DAG on this server, as payload-schema corrected it (for the request that works)."""
    mwaa: Any = None
    """AWS MWAA: what GetEnvironment said (airflow_doctor.platforms.mwaa.client.MwaaState), for checks/_mwaa.py; None elsewhere."""

    @property
    def major(self) -> int | None:
        if self.airflow_version and self.airflow_version[0].isdigit():
            return int(self.airflow_version.split(".")[0])
        return {ApiFlavour.V1: 2, ApiFlavour.V2: 3}.get(self.api) if self.api else None

    def api_path(self, path: str) -> str:
        assert self.api is not None, "api_path used before reachability found the API"
        return f"{self.api.value}{path}"

    def summary_items(self) -> list[tuple[str, str]]:
        """Label/value pairs for the report header (renderers know nothing about Airflow)."""
        items = [("Airflow", self.airflow_version or "unknown"), ("API", self.api.value if self.api else "unknown"),
                 ("platform", self.platform.value)]
        if self.server:
            items.append(("server", self.server))
        if self.auth_scheme:
            items.append(("auth", self.auth_scheme))
        if self.identity:
            items.append(("identity", self.identity + (f" (role {self.role})" if self.role else "")))
        return items

    def has(self, fact: Fact) -> bool:
        """Whether the fact was learned (an empty health report or trial list was not)."""
        value = getattr(self, fact.value)
        return bool(value) if isinstance(value, (dict, list)) else value is not None

    def trial(self, credentials: Credentials) -> Trial | None:
        return next((t for t in self.trials if t.credentials == credentials), None)


@dataclass
class TriggerOptions:
    """What --trigger asked for. The callbacks are the CLI's: checks never talk to the terminal themselves."""

    wait: float = 60.0
    cleanup: bool = False
    confirm: Callable[[str], bool] = lambda plan: True
    progress: Callable[[str], None] = lambda text: None
    poll_interval: float = 1.0
    first_poll: float = 0.25
    """The first look comes sooner and each wait doubles up to poll_interval: a run that ends in its first seconds
    is reported when it ends, not up to a second later; a long one still costs one request a second."""

    def poll_waits(self) -> Iterator[float]:
        wait = min(self.first_poll, self.poll_interval)
        while True:
            yield wait
            wait = min(wait * 2, self.poll_interval)


@dataclass
class CheckContext:
    profile: Profile
    facts: Facts
    probe: Probe
    trigger: TriggerOptions | None = None
    """None: no --trigger, so nothing may create a DAG run."""


Check = model.Check[CheckContext]
"""The one check protocol (airflow_doctor.model.Check), with the context every check gets."""


def read_dags(ctx: CheckContext, credentials: Credentials, cookies: dict[str, str] | None = None) -> ProbeResponse:
    """The cheapest authenticated read: one DAG of the list."""
    return ctx.probe.get(ctx.facts.api_path("/dags"), params={"limit": 1}, auth=credentials.auth(), cookies=cookies)


def try_credentials(ctx: CheckContext, credentials: Credentials) -> Trial:
    """Send one credential form with a read; remember the answer so no later check asks again."""
    from airflow_doctor.probe import TransportError

    known = ctx.facts.trial(credentials)
    if known is not None:
        return known
    try:
        response = read_dags(ctx, credentials)
        trial = Trial(credentials, response.status, error_detail(response, 120), response.headers.get("WWW-Authenticate"),
                      response=response)
    except TransportError as failure:
        trial = Trial(credentials, None, failure.message, failure=failure)
    ctx.facts.trials.append(trial)
    return trial


def assume_credentials(ctx: CheckContext, credentials: Credentials, what: str) -> model.Assumption | None:
    """A failing auth check's fix, when it is known and safe: credentials the server just issued for the profile's
    (a token from /auth/token), accepted by a read. They become the later checks' credentials (the runner lets those
    checks run on the assumption); None when the read refused them, so nothing unproven is assumed."""
    if not try_credentials(ctx, credentials).accepted:
        return None
    ctx.facts.credentials = credentials
    return model.Assumption(what)


def assume_base_url(ctx: CheckContext, base_url: str, credentials: Credentials, what: str) -> model.Assumption | None:
    """The url where a token was issued (a sub-path the profile's url lacks), assumed with that token when the API
    accepts it there; otherwise the url stays the profile's and nothing is assumed."""
    given = ctx.facts.base_url
    ctx.facts.base_url = base_url.rstrip("/")
    ctx.probe.rebase(ctx.facts.base_url)
    assumed = assume_credentials(ctx, credentials, what)
    if assumed is None:
        ctx.facts.base_url = given
        ctx.probe.rebase(given)
    return assumed


def error_detail(response: ProbeResponse, limit: int = 300) -> str:
    """The server's own words for an error, whatever shape the body has (2.x problem+json, 3.x detail/error)."""
    body = response.json()
    if isinstance(body, dict):
        for key in ("detail", "error", "title", "message"):
            value = body.get(key)
            if value in (None, ""):
                continue
            if isinstance(value, list):
                parts = []
                for item in value:
                    if isinstance(item, dict):
                        loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                        parts.append(f"{loc}: {item.get('msg', item)}" if loc else str(item.get("msg", item)))
                    else:
                        parts.append(str(item))
                text = "; ".join(parts)
            elif isinstance(value, dict):
                text = str(value.get("message") or value.get("reason") or value)
            else:
                text = str(value)
            return _clip(text, limit)
        return _clip(str(body), limit)
    if response.is_html:
        return "an HTML page" + (f" titled '{title}'" if (title := html_title(response)) else "")
    text = response.text.strip()
    return _clip(text, limit) if text else "an empty body"


def html_title(response: ProbeResponse) -> str | None:
    import re

    match = re.search(rb"<title[^>]*>(.*?)</title>", response.body[:20000], re.I | re.S)
    if not match:
        return None
    return " ".join(match.group(1).decode("utf-8", errors="replace").split())[:120] or None


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_object(response: ProbeResponse) -> dict[str, Any] | None:
    body = response.json()
    return body if isinstance(body, dict) else None


__all__ = ["ApiFlavour", "Platform", "Fact", "Facts", "Uses", "CheckContext", "Check", "error_detail", "html_title",
           "json_object", "Finding", "Fix", "Status"]
