"""Real Airflow servers for the integration tier, provisioned by the sandbox code (installed on first use).

Per server: the users users have (Admin/Op/User/Viewer, one with a non-ASCII password) and the DAGs of
tests/integration/dags.py. A server key is a release ("2.11.2"), with "-fab" for Airflow 3 with the FAB auth
manager. Airflow 2 servers run more webservers on the same database (the session-only API backend of a bare
install, deny_all, default, single sign-on) next to the basic+session one; 3.1.x runs a second api-server without
[api_auth] jwt_issuer (its token endpoint answers 500 with the PyJWT releases of today).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_doctor.sandbox import ADMIN_USER, DEFAULT_AIRFLOW, NEWEST_AIRFLOW_2, Sandbox, install, log_tail
from tests.integration.dags import BROKEN, DAGS_COMMON, DAGS_V3_ONLY

VERSIONS = ("2.10.5", DEFAULT_AIRFLOW)
"""The default pair: tests that prove one thing per major run on these."""
FAB3 = f"{DEFAULT_AIRFLOW}-fab"
OLD3 = "3.1.3"
SCENARIO_SERVERS = ("2.10.5", NEWEST_AIRFLOW_2, OLD3, "3.2.2", DEFAULT_AIRFLOW, FAB3)
"""The servers the scenario suite runs on: every Airflow people run, from 2.10 to 3.3 with FAB."""
NO_ISSUER_API_SERVER = "api-server-no-issuer"
NO_ISSUER_RELEASES = (OLD3,)
"""Releases whose token endpoint crashes (500) without [api_auth] jwt_issuer: they get a second api-server without it."""
ROLES_FAB = {"op": "Op", "user1": "User", "viewer": "Viewer"}
SESSION_ONLY = {"AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.session"}
DENY_ALL = {"AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.deny_all"}
NO_AUTH_BACKEND = {"AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.default",
                   "AIRFLOW__FAB__AUTH_RATE_LIMITED": "True", "AIRFLOW__FAB__AUTH_RATE_LIMIT": "2 per 60 second"}
"""Also the one webserver whose login form keeps a rate limit (the others are logged into by every scenario)."""
SSO_WEBSERVER_CONFIG = """\
# FAB with single sign-on only: the login page offers an identity provider and no password field.
from flask_appbuilder.security.manager import AUTH_OAUTH

AUTH_TYPE = AUTH_OAUTH
AUTH_USER_REGISTRATION = True
AUTH_USER_REGISTRATION_ROLE = "Viewer"
OAUTH_PROVIDERS = [{
    "name": "azure", "icon": "fa-windows", "token_key": "access_token",
    "remote_app": {
        "client_id": "airflow-doctor-test", "client_secret": "unused",
        "api_base_url": "https://login.microsoftonline.com/example/oauth2",
        "access_token_url": "https://login.microsoftonline.com/example/oauth2/token",
        "authorize_url": "https://login.microsoftonline.com/example/oauth2/authorize",
        "client_kwargs": {"scope": "openid email profile"},
    },
}]
"""
FAB_PERMISSIONS_FRESH = {"AIRFLOW__FAB__CACHE_TTL": "2"}
"""Airflow 3 with FAB keeps a user's permissions 30 s ([fab] cache_ttl): a grant a test applies counts in seconds."""
PASSWORDS = {"op": "op-pass-1", "user1": "pässwörd", "viewer": "viewer-pass-1"}
ROLES_V2 = {"op": "Op", "user1": "User", "viewer": "Viewer"}
ROLES_V3 = {"op": "op", "user1": "user", "viewer": "viewer"}
AGEING_TIMEOUT = 600.0
"""A deadline, not a wait: re-parsing two changed DAG files takes seconds, but minutes on a loaded 2-core machine."""


ADMIN_TOKEN_REUSE_S = 300.0
"""Airflow 3 tokens live 24 h by default; the test tier asks for a new one every few minutes."""
_ADMIN_TOKENS: dict[str, tuple[str, float]] = {}


