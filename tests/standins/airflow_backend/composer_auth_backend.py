"""A stand-in for Cloud Composer's `composer_auth` API auth backend, loaded by a REAL Airflow 2 webserver through
[api] auth_backends (this folder on its PYTHONPATH), so users, roles, 401 and 403 are Airflow's own.

What Google documents, done the way Airflow's own backends do it (fab basic_auth: find the user, login_user): the
Bearer access token's principal is asked of the token endpoint's tokeninfo (COMPOSER_STANDIN_TOKENINFO, the local
Google stand-in), mapped to the FAB user accounts.google.com:<sub>, and a principal seen for the first time is
created with [api] composer_auth_user_registration_role (Op by default; empty: not registered). Composer's own code
is not public; this is not it.
"""

from __future__ import annotations

import os
import secrets
from functools import wraps
from typing import Any, Callable, TypeVar, cast

import requests
from flask import Response, request
from flask_login import login_user

from airflow.configuration import conf
from airflow.www.extensions.init_auth_manager import get_auth_manager

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
CLIENT_AUTH: Any = None
T = TypeVar("T", bound=Callable)


def init_app(_: Any) -> None:
    """Nothing to set up."""


def _principal(token: str) -> dict[str, Any] | None:
    answer = requests.get(os.environ["COMPOSER_STANDIN_TOKENINFO"], params={"access_token": token}, timeout=10)
    info = answer.json() if answer.status_code == 200 else None
    return info if info and SCOPE in str(info.get("scope", "")).split() else None


def auth_current_user() -> Any:
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    info = _principal(token.strip())
    if info is None:
        return None
    security_manager = get_auth_manager().security_manager
    username = f"accounts.google.com:{info['sub']}"
    user = security_manager.find_user(username=username)
    if user is None:
        role_name = conf.get("api", "composer_auth_user_registration_role", fallback="Op")
        role = security_manager.find_role(role_name) if role_name else None
        if role is None:
            return None
        email = str(info.get("email") or f"{info['sub']}@example.invalid")
        user = security_manager.add_user(username, email.split("@")[0], "-", email, role,
                                         password=secrets.token_urlsafe(24))
    if user:
        login_user(user, remember=False)
    return user or None


def requires_authentication(function: T) -> T:
    @wraps(function)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        if auth_current_user() is not None:
            return function(*args, **kwargs)
        return Response("Unauthorized", 401)

    return cast(T, decorated)
