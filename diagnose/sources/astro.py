"""`profiles import astro`: an Astro deployment as a profile, read-only, its token as ${ASTRO_API_TOKEN}.

What the astro CLI keeps locally (github.com/astronomer/astro-cli, config/config.go, config/context.go,
cloud/deployment/inspect/inspect.go):
  - `$ASTRO_HOME/.astro/config.yaml`, default `~/.astro/config.yaml`: `context: <domain>` and
    `contexts.<domain with '.' as '_'>: {domain, organization, workspace, token, ...}` (the token is a user session
    token: never read here);
  - a project's `.astro/config.yaml`: `project.deployment`, the deployment id `astro deploy` remembers;
  - no deployment URL: that comes from Astro's API, which `astro deployment inspect <id> -o yaml` prints as
    `deployment.metadata.airflow_api_url` (host/path, often ending /api/v1 or /api/v2, no scheme).
So the URL is taken from that inspect output (`--inspect FILE`); the configs only name what to inspect.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from airflow_doctor.errors import ProfileError
from airflow_doctor.sources.store import ForeignProfile

TOKEN_VARIABLE = "ASTRO_API_TOKEN"
"""The astro CLI's own variable for a Deployment/Workspace/Organization API token."""
MAX_FILE_BYTES = 1024 * 1024
_API_SUFFIX = re.compile(r"/api/v[12]/?$")


@dataclass(frozen=True)
class AstroContext:
    """What the astro CLI's configs say about where it points: never its token."""

    domain: str | None = None
    workspace: str | None = None
    deployment_id: str | None = None
    read_from: tuple[Path, ...] = ()


def home_config(env: Mapping[str, str]) -> Path:
    base = env.get("ASTRO_HOME") or env.get("HOME") or "~"
    return Path(base).expanduser() / ".astro" / "config.yaml"


def _load(path: Path, what: str) -> Any:
    import yaml

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ProfileError(f"{what} {path} is larger than 1 MiB; check that it is the right file.")
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{what} {path} does not exist; check the path.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{what} {path} cannot be read ({getattr(exc, 'strerror', None) or exc}).") from None
    except yaml.YAMLError:
        raise ProfileError(f"{what} {path} is neither YAML nor JSON; give the output of "
                           f"'astro deployment inspect <id> -o yaml'.") from None


def _quietly(path: Path, what: str) -> Any:
    """A config that only adds context: unreadable is the same as absent."""
    try:
        return _load(path, what)
    except ProfileError:
        return None


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def current_context(env: Mapping[str, str], project_dir: Path) -> AstroContext:
    """The context's domain and workspace (home config) and the project's deployment id, where the files exist."""
    read_from: list[Path] = []
    home, project = home_config(env), project_dir / ".astro" / "config.yaml"
    domain = workspace = deployment = None
    if home.is_file():
        data = _quietly(home, "The astro config")
        domain = env.get("ASTRO_DOMAIN") or _get(data, "context")
        context = _get(data, "contexts", str(domain or "").replace(".", "_"))
        workspace = _get(context, "workspace") or _get(context, "last_used_workspace")
        read_from.append(home)
    if project.is_file() and project.resolve() != home.resolve():
        deployment = _get(_quietly(project, "The astro project config"), "project", "deployment")
        read_from.append(project)
    return AstroContext(*(str(v) if v else None for v in (domain, workspace, deployment)), tuple(read_from))


def deployment_url(metadata: Any) -> str | None:
    """The address the doctor starts from: the Airflow API URL without its /api/vN, with https:// when it has none."""
    raw = _get(metadata, "airflow_api_url") or _get(metadata, "webserver_url")
    if not isinstance(raw, str) or not raw.strip():
        return None
    url = _API_SUFFIX.sub("", raw.strip().split("?")[0]).rstrip("/")
    return url if url.startswith(("http://", "https://")) else f"https://{url}"


def profile_name(configuration: Any, deployment_id: str | None) -> str:
    name = str(_get(configuration, "name") or deployment_id or "astro")
    return re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-") or "astro"


def read(inspect_file: Path | None, env: Mapping[str, str] = os.environ, project_dir: Path | None = None) -> ForeignProfile:
    context = current_context(env, project_dir or Path.cwd())
    if inspect_file is None:
        target = context.deployment_id or "<deployment-id>"
        known = f" (this project deploys to {context.deployment_id})" if context.deployment_id else ""
        raise ProfileError(f"the astro CLI keeps no deployment URL locally{known}; run 'astro deployment inspect "
                           f"{target} -o yaml > deployment.yaml', then add --inspect deployment.yaml.")
    deployment = _get(_load(inspect_file, "The inspect output"), "deployment")
    metadata, configuration = _get(deployment, "metadata"), _get(deployment, "configuration")
    url = deployment_url(metadata)
    if url is None:
        raise ProfileError(f"{inspect_file} has no deployment.metadata.airflow_api_url; give the output of "
                           f"'astro deployment inspect <id> -o yaml'.")
    deployment_id = _get(metadata, "deployment_id")
    described = f"Astro deployment {_get(configuration, 'name') or deployment_id or url}"
    version = _get(metadata, "airflow_version")
    body = {"url": url, "auth": {"type": "token", "token": f"${{{TOKEN_VARIABLE}}}"},
            "description": f"{described}{f', Airflow {version}' if version else ''} (imported from {inspect_file})"}
    notes = [f"No token was copied: create a Deployment API token for it (Astro UI: Deployment > Access > API "
             f"Tokens) and export {TOKEN_VARIABLE}=... before checking."]
    if context.domain:
        notes.append(f"astro context: {context.domain}" + (f", workspace {context.workspace}" if context.workspace else ""))
    return ForeignProfile(profile_name(configuration, deployment_id), body, (*context.read_from, inspect_file),
                          tuple(notes))