@dataclass
class Server:
    """A started scenario server and what tests need to know about it."""

    sandbox: Sandbox
    deleted_at_heartbeat: str | None = field(default=None, repr=False)
    """The scheduler's latest heartbeat when this tier last deleted a run, until settle() sees a newer one."""

    @property
    def version(self) -> str:
        return self.sandbox.version

    @property
    def major(self) -> int:
        return self.sandbox.major

    @property
    def url(self) -> str:
        return self.sandbox.url

    @property
    def fab(self) -> bool:
        """Airflow 3 with the FAB auth manager (FAB's users and roles, as Airflow 2 has them)."""
        return self.major >= 3 and self.sandbox.auth_manager == "fab"

    @property
    def session_only_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox.extra_ports['webserver-session']}"

    def webserver(self, name: str) -> str:
        return f"http://127.0.0.1:{self.sandbox.extra_ports[name]}"

    @property
    def sso_url(self) -> str:
        return self.webserver("webserver-sso")

    def password(self, user: str) -> str:
        return self.sandbox.admin_password if user == ADMIN_USER else PASSWORDS[user]

    def admin_headers(self) -> dict[str, str]:
        if self.major >= 3:
            return {"Authorization": f"Bearer {self._admin_token()}"}
        import base64

        raw = f"{ADMIN_USER}:{self.password(ADMIN_USER)}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def _admin_token(self) -> str:
        """One token per few minutes, not one per call: a scenario makes dozens of these calls."""
        issued = _ADMIN_TOKENS.get(self.url)
        if issued is None or time.monotonic() - issued[1] > ADMIN_TOKEN_REUSE_S:
            token = requests.post(f"{self.url}/auth/token", json={"username": ADMIN_USER, "password": self.password(ADMIN_USER)},
                                  timeout=10).json()["access_token"]
            issued = _ADMIN_TOKENS[self.url] = (token, time.monotonic())
        return issued[0]

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        prefix = "/api/v2" if self.major >= 3 else "/api/v1"
        return requests.request(method, self.url + prefix + path, headers=self.admin_headers(), timeout=20, **kwargs)

    def delete_run(self, dag_id: str, run_id: str) -> None:
        """Delete a run a test created, marked failed first, as an operator would: Airflow 3.2+ refuses to delete a
        running run (409 'cannot be deleted in running state'). A scheduler loop that was working on the run exits
        on a StaleDataError (seen on 2.10.5 and 3.1.3), so the next test on this server settles first."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}"
        self.api("PATCH", path, json={"state": "failed"})
        self.api("DELETE", path)
        self.deleted_at_heartbeat = self.scheduler_heartbeat()

    def scheduler_heartbeat(self) -> str | None:
        path = "/api/v2/monitor/health" if self.major >= 3 else "/api/v1/health"
        return requests.get(self.url + path, timeout=20).json()["scheduler"]["latest_scheduler_heartbeat"]

    def settle(self) -> None:
        """Until the scheduler heartbeats after the last run this tier deleted, then until it is healthy. It
        heartbeats after a loop's scheduling, so by then the loop that may have held the run has ended: if it
        exited, its restarted successor is what heartbeats. Usually other tests ran meanwhile: one request."""
        if self.deleted_at_heartbeat is not None:
            deadline = time.monotonic() + AGEING_TIMEOUT
            while self.scheduler_heartbeat() == self.deleted_at_heartbeat:
                assert time.monotonic() < deadline, f"the scheduler of {self.version} stopped heartbeating"
                time.sleep(0.2)
            self.deleted_at_heartbeat = None
        self.wait_healthy()

    def wait_healthy(self) -> None:
        """Until the API, the scheduler and the parser answer healthy (a restarted scheduler is unhealthy until it
        heartbeats)."""
        self.sandbox.wait_ready(AGEING_TIMEOUT, dag_id=None)

    def all_runs(self) -> list[tuple[str, str]]:
        """(dag id, run id) of every run on the server, in a few reads rather than one per DAG."""
        runs: list[tuple[str, str]] = []
        while True:
            body = self.api("GET", "/dags/~/dagRuns", params={"limit": 100, "offset": len(runs)}).json()
            runs += [(r["dag_id"], r["dag_run_id"]) for r in body["dag_runs"]]
            if not body["dag_runs"] or len(runs) >= body["total_entries"]:
                return sorted(runs)

    def run_ids(self, dag_id: str) -> list[str]:
        body = self.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100}).json()
        return sorted(r["dag_run_id"] for r in body["dag_runs"])

    def profile(self, tmp_path: Path, *, user: str = ADMIN_USER, password: str | None = None, auth_type: str | None = None,
                dag_id: str = "doctor_demo", payload: Any = "default", url: str | None = None, token: str | None = None,
                name: str = "scenario") -> Path:
        """A single-profile file for this server; secrets go through a password/token file, as users keep them."""
        auth_type = auth_type or ("jwt" if self.major >= 3 else "basic")
        secret_file = tmp_path / f"{name}.secret"
        lines = [f"url: {url or self.url}", "auth:", f"  type: {auth_type}"]
        if auth_type in ("basic", "jwt"):
            secret_file.write_text(self.password(user) if password is None else password)
            lines += [f"  username: {user}", f"  password_file: {secret_file}"]
        elif auth_type == "token":
            secret_file.write_text(token or "")
            lines += [f"  token_file: {secret_file}"]
        if secret_file.exists():
            secret_file.chmod(0o600)
        lines.append(f"dag_id: {dag_id}")
        if payload == "default":
            payload = {"logical_date": None, "conf": {"batch_size": 5}} if self.major >= 3 else {"conf": {"batch_size": 5}}
        if payload is not None:
            lines.append(f"payload: {json.dumps(payload, ensure_ascii=False)}")
        lines.append("timeout: {connect: 2, read: 20}")
        path = tmp_path / f"{name}.yml"
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        return path


def scenario_server_keys() -> tuple[str, ...]:
    """The keys of the servers the scenario suite runs on (read from here only)."""
    return SCENARIO_SERVERS


def key_release(key: str) -> tuple[str, bool]:
    """The release a server key names, and whether it is the FAB auth manager flavour ("3.3.2-fab")."""
    version, _, flavour = key.partition("-")
    return version, flavour == "fab"


def key_major(key: str) -> int:
    return int(key_release(key)[0].split(".")[0])


def start_server(key: str, root: Path) -> Server:
    """A full scenario server for any release ("2.8.4", "3.0.6", "3.3.2-fab"): users, DAGs, aged DAG files."""
    version, fab = key_release(key)
    major = int(version.split(".")[0])
    extras = ("fab",) if fab else ()
    venv = install(version, extras=extras)
    roles = ROLES_FAB if fab else ROLES_V3 if major >= 3 else ROLES_V2
    sandbox = Sandbox(version, root, extras=extras, auth_manager="fab" if fab else "simple",
                      extra_env={"AIRFLOW__FAB__AUTH_RATE_LIMITED": "False", **FAB_PERMISSIONS_FRESH},
                      dag_files={**DAGS_COMMON, **(DAGS_V3_ONLY if major >= 3 else {})},
                      users=[(name, PASSWORDS[name], role) for name, role in roles.items()],
                      extra_webservers=_extra_webservers(version, venv, root))
    sandbox.prepare()
    sandbox.start_until_ready()
    try:
        server = Server(sandbox)
        _age_dag_files(server)
    except BaseException:
        sandbox.stop()
        raise
    sandbox.write_profile()
    return server


def _extra_webservers(version: str, venv: Path, root: Path) -> dict[str, dict[str, str | None]]:
    """Airflow 2: the webservers of the auth-backend scenarios; 3.1.x: an api-server without jwt_issuer."""
    if version in NO_ISSUER_RELEASES:
        return {NO_ISSUER_API_SERVER: {"AIRFLOW__API_AUTH__JWT_ISSUER": None}}
    if int(version.split(".")[0]) >= 3:
        return {}
    _ensure_package(venv, "authlib")
    sso_config = root / "webserver_config_sso.py"
    sso_config.write_text(SSO_WEBSERVER_CONFIG)
    return {"webserver-session": SESSION_ONLY, "webserver-deny": DENY_ALL, "webserver-default": NO_AUTH_BACKEND,
            "webserver-sso": {"AIRFLOW__WEBSERVER__CONFIG_FILE": str(sso_config)}}


def _ensure_package(venv: Path, package: str) -> None:
    """FAB's OAuth login page needs authlib, which Airflow does not install; add it to the cached venv once."""
    import subprocess

    python = venv / "bin" / "python"
    if subprocess.call([str(python), "-c", f"import {package}"], stderr=subprocess.DEVNULL) != 0:
        subprocess.check_call([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", package],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _age_dag_files(server: Server, timeout: float = AGEING_TIMEOUT) -> None:
    """Once parsed, break one DAG file and delete another, and wait until the API shows both."""
    deadline = time.monotonic() + timeout
    dags = server.sandbox.root / "dags"
    while time.monotonic() < deadline:
        if all(server.api("GET", f"/dags/{d}").status_code == 200 for d in ("doctor_becomes_broken", "doctor_stale")):
            break
        time.sleep(1)
    (dags / "doctor_becomes_broken.py").write_text(BROKEN.replace("doctor_missing", "doctor_becomes_broken"))
    (dags / "doctor_stale.py").unlink()
    stale_key = "is_stale" if server.major >= 3 else "is_active"
    while time.monotonic() < deadline:
        broken = server.api("GET", "/dags/doctor_becomes_broken").json().get("has_import_errors")
        stale = server.api("GET", "/dags/doctor_stale").json().get(stale_key)
        if broken and stale == (server.major >= 3):
            return
        time.sleep(1)
    parser = server.sandbox.log_path("dag-processor" if server.major >= 3 else "scheduler")
    raise RuntimeError(f"Airflow {server.version} did not mark the broken and the deleted DAG files in {timeout:.0f} s; "
                       f"the last lines of {parser}:\n{log_tail(parser)}")


KEYS = tuple(dict.fromkeys((*VERSIONS, *scenario_server_keys())))
SHARED_SERVERS = "AIRFLOW_DOCTOR_TEST_SERVERS"
"""Development only (never set in CI): a folder whose servers are started once and reused by later test sessions."""
SHARED_FOLDERS = {OLD3: f"{OLD3}-full", FAB3: f"{FAB3}-full"}
"""Keys whose server changed (3.1.3 was a bare install without scheduler, FAB had only doctor_demo) live in new
folders, so a set an older conftest left running is never mistaken for them."""


def shared_folder(key: str) -> str:
    return SHARED_FOLDERS.get(key, key)


def _start_all(roots: dict[str, Path]) -> tuple[dict[str, Server], list[str]]:
    servers: dict[str, Server] = {}
    errors = []
    with ThreadPoolExecutor(max(1, len(roots))) as pool:
        futures = {key: pool.submit(start_server, key, root) for key, root in roots.items()}
        for key, future in futures.items():
            try:
                servers[key] = future.result()
            except Exception as exc:  # keep going so every started server is stopped
                errors.append(f"{key}: {exc}")
    return servers, errors


def _reused(root: Path) -> Server | None:
    """A server an earlier session left running in `root`, if all its processes are still alive."""
    from airflow_doctor.sandbox import _alive, stop_pids

    try:
        saved = json.loads((root / "server.json").read_text())
    except (OSError, ValueError):
        return None
    if not all(_alive(pid) for pid in saved["processes"].values()):
        stop_pids(list(saved["processes"].values()))  # a half-dead set (a scheduler that died) is replaced whole
        return None
    sandbox = Sandbox(saved["version"], root, port=saved["port"], extras=tuple(saved["extras"]),
                      auth_manager=saved.get("auth_manager", "simple"),
                      extra_ports=saved["extra_ports"], processes=saved["processes"],
                      admin_password=(root / "admin-password").read_text())
    return Server(sandbox)


def _shared_servers(folder: Path) -> dict[str, Server]:
    """Reuse the servers running in `folder`, starting (under a lock) the ones that are not; they are left running."""
    import fcntl
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        servers = {key: server for key in KEYS if (server := _reused(folder / shared_folder(key))) is not None}
        missing = {key: folder / shared_folder(key) for key in KEYS if key not in servers}
        for root in missing.values():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
        started, errors = _start_all(missing)
        for key, server in started.items():
            box = server.sandbox
            (folder / shared_folder(key) / "server.json").write_text(json.dumps(
                {"version": box.version, "port": box.port, "extras": list(box.extras), "extra_ports": box.extra_ports,
                 "processes": box.processes, "auth_manager": box.auth_manager}))
        if errors:
            pytest.fail("could not start Airflow: " + "; ".join(errors))
        return {**servers, **started}


def _stop_all(servers: dict[str, Server]) -> None:
    with ThreadPoolExecutor(max(1, len(servers))) as pool:  # each waits up to its grace period: not in turn
        list(pool.map(lambda server: server.sandbox.stop(), servers.values()))


class EarlyStart:
    """The servers, started by a child process as soon as the tests are collected, so that their start-up (a
    minute and a half of both cores) overlaps the unit tier, which keeps one core busy. A process, not a thread:
    unit tests monkeypatch os.environ and subprocess, which a thread would share."""

    def __init__(self, base: Path) -> None:
        self.base, self.taken = base, False
        self.log = base / "start.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", f"from tests.integration.conftest import start_into; start_into({str(base)!r})"],
                cwd=Path(__file__).parents[2], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def result(self) -> tuple[dict[str, Server], list[str]]:
        self.process.wait()
        try:
            return pickle.loads((self.base / "servers.pickle").read_bytes())
        except (OSError, EOFError, pickle.UnpicklingError):
            return {}, [f"the process starting them exited ({self.process.returncode}) with no result; see {self.log}"]


def start_into(base: str) -> None:
    """EarlyStart's child: start every server under `base`; leave them running and say where they are."""
    roots = {key: Path(base) / f"airflow-{key}" for key in KEYS}
    for root in roots.values():
        root.mkdir()
    result = pickle.dumps(_start_all(roots))
    (Path(base) / "servers.pickle.part").write_bytes(result)
    (Path(base) / "servers.pickle.part").rename(Path(base) / "servers.pickle")


_early: EarlyStart | None = None


def pytest_collection_finish(session: pytest.Session) -> None:
    global _early
    if os.environ.get("AIRFLOW_DOCTOR_SKIP_INTEGRATION") or os.environ.get(SHARED_SERVERS) or \
            session.config.option.collectonly:
        return
    if any("airflow_servers" in getattr(item, "fixturenames", ()) for item in session.items):
        _early = EarlyStart(session.config._tmp_path_factory.mktemp("airflow-servers"))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Servers no test took (the session was interrupted first) are stopped too, once started."""
    if _early is not None and not _early.taken:
        _early.taken = True
        _stop_all(_early.result()[0])


@pytest.fixture(scope="session")
def airflow_servers(tmp_path_factory: pytest.TempPathFactory):
    """Airflow 2 and 3 on 127.0.0.1, started side by side, stopped by PID when the session ends."""
    if os.environ.get("AIRFLOW_DOCTOR_SKIP_INTEGRATION"):
        pytest.skip("AIRFLOW_DOCTOR_SKIP_INTEGRATION is set")
    if os.environ.get(SHARED_SERVERS):
        yield _shared_servers(Path(os.environ[SHARED_SERVERS]))
        return
    if _early is not None and not _early.taken:
        _early.taken = True
        servers, errors = _early.result()
    else:
        servers, errors = _start_all({key: tmp_path_factory.mktemp(f"airflow-{key}") for key in KEYS})
    try:
        if errors:
            pytest.fail("could not start Airflow: " + "; ".join(errors))
        yield servers
    finally:
        _stop_all(servers)


def settled(server: Server) -> Server:
    """A server as a test should find it: see Server.settle."""
    server.settle()
    return server


@pytest.fixture(params=VERSIONS, ids=lambda v: f"airflow-{v}")
def airflow(request: pytest.FixtureRequest, airflow_servers: dict[str, Server]) -> Server:
    return settled(airflow_servers[request.param])


@pytest.fixture(params=scenario_server_keys(), ids=lambda key: f"airflow-{key}")
def scenario_server(request: pytest.FixtureRequest, airflow_servers: dict[str, Server]) -> Server:
    """Each server of the scenario suite in turn."""
    return settled(airflow_servers[request.param])


@pytest.fixture(params=[k for k in scenario_server_keys() if key_major(k) == 2], ids=lambda key: f"airflow-{key}")
def scenario_server2(request: pytest.FixtureRequest, airflow_servers: dict[str, Server]) -> Server:
    """Each Airflow 2 server of the scenario suite in turn."""
    return settled(airflow_servers[request.param])


@pytest.fixture(params=[k for k in scenario_server_keys() if key_major(k) >= 3], ids=lambda key: f"airflow-{key}")
def scenario_server3(request: pytest.FixtureRequest, airflow_servers: dict[str, Server]) -> Server:
    """Each Airflow 3 server of the scenario suite in turn (FAB included)."""
    return settled(airflow_servers[request.param])


@pytest.fixture
def airflow2(airflow_servers: dict[str, Server]) -> Server:
    return settled(airflow_servers["2.10.5"])


@pytest.fixture
def airflow3(airflow_servers: dict[str, Server]) -> Server:
    return settled(airflow_servers[DEFAULT_AIRFLOW])


@pytest.fixture
def airflow3_fab(airflow_servers: dict[str, Server]) -> Server:
    return settled(airflow_servers[FAB3])


@pytest.fixture
def airflow3_old(airflow_servers: dict[str, Server]) -> Server:
    return settled(airflow_servers[OLD3])
