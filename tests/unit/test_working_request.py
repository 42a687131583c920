"""The request that works: the DAG id, URL, body and credential form the server accepted, and notes that say
whether the snippet itself is the fix. Executed against real Airflow in tests/integration/test_working_request_real.py."""

from __future__ import annotations

import json

from airflow_doctor.checks.readers import working_request
from airflow_doctor.checks.readers.auth_common import Code as AuthCode
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.checks.base import DagInfo
from airflow_doctor.model import CheckResult, Status
from tests.conftest import check_context

REQUIRED_REGION = {"region": {"value": None, "schema": {"type": "string"}},
                   "batch_size": {"value": 10, "schema": {"type": "integer"}}}


def built(api="/api/v1", dag_id="doctor_demo", payload=None, params=None, stripped=False, results=(), trigger_body=None):
    ctx = check_context("http://airflow.test", api=api, version="2.10.5" if api == "/api/v1" else "3.3.2",
                        dag_id=dag_id, payload=payload, auth_type="basic" if api == "/api/v1" else "jwt")
    ctx.facts.credentials = Credentials(Scheme.BASIC, "admin", ctx.profile.auth.password, "utf-8", stripped)
    if params is not None:
        ctx.facts.dag = DagInfo("doctor_demo", False, True, False, "f.py", 16, params)
    ctx.facts.trigger_body = trigger_body
    return working_request.build(ctx.profile, ctx.facts, list(results))


def code(request, label="Python (requests)") -> str:
    return next(s.code for s in request.snippets if s.label == label)


def test_a_profile_without_dag_id_gets_no_snippet_posting_to_a_placeholder() -> None:
    request = built(dag_id=None)
    assert request.snippets == () and "add dag_id:" in request.notes[0]
    assert "<dag_id>" not in json.dumps(request.notes)


def test_a_required_param_without_a_default_gets_a_marked_placeholder_and_a_note_to_fill_it() -> None:
    request = built(payload={"conf": {"batch_size": 3}}, params=REQUIRED_REGION)
    assert "json={'conf': {'batch_size': 3, 'region': '<FILL IN: region>'}}" in code(request)
    assert any(n.startswith('Fill in conf.region ({"type": "string"})') for n in request.notes)


def test_the_corrected_body_of_payload_schema_is_what_the_snippets_send() -> None:
    request = built(api="/api/v2", payload={"logical_date": None, "dag_run_id": "taken_1"},
                    trigger_body={"logical_date": None, "conf": {}})
    assert "taken_1" not in code(request) + code(request, "curl")


def test_a_stripped_secret_is_stripped_in_both_snippets() -> None:
    request = built(api="/api/v2", stripped=True)
    assert 'os.environ["AIRFLOW_PASSWORD"].strip()' in code(request) and ".strip()" in code(request, "curl")
    basic = built(stripped=True)
    assert '-u admin:"$(printf %s "$AIRFLOW_PASSWORD")"' in code(basic, "curl")


def result(check_id: str, summary: str) -> CheckResult:
    return CheckResult(check_id, check_id, Status.FAIL, summary)


def test_a_failure_in_the_request_is_what_the_snippet_corrects_and_any_other_must_be_fixed_first() -> None:
    in_request = built(results=[result("payload-schema", "1 problem in the payload; first: run_id: ...")])
    assert in_request.notes[0].startswith("This request corrects what the script sends: 1 problem in the payload")
    assert not any(n.startswith("Fix first") for n in in_request.notes)
    elsewhere = built(results=[result("permissions", "the user may not trigger")])
    assert elsewhere.notes[0].startswith("Fix first: the user may not trigger (permissions). Until then this "
                                         "request fails too")


def scheme_refused(summary: str) -> CheckResult:
    return CheckResult("auth-backend", "auth-backend", Status.FAIL, summary, code=AuthCode.REQUEST_AUTH_SCHEME)


def test_basic_auth_sent_to_airflow_3_is_corrected_by_the_snippet_which_gets_a_token() -> None:
    ctx = check_context("http://airflow.test", api="/api/v2", version="3.3.2", auth_type="basic")
    request = working_request.build(ctx.profile, ctx.facts, [scheme_refused("Airflow 3 does not accept Basic auth")])
    assert request.notes[0].startswith("This request corrects what the script sends: Airflow 3 does not accept Basic")
    assert not any(n.startswith("Fix first") for n in request.notes)
    assert "/auth/token" in code(request) and "/auth/token" in code(request, "curl")


