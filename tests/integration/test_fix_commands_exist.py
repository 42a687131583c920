"""Every fix template's command is one that exists where it is printed (issue 18 §7): the findings are built from
answers recorded on real servers (tests/recorded), as the unit tier replays them, and each `airflow ...` line the fix
prints is checked against `airflow <group> <command> --help` of every installed Airflow of that auth manager: the
command exists and takes each flag printed. The simple auth manager's lines are proven the same way: its setting
exists in that version, and the password command prints the password from a file laid out as Airflow writes it.

Needs the Airflow venvs the integration tier installs (no server): ~/.cache/airflow-doctor/venvs/af-<version>[-fab].
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import pytest
import responses

from airflow_doctor.checks import auth_backend, dag_exists, permissions
from airflow_doctor.checks.readers.auth_airflow3 import PASSWORDS_FILE
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.model import Finding
from airflow_doctor.sandbox.state import venv_dir
from tests.conftest import check_context, recorded, replay

pytestmark = pytest.mark.integration

BASE = "http://airflow.test"
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
FAB_AIRFLOWS = ("2.10.5", "2.11.2", "3.3.2-fab")
SIMPLE_AIRFLOWS = ("3.1.3", "3.2.2", "3.3.2")
ALL_AIRFLOWS = (*FAB_AIRFLOWS, *SIMPLE_AIRFLOWS)


def _context(label: str, *, authenticated: bool = False, **kw):  # type: ignore[no-untyped-def]
    """A context as the checks before leave it; `authenticated`: auth-backend passed (as the case tables set it)."""
    version = label.removeprefix("airflow-").split("-")[0]
    api = "/api/v1" if version.startswith("2.") else "/api/v2"
    ctx = check_context(BASE, api=api, version=version, **kw)
    if authenticated:
        ctx.facts.credentials = Credentials(Scheme.BASIC, kw.get("username", "admin"), ctx.profile.auth.password)
    return ctx


def wrong_password_v2() -> Finding:
    ctx = _context("airflow-2.10.5", password="not-it")
    replay(responses, BASE, "airflow-2.10.5", "dags_basic_wrong", path="/api/v1/dags?limit=1")
    replay(responses, BASE, "airflow-2.10.5", "login_page")
    replay(responses, BASE, "airflow-2.10.5", "login_post_rejected")
    return auth_backend.Check().run(ctx)


def wrong_password_v3(label: str) -> Callable[[], Finding]:
    def build() -> Finding:
        ctx = _context(label, auth_type="jwt", password="wrong")
        replay(responses, BASE, label, "token_wrong")
        replay(responses, BASE, label, "auth_login_redirect")
        return auth_backend.Check().run(ctx)
    return build


def forbidden(label: str, probe: str, edit: str, username: str) -> Callable[[], Finding]:
    def build() -> Finding:
        from airflow_doctor.checks.dag_exists import dag_info

        ctx = _context(label, authenticated=True, username=username)
        ctx.facts.identity = username
        ctx.facts.dag = dag_info(json.loads(recorded(label, "details_demo_dag_level")["body"]), ctx.facts.api)
        replay(responses, BASE, label, probe)
        replay(responses, BASE, label, edit)
        return permissions.Check().run(ctx)
    return build


def unknown_dag(label: str, processor: str | None = "healthy") -> Callable[[], Finding]:
    def build() -> Finding:
        ctx = _context(label, authenticated=True, dag_id="no_such_dag", health={"scheduler": "healthy", "dag_processor": processor})
        api = ctx.facts.api.value
        replay(responses, BASE, label, "details_missing")
        replay(responses, BASE, label, "details_missing", path=f"{api}/dags/no_such_dag")
        replay(responses, BASE, label, "import_errors")
        replay(responses, BASE, label, "dags_list")
        return dag_exists.Check().run(ctx)
    return build


@dataclass(frozen=True)
class Template:
    name: str
    build: Callable[[], Finding]
    airflows: tuple[str, ...]
    """The installed Airflows (venv keys) where the printed lines must exist."""


TEMPLATES = (
    Template("airflow-2-wrong-password", wrong_password_v2, ("2.10.5", "2.11.2")),
    Template("airflow-3-fab-wrong-password", wrong_password_v3("airflow-3.3.2-fab"), ("3.3.2-fab",)),
    *(Template(f"airflow-{v}-simple-wrong-password", wrong_password_v3(f"airflow-{v}"), (v,)) for v in SIMPLE_AIRFLOWS),
    *(Template(f"{label}-viewer-dag-scoped-grant", forbidden(label, "probe_viewer", "edit_probe_viewer", "viewer"),
               airflows)
      for label, airflows in (("airflow-2.10.5", ("2.10.5", "2.11.2")), ("airflow-3.3.2-fab", ("3.3.2-fab",)))),
    *(Template(f"{label}-dag-run-create-grant", forbidden(label, "probe_dag_level", "edit_probe_dag_level",
                                                          "dag_level_user"), airflows)
      for label, airflows in (("airflow-2.10.5", ("2.10.5", "2.11.2")), ("airflow-3.3.2-fab", ("3.3.2-fab",)))),
    Template("airflow-2-unknown-dag", unknown_dag("airflow-2.10.5"), ("2.10.5", "2.11.2")),
    Template("airflow-3-unknown-dag", unknown_dag("airflow-3.3.2"), ("3.1.3", "3.2.2", "3.3.2", "3.3.2-fab")),
    Template("airflow-3-unknown-dag-no-dag-processor", unknown_dag("airflow-3.3.2", processor=None),
             ("3.1.3", "3.2.2", "3.3.2", "3.3.2-fab")),
)


def venv_airflow(key: str) -> Path:
    version, _, flavour = key.partition("-")
    return venv_dir(version, extras=(flavour,) if flavour else ()) / "bin" / "airflow"


@lru_cache(maxsize=None)
def airflow_help(key: str, words: tuple[str, ...], home: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    if key.endswith("-fab"):
        env["AIRFLOW__CORE__AUTH_MANAGER"] = FAB_AUTH_MANAGER
    done = subprocess.run([str(venv_airflow(key)), *words, "--help"], env=env, capture_output=True, text=True,
                          timeout=300, cwd=home)
    return done.returncode, done.stdout + done.stderr


def command_and_flags(line: str) -> tuple[tuple[str, ...], list[str]]:
    """('roles', 'add-perms') and ['-r', '-a'] from an `airflow roles add-perms ROLE -r ... -a ...` line."""
    words = shlex.split(line)
    assert words[0] == "airflow", line
    command = tuple(w for w in words[1:3] if not w.startswith("-") and re.fullmatch(r"[a-z][a-z-]*", w))
    return command, [w for w in words if w.startswith("-")]


def _prove(key: str, line: str, home: str) -> None:
    command, flags = command_and_flags(line)
    code, text = airflow_help(key, command[:1], home)
    assert code == 0, (key, command[:1], text[-1500:])
    if len(command) == 2 and re.search(rf"\b{re.escape(command[1])}\b", text):  # a group: its subcommand is listed
        code, text = airflow_help(key, command, home)
        assert code == 0, (key, command, text[-1500:])
    else:
        command = command[:1]
    usage = text.split("positional arguments")[0] + text
    for flag in flags:
        assert re.search(rf"(^|[\s\[,]){re.escape(flag)}([\s\],=]|$)", usage, re.M), (key, " ".join(command), flag,
                                                                                     text[-1500:])


HOME = tempfile.mkdtemp(prefix="airflow-doctor-help-")
"""One AIRFLOW_HOME for every `--help` (each Airflow writes its default airflow.cfg there): the answers are cached."""


@responses.activate(assert_all_requests_are_fired=True)
def _finding(template: Template) -> Finding:
    return template.build()


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_every_airflow_command_a_fix_prints_exists_with_its_flags_where_it_is_printed(
        template: Template, tmp_path: Path) -> None:
    finding = _finding(template)
    assert finding.fix is not None, finding
    lines = [line for line in finding.fix.commands if line.startswith("airflow ")]
    other = [line for line in finding.fix.commands if not line.startswith("airflow ")]
    for key in template.airflows:
        if not venv_airflow(key).exists():
            pytest.skip(f"Airflow {key} is not installed ({venv_airflow(key)})")
        for line in lines:
            _prove(key, line, HOME)
        for line in other:
            _prove_simple_auth_manager_line(key, line, tmp_path)


def _prove_simple_auth_manager_line(key: str, line: str, tmp_path: Path) -> None:
    """The simple auth manager's lines: its users setting exists in this version; the password command prints the
    user's password from the passwords file (as Airflow lays it out: one JSON object, name -> password)."""
    if line.startswith("python3 -c"):
        (tmp_path / PASSWORDS_FILE).write_text(json.dumps({"admin": "the-admins-password", "other": "x"}) + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        done = subprocess.run(["/bin/sh", "-c", line], env={**env, "AIRFLOW_HOME": str(tmp_path)}, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.strip() == "the-admins-password", (line, done.stderr)
        return
    assert re.fullmatch(r"[\w.@-]+:(viewer|user|op|admin)", line), line
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    done = subprocess.run([str(venv_airflow(key)), "config", "get-value", "core", "simple_auth_manager_users"],
                          env={**env, "AIRFLOW_HOME": str(tmp_path)}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (key, done.stdout, done.stderr[-1500:])


@pytest.mark.parametrize("key", SIMPLE_AIRFLOWS)
def test_fab_user_commands_do_not_exist_with_the_simple_auth_manager(key: str, tmp_path: Path) -> None:
    """Why the fix depends on the auth manager: `airflow users` is FAB's, absent from the simple auth manager's CLI."""
    if not venv_airflow(key).exists():
        pytest.skip(f"Airflow {key} is not installed")
    code, text = airflow_help(key, ("users", "reset-password"), HOME)
    assert code != 0 and "invalid choice" in text, text[-800:]
