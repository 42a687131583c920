"""One real Airflow on 127.0.0.1: its home, configuration and users, its processes started under supervision, how
it fails (SandboxError, StartupFailure), and the wait until the API, the scheduler and the sample DAG answer."""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping

from airflow_doctor.errors import SandboxError, StartupFailure
from airflow_doctor.sandbox.state import SandboxState, _alive, free_port, stop_pids, venv_dir

ADMIN_USER = "admin"
PBKDF2_ROUNDS = 1000
READY_TIMEOUT = 300.0
"""Seconds one start-up attempt may take until the API, the scheduler and the sample DAG answer (a loaded 2-core
machine starting four Airflows at once needs minutes)."""
START_ATTEMPTS = 2
"""A server that does not become ready is stopped and started once more on a fresh port before the sandbox gives up."""
WATCHDOG_TIMEOUT = 3600
"""Seconds Airflow's own watchdogs allow a slow process: gunicorn's master and workers (Airflow 2), the API worker
(Airflow 3). Their default of 120 s killed a webserver whose worker took long to start on a loaded machine, and 600 s
shut down the extra 2.10.5 webservers ("No response from gunicorn master within 600 seconds") eleven minutes into a
test session."""
HEALTH_THRESHOLD = 120
"""Seconds without a heartbeat before /health calls the scheduler or DAG processor unhealthy (default 30), so a
loop that ran late on a loaded machine is not reported as a dead scheduler."""
REPARSE_UNCHANGED_S = 60
"""How often an unchanged DAG file is parsed again. A changed file is parsed at once (file_parsing_sort_mode
modified_time) and a new or deleted one within the 5 s folder scan, so this only bounds idle work: at 5 s an idle
Airflow 3.3.2 with 15 DAG files kept a third of a core busy, at 60 s 7 % (2.10.5: 12 % and 6 %)."""
LOG_TAIL_LINES = 40

SAMPLE_DAG = '''\
"""Sample DAG of the airflow-doctor sandbox."""
import datetime

try:  # Airflow 3
    from airflow.sdk import DAG, Param
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.models.param import Param
    from airflow.operators.empty import EmptyOperator

with DAG(
    "doctor_demo",
    start_date=datetime.datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    is_paused_upon_creation=False,
    params={"batch_size": Param(10, type="integer", minimum=1)},
    tags=["airflow-doctor"],
):
    EmptyOperator(task_id="hello")
'''


SCHEDULER_RESTARTS = 10
SUPERVISE = f'for attempt in $(seq {SCHEDULER_RESTARTS}); do "$@"; echo "scheduler exited ($?); restarting"; sleep 1; done'
"""Restart an exited scheduler, as any deployment's process manager does: Airflow 2's scheduler exits on a
StaleDataError when a run it is working on is deleted under it (seen on 2.10.5 when a test deleted its run)."""


