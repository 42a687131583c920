"""Record real Airflow answers as fixtures for the unit tests.

    python tests/recorded/record.py BASE_URL LABEL NAME=METHOD:PATH[:AUTH] ...

AUTH is `basic:USER:PASSWORD` or `bearer:TOKEN` (used only to make the request; never stored).
Only non-volatile response headers are kept (no cookies, no dates), so nothing live is committed; --with-date
(first) keeps the Date header, for answers the doctor judges against the server's clock.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import requests

KEPT_HEADERS = ["server", "content-type", "location", "www-authenticate", "allow"]


def record(base: str, method: str, path: str, auth: str | None, body: str | None = None) -> dict:
    headers = {}
    kwargs: dict = {}
    if auth and auth.startswith("basic:"):
        _, user, password = auth.split(":", 2)
        kwargs["auth"] = (user.encode(), password.encode())
    elif auth and auth.startswith("bearer:"):
        headers["Authorization"] = "Bearer " + auth.split(":", 1)[1]
    if body is not None:
        headers["Content-Type"] = "application/json"
        kwargs["data"] = body.encode()
    session = requests.Session()
    session.trust_env = False
    response = session.request(method, base.rstrip("/") + path, headers=headers, allow_redirects=False, timeout=20, **kwargs)
    return {
        "method": method,
        "path": path,
        "request_body": body,
        "status": response.status_code,
        "headers": {k: v for k, v in response.headers.items() if k.lower() in KEPT_HEADERS},
        "body": response.content.decode("utf-8", errors="replace"),
    }


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--with-date":  # answers judged against the server's clock keep its Date header
        argv = argv[1:]
        KEPT_HEADERS.append("date")
    base, label, *specs = argv
    out_dir = Path(__file__).parent / label
    out_dir.mkdir(exist_ok=True)
    for spec in specs:
        name, rest = spec.split("=", 1)
        method, path, *auth = rest.split(":", 2)
        data = record(base, method, path, auth[0] if auth else None)
        (out_dir / f"{name}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        print(f"{label}/{name}: {data['status']}")


if __name__ == "__main__":
    main(sys.argv[1:])
