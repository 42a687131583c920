"""Host names one typing slip from a name that does not resolve (localhsot, airfow.example.com): the candidates
that do resolve, looked up in parallel and briefly, so that an unresolvable url can be answered with 'did you mean'.
"""

from __future__ import annotations

import difflib
import socket
import threading
import time
from pathlib import Path


def resolvable_neighbour(host: str) -> str | None:
    """A host name one slip from `host` (swapped, missing or doubled letter) that resolves, e.g. localhsot."""
    if not host or host.replace(".", "").isdigit():
        return None
    known = ["localhost", *_hosts_file_names()]
    close = difflib.get_close_matches(host, known, n=1, cutoff=0.75)
    label, dot, rest = host.partition(".")
    swapped = [label[:i] + label[i + 1] + label[i] + label[i + 2:] + dot + rest for i in range(len(label) - 1)
               if label[i] != label[i + 1]]
    candidates = [c for c in dict.fromkeys((close + swapped)[:12]) if c != host]
    resolved = _resolving(candidates, NEIGHBOUR_LOOKUP_SECONDS)
    return next((c for c in candidates if c in resolved), None)


NEIGHBOUR_LOOKUP_SECONDS = 3.0
"""All neighbours are looked up at once, and no longer than this: a resolver that hangs must not hold the report."""


def _resolving(names: list[str], seconds: float) -> set[str]:
    """The names that resolve within `seconds`, looked up in parallel daemon threads (a hung lookup is abandoned)."""
    found: set[str] = set()
    threads = [threading.Thread(target=lambda n=name: _resolves(n) and found.add(n), daemon=True) for name in names]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return set(found)


def _hosts_file_names() -> list[str]:
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        return []
    return [name for line in lines if not line.lstrip().startswith("#") for name in line.split()[1:]]


def _resolves(name: str) -> bool:
    try:
        socket.getaddrinfo(name, None)
    except (OSError, UnicodeError):
        return False
    return True
