from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from airflow_doctor.probe import Layer, Probe, TransportError, basic_auth
from tests.servers import BlackHole, LocalServer, Reply, closed_port


@responses.activate(assert_all_requests_are_fired=True)
def test_redirects_are_reported_not_followed() -> None:
    responses.add("GET", "http://airflow.test/api/v2/version", status=302, headers={"Location": "https://airflow.test/api/v2/version"})
    response = Probe("http://airflow.test").get("/api/v2/version")
    assert response.status == 302 and response.is_redirect and response.location == "https://airflow.test/api/v2/version"


def test_netrc_never_supplies_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".netrc").write_text("machine 127.0.0.1 login netrc-user password netrc-canary\n")
    (tmp_path / ".netrc").chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    with LocalServer(lambda h: Reply(200, {"Content-Type": "application/json"}, b"{}")) as server:
        Probe(server.url).get("/anything")
    assert "Authorization" not in server.requests[0][2]


def test_explicit_basic_auth_is_sent_and_recorded_redacted() -> None:
    with LocalServer(lambda h: Reply(401, {"Content-Type": "application/json"}, b'{"detail": null}')) as server:
        probe = Probe(server.url)
        response = probe.get("/api/v1/dags", auth=basic_auth("admin", "canary-secret"))
    assert server.requests[0][2]["Authorization"].startswith("Basic ")
    (exchange,) = probe.drain()
    assert response.exchange is exchange
    assert dict(exchange.request_headers)["Authorization"] == "Basic admin:*** (password: 13 bytes)"
    assert exchange.status == 401 and exchange.response_body == '{"detail": null}'


def test_cookies_are_not_carried_between_calls() -> None:
    def route(handler):
        return Reply(200, {"Set-Cookie": "session=logged-in; Path=/", "Content-Type": "text/plain"}, b"ok")

    with LocalServer(route) as server:
        probe = Probe(server.url)
        first = probe.get("/login/")
        probe.get("/api/v1/dags")
    assert first.cookies == {"session": "logged-in"}
    assert "Cookie" not in server.requests[1][2]


class RecordingSession(requests.Session):
    """A real requests session that also remembers the timeout each request was sent with."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[object] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.timeouts.append(kwargs.get("timeout"))
        return super().send(request, **kwargs)


def recording_probe(url: str, **options: Any) -> tuple[Probe, RecordingSession]:
    session = RecordingSession()
    return Probe(url, session_factory=lambda: session, **options), session


def test_refused_port_is_tcp_refused_after_one_attempt_and_no_retries() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    probe, session = recording_probe(url)
    with pytest.raises(TransportError) as caught:
        probe.get("/api/v2/version")
    assert caught.value.layer is Layer.TCP_REFUSED
    assert caught.value.exchange.status is None and "tcp-refused" in (caught.value.exchange.error or "")
    assert len(session.timeouts) == 1 and session.get_adapter(url).max_retries.total == 0


def test_black_holed_port_is_a_tcp_timeout_of_the_configured_connect_timeout() -> None:
    with BlackHole() as hole:
        probe, session = recording_probe(f"http://127.0.0.1:{hole.port}", connect_timeout=1.0, read_timeout=7.0)
        with pytest.raises(TransportError) as caught:
            probe.get("/api/v2/version")
    assert caught.value.layer is Layer.TCP_TIMEOUT and "within 1 s" in caught.value.message
    assert session.timeouts == [(1.0, 7.0)]


def test_unresolvable_host_is_a_dns_failure_after_one_attempt() -> None:
    probe, session = recording_probe("http://airflow-doctor-no-such-host.invalid")
    with pytest.raises(TransportError) as caught:
        probe.get("/api/v2/version")
    assert caught.value.layer is Layer.DNS and "could not be resolved" in caught.value.message
    assert len(session.timeouts) == 1


def test_body_larger_than_the_cap_is_a_typed_error() -> None:
    with LocalServer(lambda h: Reply(200, {"Content-Type": "application/json"}, b"x" * 5000)) as server:
        with pytest.raises(TransportError) as caught:
            Probe(server.url, max_body=1000).get("/api/v2/version")
    assert caught.value.layer is Layer.BODY_TOO_LARGE


def test_non_latin1_password_cannot_be_sent_by_requests_and_says_so() -> None:
    with pytest.raises(TransportError) as caught:
        Probe("http://127.0.0.1:9").get("/x", auth=basic_auth("admin", "pass€canary"))
    assert caught.value.layer is Layer.CLIENT_ENCODING and "canary" not in caught.value.message


def test_base_url_sub_path_is_kept() -> None:
    assert Probe("https://x.astronomer.run/d4yjo9ed/").url_for("/api/v2/version") == "https://x.astronomer.run/d4yjo9ed/api/v2/version"


def closes_late_after_connection_close(handler):  # type: ignore[no-untyped-def]
    """Answers a `Connection: close` request without saying it will close, and closes only once the next request
    arrives on that connection (a loaded server's worker, closing late); other requests are answered normally."""
    from tests.servers import raw

    body = b'{"version": "2.10.5"}'
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    raw(handler, head + body, close=False)
    if handler.headers.get("Connection", "").lower() == "close":
        handler.rfile.readline()
        handler.close_connection = True


def test_a_connection_the_request_asked_to_close_is_never_reused() -> None:
    with LocalServer(closes_late_after_connection_close) as server:
        probe = Probe(server.url)
        first = probe.get("/api/v1/version", headers={"Connection": "close"})
        second = probe.get("/api/v1/version")
    assert (first.status, second.status) == (200, 200)


def closes_the_second_request_unanswered(handler) -> Reply | None:
    """Answers on a kept-alive connection, then closes it without answering the next request on it, as Airflow
    3.0.6's api-server does after an unhandled error."""
    if handler.path == "/second" and not getattr(handler.server, "closed_once", False):
        handler.server.closed_once = handler.close_connection = True
        return None
    return Reply(200, {"Content-Type": "application/json"}, b"{}")


@pytest.mark.parametrize("method, status, requests_seen", [("GET", 200, 3), ("POST", None, 2)])
def test_a_get_on_a_connection_the_server_closed_unanswered_is_sent_again_and_a_post_never(
        method: str, status: int | None, requests_seen: int) -> None:
    with LocalServer(closes_the_second_request_unanswered) as server:
        probe = Probe(server.url)
        assert probe.get("/first").status == 200
        if status is None:
            with pytest.raises(TransportError) as failure:
                probe.request(method, "/second")
            assert failure.value.layer is Layer.CONNECTION_CLOSED
        else:
            assert probe.request(method, "/second").status == status
        assert len(server.requests) == requests_seen
