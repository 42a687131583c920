"""A forward proxy on 127.0.0.1 (stdlib, free port), what HTTP_PROXY / HTTPS_PROXY name in a corporate network.

It forwards plain-HTTP requests (absolute URIs) and opens CONNECT tunnels for https, or answers in its own name the
way real proxies do: a 403 'access denied' page, a 407 with Proxy-Authenticate (and accepts the right Basic proxy
credentials), a 502/504 when it cannot reach the host, a refused CONNECT to ports it does not tunnel to. It calls
itself 'brackenwall' (Server and Via): a name no airflow-doctor source knows, so the doctor must read who answered
from the answer itself. `hosts` maps names only the proxy resolves (an internal DNS) to real addresses: what a
machine that reaches Airflow only through the proxy sees. The test that starts it stops it (a context manager).
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import requests

NAME = "brackenwall/5.1"
REALM = "Brackenwall Web Access"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host",
              "proxy-connection", "proxy-authorization", "te", "upgrade"}
REASONS = {403: "Forbidden", 407: "Proxy Authentication Required", 502: "Bad Gateway", 504: "Gateway Timeout"}
PAGES = {403: "Access denied: the site {target} is not allowed by the web access policy.",
         407: "Sign in to use the web gateway.",
         502: "The gateway could not connect to {target}.",
         504: "The gateway timed out connecting to {target}."}


def page(status: int, target: str) -> bytes:
    reason = REASONS.get(status, "Error")
    return (f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1>"
            f"<p>{PAGES.get(status, '').format(target=target)}</p><hr><address>{NAME}</address></body></html>").encode()


@dataclass
class Policy:
    """What the proxy does, changeable while it runs (to apply a fix): forward | deny | unreachable."""

    mode: str = "forward"
    unreachable_status: int = 502
    credentials: tuple[str, str] | None = None
    """With a user and password: anything without those Basic proxy credentials gets 407."""
    challenge: str = f'Basic realm="{REALM}"'
    tunnel_ports: tuple[int, ...] | None = None
    """With ports: CONNECT to any other port is refused 403 (squid's default allows CONNECT only to 443)."""
    hosts: dict[str, str] = field(default_factory=dict)
    echo: bool = False
    """A careless proxy: its pages repeat the Proxy-Authorization it got (and decode it), as some debug pages do."""
    deny_methods: tuple[str, ...] = ()
    """Methods refused 403 by policy while others pass (a read-only proxy rule)."""


class ForwardProxy:
    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self.seen: list[str] = []
        """'METHOD target' for every request the proxy got (CONNECT host:port, or GET http://host/path)."""
        self._session = requests.Session()
        self._session.trust_env = False  # the test sets HTTP(S)_PROXY to this very proxy
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url_with(self, user: str, password: str) -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    def __enter__(self) -> "ForwardProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def refusal(self, headers, target: str, port: int | None, method: str = "CONNECT"  # type: ignore[no-untyped-def]
                ) -> tuple[int, dict[str, str]] | None:
        """The proxy's own answer to this request, or None to pass it on."""
        policy = self.policy
        if policy.credentials is not None:
            expected = "Basic " + base64.b64encode(":".join(policy.credentials).encode()).decode()
            if headers.get("Proxy-Authorization") != expected:
                return 407, {"Proxy-Authenticate": policy.challenge}
        if policy.mode == "deny" or method in policy.deny_methods:
            return 403, {"X-Brackenwall-Error": "ERR_ACCESS_DENIED"}
        if port is not None and policy.tunnel_ports is not None and port not in policy.tunnel_ports:
            return 403, {"X-Brackenwall-Error": "ERR_TUNNEL_PORT_DENIED"}
        if policy.mode == "unreachable":
            return policy.unreachable_status, {"X-Brackenwall-Error": "ERR_CONNECT_FAIL"}
        return None

    def address(self, host: str, port: int) -> tuple[str, int]:
        return self.policy.hosts.get(host, host), port


