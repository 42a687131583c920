from __future__ import annotations

import json
import re
from http.client import RemoteDisconnected
from urllib.parse import unquote

import pytest
import requests
import responses
import urllib3

from airflow_doctor.checks import trial_run
from airflow_doctor.checks.base import ApiFlavour
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.checks.base import DagInfo, TriggerOptions
from airflow_doctor.probe import Layer, TransportError
from airflow_doctor.model import Status
from tests.conftest import check_context, recorded


def ctx_for(api: str = "/api/v2", payload=None, confirm=lambda plan: True, wait: float = 0, cleanup: bool = False):
    ctx = check_context("http://airflow.test", api=api, version="3.3.2" if api == "/api/v2" else "2.10.5",
                        payload=payload)
    ctx.facts.credentials = Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password)
    ctx.facts.dag = DagInfo("doctor_demo", False, True, False, "f.py", 16, {})
    ctx.trigger = TriggerOptions(wait=wait, cleanup=cleanup, confirm=confirm)
    return ctx


@responses.activate(assert_all_requests_are_fired=True)
def test_declining_at_the_prompt_sends_nothing() -> None:
    plans = []
    finding = trial_run.Check().run(ctx_for(payload={"conf": {"api_key": "k-123"}},
                                               confirm=lambda plan: plans.append(plan) or False))
    assert finding.status is Status.SKIP and "nothing was sent" in finding.summary
    assert finding.code is trial_run.Code.DECLINED
    assert "k-123" not in plans[0] and '"api_key": "***"' in plans[0]
    assert "POST http://airflow.test/api/v2/dags/doctor_demo/dagRuns" in plans[0]


def test_the_body_keeps_conf_and_marks_the_run_as_the_doctors() -> None:
    body = trial_run.trigger_body({"conf": {"x": 1}, "logical_date": "2024-01-01T00:00:00Z", "run_id": "a"}, True, "3.3.2")
    assert body["logical_date"] is None and body["conf"] == {"x": 1} and body["note"].startswith("Test run created")
    assert body["dag_run_id"].startswith("airflow_doctor__") and "run_id" not in body
    assert "logical_date" not in trial_run.trigger_body({}, False, "2.10.5")


def test_log_lines_from_airflow_3_events_and_airflow_2_text() -> None:
    events = {"content": [{"event": "::group::Log message source details"},
                          {"timestamp": "t", "event": "Task failed with exception", "level": "error",
                           "error_detail": [{"exc_type": "RuntimeError", "exc_value": "boom"}]}]}
    assert trial_run._log_lines(events, json.dumps(events))[-1] == "RuntimeError: boom"
    airflow2 = {"content": "[('host', 'line one\\nline two')]"}
    assert trial_run._log_lines(airflow2, "") == ["line one", "line two"]
    assert trial_run._log_lines(None, "plain\ntext") == ["plain", "text"]


RECORDED_RUN_ID = "airflow_doctor__20250101T000000.000000Z"
READ_TIMEOUT = requests.exceptions.ReadTimeout("HTTPConnectionPool(host='airflow.test', port=80): Read timed out.")
CLOSED = requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError(
    "Connection aborted.", RemoteDisconnected("Remote end closed connection without response")))
REFUSED = requests.exceptions.ConnectionError(ConnectionRefusedError(111, "Connection refused"))


class CreatesButNeverAnswers:
    """A server whose trigger creates the run but whose answer never arrives; lookups and deletes of runs answer
    as the real Airflow did (tests/recorded), from the runs it holds."""

    def __init__(self, rsps, api: str, lost_answer: Exception, creates: bool = True,
                 lookup_fails: Exception | None = None) -> None:
        self.label = "airflow-3.3.2" if api == "/api/v2" else "airflow-2.10.5"
        self.lost_answer, self.creates, self.lookup_fails = lost_answer, creates, lookup_fails
        self.runs: set[str] = set()
        self.calls: list[str] = []
        runs = re.compile(re.escape(f"http://airflow.test{api}/dags/doctor_demo/dagRuns/") + ".+")
        rsps.add_callback("POST", f"http://airflow.test{api}/dags/doctor_demo/dagRuns", self.trigger)
        rsps.add_callback("GET", runs, self.lookup)
        rsps.add_callback("DELETE", runs, self.delete)

    def trigger(self, request):
        self.calls.append("POST")
        if self.creates:
            self.runs.add(json.loads(request.body)["dag_run_id"])
        return self.lost_answer

    def lookup(self, request):
        self.calls.append("GET")
        if self.lookup_fails is not None:
            return self.lookup_fails
        run_id = unquote(request.path_url.rsplit("/", 1)[1])
        return self._answer("dagrun_found" if run_id in self.runs else "dagrun_missing", run_id)

    def delete(self, request):
        self.calls.append("DELETE")
        run_id = unquote(request.path_url.rsplit("/", 1)[1])
        self.runs.discard(run_id)
        return self._answer("dagrun_deleted", run_id)

    def _answer(self, name: str, run_id: str):
        data = recorded(self.label, name)
        return data["status"], data["headers"], data["body"].replace(RECORDED_RUN_ID, run_id)


