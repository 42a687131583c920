"""Tokens Airflow 3 refuses although they look right: judged from their claims, the server's clock (the Date header of
answers recorded from a real 3.3.2) and this machine's clock, and api-servers behind one address that distrust each
other's tokens (the same token sent again over new connections)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import responses

from airflow_doctor.checks import auth_backend
from airflow_doctor.checks.readers import token_trust
from airflow_doctor.model import Status
from tests.conftest import check_context, recorded, replay

V3 = "airflow-3.3.2"
BASE = "http://airflow.test"


def server_date(name: str) -> datetime:
    return parsedate_to_datetime(recorded(V3, name)["headers"]["date"])


def token(**claims: object) -> str:
    """A token shaped like Airflow's (its signature is never checked here: the recorded answer is the server's)."""
    parts = ({"alg": "HS512", "typ": "JWT"}, {"sub": "admin", "aud": "apache-airflow", **claims})
    return ".".join(base64.urlsafe_b64encode(json.dumps(p).encode()).decode().rstrip("=") for p in parts) + ".c2ln"


def times(around: datetime, *, ahead: int = 0, expires_in: int = 3600) -> dict[str, int]:
    start = int(around.timestamp()) + ahead
    return {"iat": start, "nbf": start, "exp": start + expires_in}


def run_token_profile(answer: str, value: str, local_now: datetime, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(token_trust, "utc_now", lambda: local_now)
    replay(responses, BASE, V3, answer)
    return auth_backend.Check().run(check_context(BASE, api="/api/v2", version="3.3.2", auth_type="token", token=value))


def fix_text(finding) -> str:
    return finding.fix.text + "\n" + "\n".join(finding.fix.commands)


@pytest.mark.parametrize("local_ahead, who", [
    (0, "the clock of whoever issued it was 5 min ahead"),
    (300, "this machine's clock, which issued it by its own time, is 5 min ahead"),
], ids=["issuer-clock-ahead", "this-machine-clock-ahead"])
@responses.activate
def test_a_token_not_valid_yet_by_the_servers_clock_names_the_clock_not_the_token(
        local_ahead: int, who: str, monkeypatch: pytest.MonkeyPatch) -> None:
    date = server_date("dags_not_yet_valid")
    value = token(**times(date, ahead=300))
    finding = run_token_profile("dags_not_yet_valid", value, date + timedelta(seconds=local_ahead), monkeypatch)
    assert finding.status is Status.FAIL and finding.code == "token-not-yet-valid"
    assert "not valid yet by the server's clock (403 'Invalid JWT token')" in finding.summary
    assert "its nbf (not before) is 5 min ahead of the server's clock" in finding.summary and who in finding.summary
    assert "timedatectl set-ntp true" in fix_text(finding) and "jwt_secret" not in fix_text(finding)
    assert "server's own clock" in finding.why_ui_works
    assert value not in " ".join([finding.summary, finding.explanation, *finding.details])


@responses.activate
def test_a_token_within_the_leeway_is_not_blamed_on_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    date = server_date("dags_other_audience")
    finding = run_token_profile("dags_other_audience", token(**times(date, ahead=5)), date, monkeypatch)
    assert finding.code != "token-not-yet-valid" and "signed by another deployment" in finding.summary


@responses.activate
def test_a_token_expired_by_the_servers_clock_only_is_clock_skew(monkeypatch: pytest.MonkeyPatch) -> None:
    date = server_date("dags_expired_dated")
    value = token(**times(date, ahead=-3900))  # exp 300 s before the server's Date
    finding = run_token_profile("dags_expired_dated", value, date - timedelta(seconds=600), monkeypatch)
    assert finding.status is Status.FAIL and finding.code == "token-expired-clock-skew"
    assert "expired by the server's clock but not by this machine's (401 'Token Expired')" in finding.summary
    assert "this machine's clock is 10 min behind the server's" in finding.summary
    assert "valid for 5 min more" in finding.explanation and "NTP" in finding.fix.text


@responses.activate
def test_a_token_expired_by_both_clocks_is_simply_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    date = server_date("dags_expired_dated")
    finding = run_token_profile("dags_expired_dated", token(**times(date, ahead=-3900)), date, monkeypatch)
    assert finding.summary.startswith("the profile's token is expired") and "fresh token" in finding.fix.text


@responses.activate
def test_a_token_without_exp_is_refused_for_the_missing_claim(monkeypatch: pytest.MonkeyPatch) -> None:
    date = server_date("dags_no_exp")
    claims = times(date)
    del claims["exp"]
    finding = run_token_profile("dags_no_exp", token(**claims), date, monkeypatch)
    assert finding.code == "token-claims-missing" and "it has no exp, which Airflow 3 requires" in finding.summary


@responses.activate
def test_a_token_for_another_audience_names_it_and_prints_how_to_see_the_servers(monkeypatch: pytest.MonkeyPatch
                                                                                 ) -> None:
    date = server_date("dags_other_audience")
    value = token(**times(date), iss="airflow-doctor-sandbox", aud="other-audience")
    finding = run_token_profile("dags_other_audience", value, date, monkeypatch)
    assert "or is for audience 'other-audience' and issuer 'airflow-doctor-sandbox'" in finding.summary
    printer = finding.fix.commands[-1]
    assert "/auth/token" in printer and '("iss", "aud")' in printer


# --- api-servers that distrust each other's tokens ----------------------------------------------------------

def jwt_context():
    return check_context(BASE, api="/api/v2", version="3.3.2", auth_type="jwt")


def reads_answer(*statuses: int) -> None:
    names = {200: "dags_bearer", 403: "dags_garbage"}
    for status in statuses:
        replay(responses, BASE, V3, names[status])


@pytest.mark.parametrize("statuses, tally", [
    ((403, 200, 403, 200), "2x 200, 2x 403"),
    ((200, 403, 200, 200), "3x 200, 1x 403"),
], ids=["first-read-refused", "first-read-accepted"])
@responses.activate
def test_a_fresh_token_accepted_and_refused_in_turn_names_api_servers_without_a_shared_secret(
        statuses: tuple[int, ...], tally: str) -> None:
    replay(responses, BASE, V3, "token_admin")
    reads_answer(*statuses)
    finding = auth_backend.Check().run(jwt_context())
    assert finding.status is Status.FAIL and finding.code == "api-servers-distrust-tokens"
    assert finding.summary.startswith(f"a token this server just issued is accepted by some requests and refused by "
                                      f"others ({tally} over 4 reads, each on a new connection)")
    assert "do not share [api_auth] jwt_secret" in finding.summary
    assert "carry the same claims, so it is the signing secret" in finding.explanation
    assert "AIRFLOW__API_AUTH__JWT_SECRET" in fix_text(finding) and "connection" in finding.why_ui_works
    spread = [c.request for c in responses.calls if "/dags" in c.request.url][1:]
    assert spread and all(r.headers.get("Connection") == "close" for r in spread)


@responses.activate
def test_a_token_every_read_accepts_passes_after_the_spread_reads() -> None:
    replay(responses, BASE, V3, "token_admin")
    reads_answer(200)
    finding = auth_backend.Check().run(jwt_context())
    assert finding.status is Status.PASS
    assert sum("/dags" in c.request.url for c in responses.calls) == 1 + token_trust.SPREAD_READS


def test_api_servers_issuing_other_audiences_are_named_by_the_claim_that_differs() -> None:
    issued = [token_trust.decode_jwt(token(iss="a", aud="apache-airflow")),
              token_trust.decode_jwt(token(iss="a", aud="other-audience"))]
    assert token_trust._differing([c for c in issued if c]) == ["audience (aud): 'apache-airflow' vs 'other-audience'"]


def test_a_gateway_error_among_the_spread_reads_is_not_blamed_on_the_jwt_secret() -> None:
    """An accepted token, then a gateway's 502 on another connection: an outage, not api-servers that distrust it."""
    from tests.servers import LocalServer, Reply

    def answer(name: str) -> Reply:
        data = recorded(V3, name)
        return Reply(data["status"], data["headers"], data["body"].encode())

    reads = iter([answer("dags_bearer")])

    def route(handler) -> Reply:
        if handler.path.startswith("/auth/token"):
            return answer("token_admin")
        return next(reads, Reply(502, {"Content-Type": "text/html", "Server": "nginx"}, b"<html>502 Bad Gateway</html>"))

    with LocalServer(route) as server:
        finding = auth_backend.Check().run(check_context(server.url, api="/api/v2", version="3.3.2", auth_type="jwt"))
    assert finding.status is Status.PASS and finding.code != "api-servers-distrust-tokens"