@dataclass
class Sandbox:
    """One Airflow on 127.0.0.1: a home directory, a port, a set of processes."""

    version: str
    root: Path
    port: int = 0
    extras: tuple[str, ...] = ()
    auth_manager: str = "simple"
    """Airflow 3: "simple" (a bare pip install) or "fab" (the official docker-compose; needs the fab extra)."""
    jwt_issuer: str | None = "airflow-doctor-sandbox"
    """Airflow 3: [api_auth] jwt_issuer; None leaves it unset (3.1.x without constraints then answers 500 at /auth/token)."""
    extra_env: dict[str, str] = field(default_factory=dict)
    dag_files: dict[str, str] = field(default_factory=lambda: {"doctor_demo.py": SAMPLE_DAG})
    run_scheduler: bool = True
    users: list[tuple[str, str, str]] = field(default_factory=list)
    """Extra (username, password, role) users; Airflow 2 roles are FAB's (Viewer, User, Op, Admin), Airflow 3's the
    simple auth manager's (viewer, user, op, admin)."""
    extra_webservers: dict[str, dict[str, str | None]] = field(default_factory=dict)
    """More webservers (Airflow 2) or api-servers (Airflow 3) on the same database, each with its own environment
    overrides; an override of None unsets the variable (e.g. an api-server without [api_auth] jwt_issuer)."""
    extra_ports: dict[str, int] = field(default_factory=dict)
    log_server_port: int = 0
    """The scheduler's log server ([logging] worker_log_server_port, 8793 by default: two sandboxes would collide)."""
    processes: dict[str, int] = field(default_factory=dict)
    """The running server processes: name (as in `commands()`) to PID."""
    admin_password: str = field(default_factory=lambda: pysecrets.token_urlsafe(12))

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def profile_path(self) -> Path:
        return self.root / f"sandbox-{self.version}.yml"

    @property
    def password_file(self) -> Path:
        return self.root / "admin-password"

    @property
    def pids(self) -> list[int]:
        return list(self.processes.values())

    @property
    def web_process(self) -> str:
        return "api-server" if self.major >= 3 else "webserver"

    def log_path(self, process: str) -> Path:
        return self.root / f"{process}.log"

    def process_home(self, process: str) -> Path:
        """HOME, runtime and temp directory of one process, shared with no other: gunicorn puts its control socket
        at $XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl, so webservers sharing a HOME share a socket."""
        return self.root / "proc" / process

    def airflow(self, env: Mapping[str, str] = os.environ) -> Path:
        return venv_dir(self.version, env, self.extras) / "bin" / "airflow"

    def environment(self) -> dict[str, str]:
        keys = self.root / "keys.json"
        if keys.exists():
            stable = json.loads(keys.read_text())
        else:
            stable = {"secret": pysecrets.token_hex(16), "jwt": pysecrets.token_hex(32)}
            keys.write_text(json.dumps(stable))
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__") and k != "AIRFLOW_HOME"}
        env.update({
            # Executors start tasks as `airflow tasks run ...` subprocesses: this venv's airflow must be on PATH.
            "PATH": f"{self.airflow().parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.root / "dags"),
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": str(HEALTH_THRESHOLD),
            "NO_PROXY": "127.0.0.1,localhost",
        })
        if self.major >= 3:
            users = ",".join([f"{ADMIN_USER}:admin", *(f"{name}:{role}" for name, _, role in self.users)])
            if self.auth_manager == "fab":
                env["AIRFLOW__CORE__AUTH_MANAGER"] = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
            if self.jwt_issuer is not None:
                env["AIRFLOW__API_AUTH__JWT_ISSUER"] = self.jwt_issuer
            env.update({
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": users,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
                "AIRFLOW__API__SECRET_KEY": stable["secret"],
                "AIRFLOW__API_AUTH__JWT_SECRET": stable["jwt"],
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(REPARSE_UNCHANGED_S),
                "AIRFLOW__DAG_PROCESSOR__HEALTH_CHECK_THRESHOLD": str(HEALTH_THRESHOLD),
                "AIRFLOW__API__WORKER_TIMEOUT": str(WATCHDOG_TIMEOUT),
            })
        else:
            env.update({
                "AIRFLOW__WEBSERVER__SECRET_KEY": stable["secret"],
                "AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session",
                "AIRFLOW__WEBSERVER__WORKERS": "1",
                "AIRFLOW__WEBSERVER__WEB_SERVER_MASTER_TIMEOUT": str(WATCHDOG_TIMEOUT),
                "AIRFLOW__WEBSERVER__WEB_SERVER_WORKER_TIMEOUT": str(WATCHDOG_TIMEOUT),
                "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": str(REPARSE_UNCHANGED_S),
            })
        if self.log_server_port:
            env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(self.log_server_port)
        env.update(self.extra_env)
        return env

    def process_environment(self, process: str) -> dict[str, str]:
        """The environment of one process: the sandbox's, its own overrides, and its own home."""
        home = self.process_home(process)
        env = {**self.environment(), **self.extra_webservers.get(process, {}),
               "HOME": str(home), "XDG_RUNTIME_DIR": str(home), "TMPDIR": str(home / "tmp")}
        return {name: value for name, value in env.items() if value is not None}

    def _make_process_home(self, process: str) -> Path:
        home = self.process_home(process)
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        home.chmod(0o700)
        return home

    def prepare(self) -> None:
        """Create the home, the DAGs, the admin user and the database (idempotent)."""
        self.home.mkdir(parents=True, exist_ok=True)
        dags = self.root / "dags"
        dags.mkdir(exist_ok=True)
        for name, text in self.dag_files.items():
            (dags / name).write_text(text)
        if self.password_file.exists():
            self.admin_password = self.password_file.read_text()
        else:
            self.password_file.write_text(self.admin_password)
            self.password_file.chmod(0o600)
        if self.major >= 3:
            passwords = self.home / "passwords.json"
            current = json.loads(passwords.read_text()) if passwords.exists() else {}
            current[ADMIN_USER] = self.admin_password
            current.update({name: password for name, password, _ in self.users})
            passwords.write_text(json.dumps(current))
            passwords.chmod(0o600)
        self._run(["db", "migrate"], "db-migrate")
        if self.major < 3 or self.auth_manager == "fab":
            self.create_users([(ADMIN_USER, self.admin_password, "Admin"), *self.users])

    def create_users(self, users: list[tuple[str, str, str]]) -> None:
        """FAB users, all in one process (what `airflow users create` does, once per user). Their passwords are hashed
        with PBKDF2_ROUNDS, not FAB's 260,000: FAB verifies the hash on every Basic-auth request (0.3-1 s of CPU each),
        and a sandbox's throwaway passwords on 127.0.0.1 need no such cost."""
        spec = self.root / "users.json"
        spec.write_text(json.dumps(users))
        spec.chmod(0o600)
        script = (
            "import json, sys\n"
            "try:  # 2.9+: FAB is a provider\n"
            "    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder\n"
            "except ImportError:  # 2.8\n"
            "    try:\n"
            "        from airflow.auth.managers.fab.cli_commands.utils import get_application_builder\n"
            "    except ImportError:  # 2.7\n"
            "        from airflow.utils.cli_app_builder import get_application_builder\n"
            "with get_application_builder() as appbuilder:\n"
            "    sm = appbuilder.sm\n"
            "    sm.sync_roles()\n"
            "    from werkzeug.security import generate_password_hash\n"
            "    for name, password, role in json.load(open(sys.argv[1])):\n"
            "        user = sm.find_user(name) or sm.add_user(name, name, 'doctor', name + '@example.invalid',\n"
            "                                                 sm.find_role(role), password)\n"
            "        assert user\n"
            f"        user.password = generate_password_hash(password, method='pbkdf2:sha256:{PBKDF2_ROUNDS}')\n"
            "        sm.update_user(user)\n"
        )
        python = self.airflow().with_name("python")
        log = self.log_path("users")
        with log.open("w") as out:
            code = subprocess.call([str(python), "-c", script, str(spec)], env=self.process_environment("users"),
                                   cwd=self._make_process_home("users"), stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        if code != 0:
            raise SandboxError(f"creating users failed (exit {code}); see {log}")

    def _run(self, args: list[str], step: str) -> None:
        log = self.log_path(step)
        with log.open("w") as out:
            code = subprocess.call([str(self.airflow()), *args], env=self.process_environment(step),
                                   cwd=self._make_process_home(step), stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        if code != 0:
            raise SandboxError(f"'airflow {' '.join(args)}' failed (exit {code}); see {log}")

    def commands(self) -> dict[str, list[str]]:
        """The server processes to start, by name: the API (and the extra webservers), the scheduler, the parser."""
        commands = {self.web_process: self._webserver_args(self.web_process, self.port)}
        if self.run_scheduler:
            commands |= ({"scheduler": ["scheduler"], "dag-processor": ["dag-processor"]} if self.major >= 3
                         else {"scheduler": ["scheduler", "--pid", str(self.root / "scheduler.pid")]})
        for name in self.extra_webservers:
            commands[name] = self._webserver_args(name, self.extra_ports.get(name, 0))
        return commands

    def _webserver_args(self, name: str, port: int) -> list[str]:
        if self.major >= 3:
            return ["api-server", "-H", "127.0.0.1", "-p", str(port), "-w", "1"]
        return ["webserver", "-H", "127.0.0.1", "-p", str(port), "-w", "1", "--pid", str(self.root / f"{name}.pid")]

    def start(self) -> None:
        """Start every server process (on free ports unless set), each in its own home, logging to root/NAME.log."""
        if not self.port:
            self.port = free_port()
        if not self.log_server_port:
            self.log_server_port = free_port()
        for name in self.extra_webservers:
            self.extra_ports.setdefault(name, free_port())
        for name, args in self.commands().items():
            argv = [str(self.airflow()), *args]
            if name == "scheduler":
                argv = ["/bin/sh", "-c", SUPERVISE, "scheduler-supervisor", *argv]
            with self.log_path(name).open("w") as out:
                process = subprocess.Popen(argv, env=self.process_environment(name),
                                           cwd=self._make_process_home(name), stdout=out, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, start_new_session=True)
            self.processes[name] = process.pid
        self.save_state()

    def start_until_ready(self, timeout: float = READY_TIMEOUT, dag_id: str | None = "doctor_demo",
                          attempts: int = START_ATTEMPTS) -> None:
        """Start and wait until ready; a failed attempt is stopped and started again on fresh ports, and the last
        failure raises with the tail of the failing process's log (a loaded machine can miss one start-up)."""
        for attempt in range(1, attempts + 1):
            self.start()
            try:
                self.wait_ready(timeout, dag_id)
                return
            except StartupFailure as failure:
                self.stop()
                if attempt == attempts:
                    log = self.log_path(failure.process)
                    raise SandboxError(f"{failure} (start-up attempt {attempt} of {attempts}); the last lines of "
                                       f"{log}:\n{log_tail(log)}") from None
                self._set_logs_aside(attempt)
                self.port = self.log_server_port = 0
                self.extra_ports.clear()
            except BaseException:
                self.stop()
                raise

    def _set_logs_aside(self, attempt: int) -> None:
        for name in self.commands():
            log = self.log_path(name)
            if log.exists():
                log.replace(log.with_name(f"{name}.attempt-{attempt}.log"))

    def wait_ready(self, timeout: float = READY_TIMEOUT, dag_id: str | None = "doctor_demo") -> None:
        """Until the API answers, the scheduler heartbeats (if started) and the sample DAG is parsed; a process that
        exits or a deadline that passes raises StartupFailure naming the process to look at."""
        import requests

        deadline = time.monotonic() + timeout
        session = requests.Session()
        session.trust_env = False
        waiting_on, why = self.web_process, "no answer yet"
        while time.monotonic() < deadline:
            self._raise_if_exited()
            try:
                pending = self._not_ready(session, dag_id)
            except (requests.RequestException, ValueError, AttributeError) as exc:
                pending = self.web_process, f"the API did not answer ({type(exc).__name__})"
            if pending is None:
                return
            waiting_on, why = pending
            time.sleep(0.5)
        raise StartupFailure(f"Airflow {self.version} did not become ready within {timeout:.0f} s: {why}", waiting_on)

    def _raise_if_exited(self) -> None:
        for name, pid in self.processes.items():
            if not _alive(pid):
                raise StartupFailure(f"the Airflow {self.version} {name} process exited during start-up", name)

    def _not_ready(self, session, dag_id: str | None) -> tuple[str, str] | None:  # type: ignore[no-untyped-def]
        """The process still being waited for and why, or None once everything answers."""
        health = session.get(self.url + ("/api/v2/monitor/health" if self.major >= 3 else "/api/v1/health"),
                             timeout=10).json()
        components = ("scheduler", "dag_processor") if self.major >= 3 else ("scheduler",)
        for component in components if self.run_scheduler else ():
            state = (health.get(component) or {}).get("status")
            if state != "healthy":
                return component.replace("_", "-"), f"the {component} is {state or 'not reporting'}"
        version_path = "/api/v2/version" if self.major >= 3 else "/api/v1/version"
        for name, port in self.extra_ports.items():
            if not _answers(session, f"http://127.0.0.1:{port}{version_path}"):
                return name, f"the {name} does not answer yet"
        if dag_id is not None and not self._dag_visible(session, dag_id):
            return ("dag-processor" if self.major >= 3 else "scheduler"), f"the DAG {dag_id} is not visible yet"
        return None

    def _dag_visible(self, session, dag_id: str) -> bool:  # type: ignore[no-untyped-def]
        if self.major >= 3:
            token = session.post(self.url + "/auth/token", json={"username": ADMIN_USER, "password": self.admin_password},
                                 timeout=10)
            if token.status_code != 201:
                return False
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            return session.get(f"{self.url}/api/v2/dags/{dag_id}", headers=headers, timeout=10).status_code == 200
        return session.get(f"{self.url}/api/v1/dags/{dag_id}", auth=(ADMIN_USER, self.admin_password),
                           timeout=10).status_code == 200

    def write_profile(self) -> Path:
        auth_type = "jwt" if self.major >= 3 else "basic"
        self.profile_path.write_text(
            f"# Written by `airflow-doctor sandbox up` for the local Airflow {self.version}.\n"
            f"url: {self.url}\n"
            f"auth:\n  type: {auth_type}\n  username: {ADMIN_USER}\n  password_file: {self.password_file}\n"
            f"dag_id: doctor_demo\n"
            + ("payload:\n  logical_date: null\n" if self.major >= 3 else "payload:\n")
            + "  conf:\n    batch_size: 5\n"
            f"timeout:\n  connect: 2\n  read: 20\n")
        return self.profile_path

    def stop(self) -> None:
        stop_pids(self.pids)
        self.processes = {}
        self.save_state()

    def save_state(self) -> None:
        state = SandboxState(self.version, self.url, self.port, str(self.home), str(self.profile_path), list(self.pids),
                             bool(self.pids))
        (self.root / "state.json").write_text(json.dumps(asdict(state)))


def _answers(session, url: str) -> bool:  # type: ignore[no-untyped-def]
    import requests

    try:
        return session.get(url, timeout=10).status_code == 200
    except requests.RequestException:
        return False


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log, or a note that there is none."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 200 * lines))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"