def _handler(proxy: ForwardProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def version_string(self) -> str:
            return NAME

        def log_message(self, *args: object) -> None:
            pass

        def _own(self, status: int, headers: dict[str, str], target: str, close: bool = False) -> None:
            body = page(status, target)
            sent = self.headers.get("Proxy-Authorization", "")
            if proxy.policy.echo and sent:
                decoded = base64.b64decode(sent.split()[-1]).decode("utf-8", "replace")
                body += f"<pre>you sent Proxy-Authorization: {sent} ({decoded})</pre>".encode()
                headers = {**headers, "X-Seen-Credentials": decoded}
            self.send_response(status, REASONS.get(status))
            for name, value in {"Via": f"1.1 {NAME.split('/')[0]}", "Content-Type": "text/html",
                                **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)

        def do_CONNECT(self) -> None:
            proxy.seen.append(f"CONNECT {self.path}")
            host, _, port = self.path.rpartition(":")
            refused = proxy.refusal(self.headers, self.path, int(port))
            if refused is not None:
                self._own(*refused, self.path, close=True)
                return
            try:
                upstream = socket.create_connection(proxy.address(host, int(port)), timeout=5)
            except OSError:
                self._own(502, {"X-Brackenwall-Error": "ERR_CONNECT_FAIL"}, self.path, close=True)
                return
            self.send_response(200, "Connection established")
            self.end_headers()
            self.close_connection = True
            _splice(self.connection, upstream)

        def _forward(self) -> None:
            proxy.seen.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            parts = urlsplit(self.path)
            refused = proxy.refusal(self.headers, parts.netloc, None, self.command)
            if refused is not None:
                self._own(*refused, parts.netloc)
                return
            host, port = proxy.address(parts.hostname or "", parts.port or 80)
            upstream = f"http://{host}:{port}{parts.path}" + (f"?{parts.query}" if parts.query else "")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            try:
                answer = proxy._session.request(self.command, upstream, headers=headers, data=body,
                                                allow_redirects=False, timeout=20)
            except requests.RequestException:
                self._own(502, {"X-Brackenwall-Error": "ERR_CONNECT_FAIL"}, parts.netloc)
                return
            self.send_response_only(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Via", f"1.1 {NAME.split('/')[0]}")
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _forward

    return Handler


def _splice(client: socket.socket, upstream: socket.socket) -> None:
    from tests.fronts import pipe

    other = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
    other.start()
    pipe(client, upstream)
    other.join(timeout=30)


# --- a real squid, where the machine has one: the judge of what a real proxy answers ------------------------

SQUID_CONFIG = """\
http_port 127.0.0.1:{port}
pid_filename none
cache deny all
access_log none
cache_log /dev/null
shutdown_lifetime 0 seconds
acl SSL_ports port 443
acl CONNECT method CONNECT
http_access deny CONNECT !SSL_ports
{access}
"""
SQUID_ACCESS = {
    "deny": "http_access deny all",
    "allow": "http_access allow all",
    "auth": ("auth_param basic program {helper} {passwd}\nauth_param basic realm {realm}\n"
             "acl users proxy_auth REQUIRED\nhttp_access allow users\nhttp_access deny all"),
}
SQUID_HELPERS = ("/usr/lib/squid/basic_ncsa_auth", "/usr/lib64/squid/basic_ncsa_auth")


class Squid:
    """squid -N on a free 127.0.0.1 port with one of SQUID_ACCESS's policies (and squid's usual CONNECT rule: port 443
    only); 'auth' takes a Basic user and password. Its files live in a directory the unprivileged squid user can read.
    Started and stopped by the test (a context manager); skipped where the machine has no squid."""

    def __init__(self, access: str, credentials: tuple[str, str] | None = None, realm: str = "Corp Squid Gateway") -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="doctor-squid-"))
        self.directory.chmod(0o755)
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            self.port = free.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        passwd = self.directory / "passwd"
        if credentials is not None:
            hashed = subprocess.run(["openssl", "passwd", "-apr1", credentials[1]], capture_output=True, text=True,
                                    check=True).stdout.strip()
            passwd.write_text(f"{credentials[0]}:{hashed}\n")
            passwd.chmod(0o644)
        helper = next((h for h in SQUID_HELPERS if Path(h).exists()), SQUID_HELPERS[0])
        access_rules = SQUID_ACCESS[access].format(helper=helper, passwd=passwd, realm=realm)
        self.config = self.directory / "squid.conf"
        self.config.write_text(SQUID_CONFIG.format(port=self.port, access=access_rules))
        self.config.chmod(0o644)
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("squid") is not None or Path("/usr/sbin/squid").exists()

    def __enter__(self) -> "Squid":
        binary = shutil.which("squid") or "/usr/sbin/squid"
        self.process = subprocess.Popen([binary, "-N", "-f", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"squid did not start: {self.process.stderr.read().decode(errors='replace')[-500:] if self.process.stderr else ''}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)
