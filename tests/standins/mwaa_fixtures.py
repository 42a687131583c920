"""Fixtures for the MWAA stand-in in front of the real Airflow servers (import them into a test module).

The doctor (and the printed snippets) reach the stand-in only through the AWS ecosystem's own conventions: the access
key pair in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the endpoint in AWS_ENDPOINT_URL_MWAA; ~/.aws is kept out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow_doctor.sandbox import ADMIN_USER
from tests.integration.conftest import Server
from tests.standins.mwaa import AirflowUser, MwaaEnvironment, MwaaStandIn, MwaaWebServer, Principal, Statement

ENVIRONMENT = "doctor-env"
REGION = "us-east-1"
ACCESS_KEY = "AKIADOCTORSTANDIN01"
SECRET_CANARY = "aws-secret-canary-7c1e"
SECRET_KEY = f"{SECRET_CANARY}-wJalrXUtnFEMI-K7MDENG-bPxRfiCY"
ARN = "arn:aws:iam::111122223333:user/doctor-script"
ROLE_USERS = {"Admin": ADMIN_USER, "Op": "op", "User": "user1", "Viewer": "viewer"}


ACTIONS = ("airflow:InvokeRestApi", "airflow:CreateWebLoginToken")


def policy(*roles: str, read_environment: bool = True, env: str = ENVIRONMENT,
           actions: tuple[str, ...] = ACTIONS) -> list[Statement]:
    """A policy allowing `actions` (InvokeRestApi and CreateWebLoginToken) as each of `roles` (and, by default,
    GetEnvironment)."""
    resources = [f"arn:aws:airflow:{REGION}:111122223333:role/{env}/{role}" for role in roles]
    statements = [Statement(list(actions), resources)] if roles else []
    if read_environment:
        statements.append(Statement("airflow:GetEnvironment", f"arn:aws:airflow:{REGION}:111122223333:environment/*"))
    return statements


def airflow_users(server: Server) -> dict[str, AirflowUser]:
    return {role: AirflowUser(name, server.password(name)) for role, name in ROLE_USERS.items()}


@dataclass
class Mwaa:
    """A running stand-in (service and web server) and the profile that points the doctor at it."""

    service: MwaaStandIn
    web: MwaaWebServer
    server: Server

    def profile(self, tmp_path: Path, *, via: str = "invoke-rest-api", dag_id: str = "doctor_demo",
                url: str | None = None, payload: str | None = None) -> Path:
        lines = ([f"url: {url}"] if url else []) + [
            "auth:", "  type: aws", f"  environment: {self.service.environment.name}", f"  region: {REGION}",
            f"  via: {via}", f"dag_id: {dag_id}", "timeout: {connect: 2, read: 20}"]
        if payload:
            lines.append(f"payload: {payload}")
        path = tmp_path / "mwaa.yml"
        path.write_text("\n".join(lines) + "\n")
        return path


def aws_environment(monkeypatch: pytest.MonkeyPatch, endpoint: str, tmp_path: Path) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                        "AWS_ENDPOINT_URL_MWAA": endpoint, "AWS_REGION": REGION,
                        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials")}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mwaa_factory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Start a stand-in for a real server: mwaa_factory(server, roles=("User",), **environment fields)."""
    started: list[Mwaa] = []

    def start(server: Server, roles: tuple[str, ...] = ("User",), statements: list[Statement] | None = None,
              canary: str | None = None, web_host: str | None = None, web_token_ttl: float = 60.0,
              **fields) -> Mwaa:  # type: ignore[no-untyped-def]
        version = fields.pop("airflow_version", server.version)
        environment = MwaaEnvironment(ENVIRONMENT, server.url, version, airflow_users(server), region=REGION, **fields)
        principal = Principal(ARN, ACCESS_KEY, SECRET_KEY, statements if statements is not None else policy(*roles))
        service = MwaaStandIn(environment, [principal], canary=canary, web_token_ttl=web_token_ttl).__enter__()
        web = MwaaWebServer(service).__enter__()
        environment.webserver_host = web_host or f"http://{web.host}"
        mwaa = Mwaa(service, web, server)
        started.append(mwaa)
        aws_environment(monkeypatch, service.url, tmp_path)
        return mwaa

    yield start
    for mwaa in started:
        mwaa.web.__exit__(None, None, None)
        mwaa.service.__exit__(None, None, None)


__all__ = ["mwaa_factory", "Mwaa", "policy", "ENVIRONMENT", "REGION", "SECRET_KEY", "SECRET_CANARY", "ARN"]