def test_a_token_sent_to_airflow_2_gets_basic_auth_with_the_login_from_the_environment() -> None:
    ctx = check_context("http://airflow.test", api="/api/v1", version="2.10.5", auth_type="token", token="some-token")
    request = working_request.build(ctx.profile, ctx.facts, [scheme_refused("the bearer token was refused (401)")])
    assert '-u "$AIRFLOW_USERNAME":"$AIRFLOW_PASSWORD"' in code(request, "curl")
    assert 'auth=(os.environ["AIRFLOW_USERNAME"].encode("utf-8"), os.environ["AIRFLOW_PASSWORD"].encode("utf-8"))' \
        in code(request)
    assert any(n.startswith("Set AIRFLOW_USERNAME (an Airflow user's login) and AIRFLOW_PASSWORD") for n in request.notes)


def test_a_token_pasted_with_its_bearer_prefix_is_sent_as_its_last_word() -> None:
    ctx = check_context("http://airflow.test", api="/api/v2", version="3.3.2", auth_type="token",
                        token="Bearer eyJhbGciOi.x.y\n")
    encoding = CheckResult("credential-encoding", "c", Status.FAIL, "the token starts with 'Bearer '",
                           explains=("auth-backend",))
    auth = CheckResult("auth-backend", "a", Status.FAIL, "the token was refused: 403")
    request = working_request.build(ctx.profile, ctx.facts, [auth, encoding])
    assert 'os.environ["AIRFLOW_TOKEN"].split()[-1]' in code(request)
    assert "awk '{print $NF}'" in code(request, "curl")
    assert request.notes[0] == "This request corrects what the script sends: the token starts with 'Bearer ' " \
                               "(credential-encoding)."


def test_a_password_with_a_trailing_newline_that_no_server_form_accepted_is_stripped() -> None:
    ctx = check_context("http://airflow.test", api="/api/v2", version="3.3.2", auth_type="jwt", password="pw\n")
    ctx.facts.credentials = Credentials(Scheme.BEARER, secret=ctx.profile.auth.password)
    newline = CheckResult("credential-encoding", "c", Status.FAIL, "the password ends with a trailing newline")
    assert 'os.environ["AIRFLOW_PASSWORD"].strip()' in code(working_request.build(ctx.profile, ctx.facts, [newline]))
    assert ".strip()" not in code(working_request.build(ctx.profile, ctx.facts, []))


def test_a_request_after_a_redirect_or_under_a_sub_path_is_built_on_the_url_that_answered() -> None:
    """reachability has rebased facts.base_url on the fixed url (its `assumed`): the snippets post there, and say so
    instead of asking to fix reachability first."""
    from airflow_doctor.model import Assumption

    ctx = check_context("http://airflow.test/airflow", api="/api/v2", version="3.3.2", dag_id="doctor_demo",
                        auth_type="jwt")
    moved = CheckResult("reachability", "reachability", Status.FAIL, "Airflow is served under /airflow: ...",
                        code="airflow-under-subpath", assumed=Assumption("the url is http://airflow.test/airflow"))
    request = working_request.build(ctx.profile, ctx.facts, [moved])
    assert "http://airflow.test/airflow/api/v2/dags/doctor_demo/dagRuns" in code(request, "curl")
    assert "http://airflow.test/airflow/auth/token" in code(request, "curl")
    assert 'AIRFLOW_URL = "http://airflow.test/airflow"' in code(request)
    assert request.notes[0].startswith("This request corrects what the script sends: Airflow is served under /airflow")
    assert "Built on what was learned: the url is http://airflow.test/airflow." in request.notes
    assert not any(n.startswith("Fix first") for n in request.notes)


def test_a_request_a_front_refused_is_to_fix_first_not_corrected_by_the_printed_request() -> None:
    """The printed request would meet the same front: a payload-schema failure with a front's code is not 'in the
    request', while the same check's own finding is."""
    from airflow_doctor.checks.readers.front_controls import Code as FrontCode
    from airflow_doctor.checks.readers.working_request import in_the_request
    from airflow_doctor.model import CheckResult, Status

    fronted = CheckResult("payload-schema", "t", Status.FAIL, "a front refused the body", code=FrontCode.BODY_RULE)
    own = CheckResult("payload-schema", "t", Status.FAIL, "conf breaks the params", code="payload-invalid")
    assert not in_the_request(fronted, [fronted]) and in_the_request(own, [own])