ENTRA_ISSUER = "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0"


def _entra_token() -> str:
    import base64 as b64
    import json as js

    part = lambda d: b64.urlsafe_b64encode(js.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    return ".".join((part({"alg": "RS256", "kid": "k", "typ": "JWT"}),
                     part({"iss": ENTRA_ISSUER, "aud": "api://airflow-scripts", "sub": "svc", "exp": 4102444800,
                           "iat": 1700000000, "nbf": 1700000000}), "c2lnbmF0dXJl"))


@pytest.mark.parametrize("label, answer, says", [
    ("airflow-3.3.2", "dags_garbage", "accepts only tokens its own auth manager issues"),
    ("airflow-2.10.5", "dags_bearer_foreign", "[api] auth_backends"),
], ids=["airflow-3", "airflow-2"])
@responses.activate(assert_all_requests_are_fired=True)
def test_a_token_from_another_identity_provider_names_its_issuer_and_the_options_of_the_version(
        label: str, answer: str, says: str) -> None:
    from airflow_doctor.checks import auth_backend

    version = label.removeprefix("airflow-")
    replay(responses, BASE, label, answer)
    token = _entra_token()
    ctx = check_context(BASE, api="/api/v2" if version.startswith("3") else "/api/v1", version=version,
                        auth_type="token", token=token)
    finding = auth_backend.Check().run(ctx)
    assert finding.status is Status.FAIL and finding.code == "token-from-other-identity-provider", finding
    assert ENTRA_ISSUER in finding.summary and "api://airflow-scripts" in finding.explanation and says in finding.explanation
    assert token not in repr(finding) and token.split(".")[1] not in repr(finding)


def test_an_issuer_of_this_airflows_own_host_or_a_plain_name_is_not_another_provider() -> None:
    from airflow_doctor.checks.readers.credentials import JwtClaims
    from airflow_doctor.checks.readers.token_trust import foreign_issuer

    base = "https://airflow.example.com"
    assert foreign_issuer(JwtClaims({}, {"iss": "airflow"}), base) is None
    assert foreign_issuer(JwtClaims({}, {"iss": "https://airflow.example.com/auth"}), base) is None
    assert foreign_issuer(JwtClaims({}, {}), base) is None
    assert foreign_issuer(JwtClaims({}, {"iss": ENTRA_ISSUER}), base) == ENTRA_ISSUER