@pytest.mark.parametrize("cleanup", [False, True], ids=["kept", "cleanup"])
@pytest.mark.parametrize("api", ["/api/v1", "/api/v2"])
@responses.activate(assert_all_requests_are_fired=False)
def test_a_trigger_that_timed_out_but_created_the_run_is_found_by_its_run_id(api: str, cleanup: bool) -> None:
    server = CreatesButNeverAnswers(responses, api, READ_TIMEOUT)
    finding = trial_run.Check().run(ctx_for(api, wait=60, cleanup=cleanup))
    [run_id] = [d.removeprefix("run id: ") for d in finding.details if d.startswith("run id: ")]
    assert finding.status is Status.WARN and finding.code is trial_run.Code.CREATED_WITHOUT_ANSWER
    assert finding.summary.startswith(f"POST http://airflow.test{api}/dags/doctor_demo/dagRuns failed: no (complete) "
                                      "answer after")
    assert f"yet the run {run_id} was created; the test run {run_id} succeeded" in finding.summary
    assert "triggers again creates a second run" in finding.explanation
    assert finding.fix is not None and finding.fix.commands == (f"GET http://airflow.test{api}/dags/doctor_demo/dagRuns/{run_id}",)
    assert server.calls == (["POST", "GET", "DELETE"] if cleanup else ["POST", "GET"])
    assert (f"cleanup: deleted the test run {run_id}" in finding.details) is cleanup
    assert (server.runs == set()) is cleanup


@responses.activate(assert_all_requests_are_fired=False)
def test_a_trigger_cut_off_before_the_run_was_created_says_nothing_was_created_and_deletes_nothing() -> None:
    server = CreatesButNeverAnswers(responses, "/api/v2", CLOSED, creates=False)
    finding = trial_run.Check().run(ctx_for("/api/v2", wait=60, cleanup=True))
    assert finding.status is Status.FAIL and finding.code is trial_run.Code.NOT_CREATED
    assert "failed: the server closed the connection before the answer was complete" in finding.summary
    assert finding.summary.endswith("was created") and "; no run airflow_doctor__" in finding.summary
    assert "cleanup: nothing to delete" in finding.details
    assert server.calls == ["POST", "GET"]
    assert "this request got no answer" in finding.why_ui_works


@responses.activate(assert_all_requests_are_fired=False)
@pytest.mark.parametrize("api", ["/api/v1", "/api/v2"])
def test_when_the_lookup_fails_too_the_run_may_exist_so_cleanup_says_what_to_delete(api: str) -> None:
    """Airflow 3 gets the delete; Airflow 2's scheduler exits when a run it works on is deleted under it."""
    server = CreatesButNeverAnswers(responses, api, READ_TIMEOUT, lookup_fails=READ_TIMEOUT)
    finding = trial_run.Check().run(ctx_for(api, wait=60, cleanup=True))
    [run_id] = [d.removeprefix("run id sent: ") for d in finding.details if d.startswith("run id sent: ")]
    assert finding.status is Status.FAIL and f"whether the run {run_id} was created is unknown" in finding.summary
    assert finding.code is trial_run.Code.UNKNOWN_WHETHER_CREATED
    assert finding.fix is not None and run_id in finding.fix.text
    if api == "/api/v2":
        assert f"cleanup: deleted the test run {run_id}" in finding.details and server.runs == set()
    else:
        assert any(d.startswith(f"cleanup: left the test run {run_id} in place") for d in finding.details)
    assert "this request got no answer" in finding.why_ui_works


@responses.activate(assert_all_requests_are_fired=False)
def test_a_trigger_that_never_reached_the_server_is_not_looked_up() -> None:
    server = CreatesButNeverAnswers(responses, "/api/v2", REFUSED, creates=False)
    with pytest.raises(TransportError) as raised:
        trial_run.Check().run(ctx_for("/api/v2", wait=60, cleanup=True))
    assert raised.value.layer is Layer.TCP_REFUSED and server.calls == ["POST"]


def test_ctrl_c_at_the_prompt_stops_before_anything_is_sent() -> None:
    def interrupted(plan: str) -> bool:
        raise KeyboardInterrupt

    with responses.RequestsMock() as rsps, pytest.raises(KeyboardInterrupt):
        trial_run.Check().run(ctx_for(confirm=interrupted))
    assert len(rsps.calls) == 0


@pytest.mark.parametrize("api, state, deleted", [
    ("/api/v1", "running", False), ("/api/v1", "queued", False), ("/api/v1", "success", True),
    ("/api/v2", "running", False), ("/api/v2", "queued", True),
])
def test_cleanup_never_deletes_a_run_the_scheduler_is_working_on(api: str, state: str, deleted: bool) -> None:
    """Seen on real 2.10.5: deleting a running run under the scheduler made it exit with StaleDataError."""
    ctx = ctx_for(api, cleanup=True)
    run = trial_run.TestRun("airflow_doctor__t", state, None, "http://airflow.test/ui")
    with responses.RequestsMock(assert_all_requests_are_fired=deleted) as rsps:
        rsps.add("DELETE", f"http://airflow.test{api}/dags/doctor_demo/dagRuns/airflow_doctor__t", status=204)
        said = trial_run.cleanup(ctx, run)
    assert said.startswith("cleanup: deleted") is deleted
    if not deleted:
        assert "StaleDataError" in said and "once it has finished" in said


@pytest.mark.parametrize("api, state, paused, held", [
    (ApiFlavour.V1, "queued", False, True),
    (ApiFlavour.V1, "running", False, True),
    (ApiFlavour.V1, "running", True, False),
    (ApiFlavour.V2, "queued", False, False),
    (ApiFlavour.V2, "running", False, True),
    (ApiFlavour.V2, "failed", False, False),
    (ApiFlavour.V1, "success", False, False),
])
def test_cleanup_leaves_a_run_the_scheduler_may_be_working_on(api: ApiFlavour, state: str, paused: bool,
                                                              held: bool) -> None:
    """Airflow 2's and 3.1's schedulers exit when such a run is deleted under them; 3.2+ answers 409 (seen on 3.3.2:
    'cannot be deleted in running state')."""
    assert trial_run.scheduler_holds(api, state, paused) is held
