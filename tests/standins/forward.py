"""Forwarding to a real Airflow as one of the conftest users: how every stand-in lets Airflow answer for itself."""

from __future__ import annotations

import base64

import requests


class AirflowForwarder:
    """Sends a request on to the real Airflow as `user` (Basic on Airflow 2, a JWT from /auth/token on Airflow 3),
    or with no credentials at all (user None: Airflow's own 401)."""

    def __init__(self, airflow_url: str, major: int, passwords: dict[str, str]) -> None:
        self.airflow_url = airflow_url.rstrip("/")
        self.major = major
        self.passwords = passwords
        self._jwts: dict[str, str] = {}

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes, user: str | None
                ) -> tuple[int, dict[str, str], bytes]:
        sent = {k: v for k, v in headers.items() if k.lower() in ("content-type", "accept")}
        if user is not None:
            sent["Authorization"] = self.credentials(user)
        answer = requests.request(method, self.airflow_url + path, headers=sent, data=body or None,
                                  allow_redirects=False, timeout=30)
        kept = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "location", "www-authenticate")}
        return answer.status_code, kept, answer.content

    def credentials(self, user: str) -> str:
        if self.major < 3:
            return "Basic " + base64.b64encode(f"{user}:{self.passwords[user]}".encode("utf-8")).decode()
        if user not in self._jwts:
            login = requests.post(f"{self.airflow_url}/auth/token",
                                  json={"username": user, "password": self.passwords[user]}, timeout=30)
            login.raise_for_status()
            self._jwts[user] = login.json()["access_token"]
        return f"Bearer {self._jwts[user]}"
