"""AWS MWAA's own causes, next to the evidence that selects them: GetEnvironment's answer, the service's refusals
(x-amzn-ErrorType: AccessDeniedException, ValidationException), and Airflow's 403 inside InvokeRestApi's answer.

The checks call these small hooks only when the profile's auth type is aws (facts.mwaa is set); the MWAA transport
(airflow_doctor.platforms.mwaa.client) has already turned InvokeRestApi's answers into Airflow's own, so everything else is read as
on a self-hosted server. No boto3 here: the state object makes the calls.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from airflow_doctor.checks.readers.auth_common import server_error
from airflow_doctor.checks.readers.credentials import Credentials, Scheme
from airflow_doctor.checks.readers.front import airflows_own
from airflow_doctor.checks.base import ApiFlavour, CheckContext, Platform, error_detail, json_object, try_credentials
from airflow_doctor.probe import ProbeResponse, TransportError
from airflow_doctor.model import Finding, FindingCode, Fix, Status
from airflow_doctor.sources.profile import AwsVia
from airflow_doctor.secrets import Secret

TRIGGER_ROLE = "User"
"""The lowest built-in Airflow role that may trigger a DAG (User, Op and Admin may; Viewer and Public may not)."""
DOCS_POLICY = "https://docs.aws.amazon.com/mwaa/latest/userguide/access-mwaa-apache-airflow-rest-api.html"
DOCS_WEB_LOGIN = "https://docs.aws.amazon.com/mwaa/latest/userguide/call-mwaa-apis-web.html"
WHY_UI_IAM = ("The AWS console opens the Airflow UI with a web login token created for your console identity, whose "
              "IAM policy may differ from the one this script's credentials have.")
LOGIN_PATHS = {ApiFlavour.V1: "/aws_mwaa/login", ApiFlavour.V2: "/pluginsv2/aws_mwaa/login"}


class Code(FindingCode):
    STATUS = "mwaa-status", "GetEnvironment reports the environment in a state other than AVAILABLE"
    OLD = "mwaa-old", "the environment's Airflow is older than 2.4.3, which has no InvokeRestApi"
    NOT_FOUND = "mwaa-not-found", "GetEnvironment: no environment of that name in the region"
    DENIED = "mwaa-denied", "AWS denied the identity an MWAA action (AccessDeniedException)"
    SERVICE = "mwaa-service", "the MWAA service refused or could not answer a call"
    CREDENTIALS = "mwaa-credentials", "boto3 could not resolve AWS credentials, so nothing was signed"
    PRIVATE = "mwaa-private", "the web server is PRIVATE_ONLY and this machine has no route to it"
    WEB_LOGIN = "mwaa-web-login", "the web login token or the session it gave was not accepted"
    ROLE = "mwaa-role", "the IAM policy maps the identity to an Airflow role that may not read or trigger"
    TIMEOUT = "mwaa-timeout", "InvokeRestApi gave up after its limit on the web server's answer"
    PATH_LENGTH = "mwaa-path-length", "InvokeRestApi's Path is over its 64-character limit"
    # The four below were read like any server's answer before they had codes; gateway.unvouched leaves results
    # whose code starts with mwaa- as they are, so these keep out of that prefix.
    ENVIRONMENT_UNREAD = ("aws-environment-unread", "GetEnvironment was denied and the check goes on without the "
                          "environment's own facts")
    ACCEPTED = "aws-iam-accepted", "the API read through InvokeRestApi or the web login session answered 200"
    READ_UNANSWERED = "aws-read-unanswered", "the API read got no answer from AWS, so the identity was not judged"
    NOT_AN_AUTH_ANSWER = ("aws-read-not-an-auth-answer", "the API read through MWAA got an answer that is neither "
                          "Airflow's refusal nor a service refusal")


def state(ctx: CheckContext) -> Any:
    return ctx.facts.mwaa


def statement(action: str, resource: str) -> str:
    """The IAM policy statement that grants `action` on `resource`, as the user pastes it into the policy."""
    return json.dumps({"Effect": "Allow", "Action": action, "Resource": resource})


# --- reachability: the environment itself ------------------------------------------------------------

def environment_finding(ctx: CheckContext) -> Finding | None:
    """What GetEnvironment's answer (or its refusal) decides before any Airflow request, or None to go on."""
    mwaa = state(ctx)
    if mwaa is None:
        return None
    ctx.facts.platform = Platform.MWAA
    if mwaa.failure is not None and not environment_optional(ctx):
        return _get_environment_refused(ctx, mwaa)
    if mwaa.environment is None:
        return None
    env = mwaa.environment
    ctx.facts.airflow_version = env.airflow_version or None
    if env.status != "AVAILABLE":
        return Finding(
            Status.FAIL, f"the MWAA environment {env.name!r} is {env.status}, not AVAILABLE",
            explanation=f"GetEnvironment answered Status {env.status}. While an environment is being created, updated, "
                        "rolled back or has failed, its web server is not serving the Airflow API, so no call (neither "
                        "InvokeRestApi nor the web server) reaches Airflow.",
            fix=Fix("Wait until the environment is AVAILABLE (a failed update or creation: read its LastUpdate error "
                    "in the console or in the command's output), then run the check again:",
                    (f"aws mwaa get-environment --name {env.name} --query 'Environment.[Status,LastUpdate]'",)),
            why_ui_works="The UI was open before the environment left AVAILABLE (an open page keeps showing), or "
                         "it fails now too.", code=Code.STATUS)
    if mwaa.via is AwsVia.INVOKE_REST_API and not env.has_invoke_rest_api():
        return Finding(
            Status.FAIL, f"the environment runs Airflow {env.airflow_version}, which has no InvokeRestApi (2.4.3 or later)",
            explanation="MWAA offers InvokeRestApi on environments with Airflow 2.4.3 or later; on older ones AWS's "
                        "answer is 'Update your environment to use InvokeRestApi'. GetEnvironment reported "
                        f"AirflowVersion {env.airflow_version}.",
            fix=Fix("Upgrade the environment's Airflow version, or use the web login token path "
                    "(auth: {via: web-login}).", (f"aws mwaa update-environment --name {env.name} --airflow-version <2.4.3 or later>",),
                    DOCS_POLICY),
            why_ui_works="The UI signs in with a web login token, which older environments support.", code=Code.OLD)
    return None


def environment_optional(ctx: CheckContext) -> bool:
    """GetEnvironment refused by IAM alone need not stop the check: InvokeRestApi (or a web server url in the profile)
    reaches Airflow without it. Many policies grant only the action the script uses."""
    mwaa = state(ctx)
    return (mwaa.failure is not None and mwaa.failure.code == "AccessDeniedException"
            and (mwaa.via is AwsVia.INVOKE_REST_API or bool(ctx.profile.url)))


def environment_warnings(ctx: CheckContext) -> list[Finding]:
    """The environment's facts that could not be read, when the check goes on without them."""
    mwaa = state(ctx)
    if mwaa is None or not environment_optional(ctx):
        return []
    resource = f"arn:aws:airflow:{mwaa.region}:<account>:environment/{mwaa.target.environment}"
    return [Finding(Status.WARN, "GetEnvironment was denied, so the environment's status, version and web server "
                                 "access mode are not checked",
                    explanation=f"AWS answered {mwaa.failure.code}: {mwaa.failure.message}. The checks go on through "
                                "the API; only the environment's own facts are missing from this report.",
                    fix=Fix("To have them checked too, allow the identity to read the environment:",
                            (statement("airflow:GetEnvironment", resource),), DOCS_POLICY),
                    code=Code.ENVIRONMENT_UNREAD)]


def _get_environment_refused(ctx: CheckContext, mwaa: Any) -> Finding:
    failure = mwaa.failure
    name = mwaa.target.environment
    said = f"{failure.code}: {failure.message}" if failure.message else failure.code
    if failure.code in CREDENTIAL_FIXES:
        return credentials_failed(mwaa, failure.code, failure.message)
    if failure.code == "ResourceNotFoundException":
        return Finding(Status.FAIL, f"there is no MWAA environment {name!r} in {mwaa.region}",
                       explanation=f"GetEnvironment answered {said}.",
                       fix=Fix("Check auth.environment and auth.region against the environments listed by:",
                               (f"aws mwaa list-environments --region {mwaa.region}",)),
                       why_ui_works="The console shows the environment in the region selected there.",
                       code=Code.NOT_FOUND)
    if failure.code == "AccessDeniedException":
        resource = f"arn:aws:airflow:{mwaa.region}:<account>:environment/{name}"
        return Finding(Status.FAIL, "the AWS identity may not read the environment (airflow:GetEnvironment denied)",
                       explanation=f"GetEnvironment answered {said}. The doctor reads the environment's version, status "
                                   "and web server from it.",
                       fix=Fix("Add this statement to the identity's IAM policy:",
                               (statement("airflow:GetEnvironment", resource),), DOCS_POLICY),
                       why_ui_works=WHY_UI_IAM, code=Code.DENIED)
    return Finding(Status.FAIL, f"GetEnvironment failed: {said}",
                   explanation="The MWAA service refused or could not answer the call that describes the environment "
                               "(a signature refused, an expired session, or no route to the endpoint).",
                   fix=Fix("Check the AWS credentials and region of this shell:", ("aws sts get-caller-identity",)),
                   why_ui_works=WHY_UI_IAM, code=Code.SERVICE)


CREDENTIAL_FIXES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "NoCredentialsError": ("boto3 found no AWS credentials, so nothing can be signed",
                           "Give this shell AWS credentials (or name a profile in auth.aws_profile):",
                           ("aws configure", "aws sso login --profile {profile}")),
    "PartialCredentialsError": ("the AWS credentials of this shell are incomplete (an access key without its secret "
                                "key, or the reverse)",
                                "Set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for "
                                "temporary keys), or unset them to use a profile:",
                                ("export AWS_SECRET_ACCESS_KEY=<the secret key of that access key>",)),
    "CredentialRetrievalError": ("the AWS profile's credential source (credential_process or a role to assume) "
                                 "failed to give credentials",
                                 "Run the profile's credential source yourself to see its error, and fix it:",
                                 ("aws sts get-caller-identity --profile {profile}",)),
    "SSOTokenLoadError": ("the AWS SSO session of profile '{profile}' is not logged in (or its login expired)",
                          "Log in to AWS SSO for that profile, then run the check again:",
                          ("aws sso login --profile {profile}",)),
    "UnauthorizedSSOTokenError": ("the AWS SSO login of profile '{profile}' expired or was revoked",
                                  "Log in to AWS SSO again, then run the check again:",
                                  ("aws sso login --profile {profile}",)),
    "TokenRetrievalError": ("the AWS SSO token of profile '{profile}' could not be refreshed",
                            "Log in to AWS SSO again, then run the check again:", ("aws sso login --profile {profile}",)),
    "SSOError": ("AWS SSO did not give credentials for profile '{profile}'",
                 "Log in to AWS SSO again, then run the check again:", ("aws sso login --profile {profile}",)),
    "InvalidConfigError": ("the AWS profile '{profile}' is configured inconsistently, so boto3 cannot build its "
                           "credentials",
                           "Fix the profile in ~/.aws/config (a source_profile must name an existing profile), then "
                           "check it with:", ("aws configure list --profile {profile}",)),
    "RefreshWithMFAUnsupportedError": ("the AWS credentials need an MFA code to refresh, which a script cannot enter",
                                       "Refresh them interactively first (or use a role without MFA for scripts):",
                                       ("aws sts get-caller-identity --profile {profile}",)),
}
"""botocore's credential failures (airflow_doctor.platforms.mwaa.client.CREDENTIAL_ERRORS): headline, fix text, fix commands."""


def credentials_failed(mwaa: Any, code: str, message: str) -> Finding:
    """boto3 could not resolve the caller's credentials: nothing was signed, so AWS judged nothing yet."""
    profile = getattr(mwaa.client, "profile_name", None) or "<profile>"
    headline, fix, commands = CREDENTIAL_FIXES[code]
    return Finding(Status.FAIL, headline.format(profile=profile),
                   explanation=f"boto3 answered {code}: {message}. MWAA accepts only SigV4-signed calls, so no request "
                               "was sent.",
                   fix=Fix(fix, tuple(c.format(profile=profile) for c in commands)),
                   why_ui_works="The browser signs in to the AWS console with your own login, not with the "
                                "credentials of this shell.", code=Code.CREDENTIALS)


def api_flavours(ctx: CheckContext) -> tuple[ApiFlavour, ...] | None:
    """The one API the environment serves (MWAA forwards to its own version's), or None when not on MWAA."""
    mwaa = state(ctx)
    if mwaa is None or mwaa.environment is None:
        return None
    return (ApiFlavour.V2,) if mwaa.environment.api_prefix == "/api/v2" else (ApiFlavour.V1,)


def environment_notes(ctx: CheckContext) -> list[str]:
    mwaa = state(ctx)
    if mwaa is None or mwaa.environment is None:
        return []
    env = mwaa.environment
    way = ("InvokeRestApi (POST /restapi/{Name}, SigV4): Airflow's answers unwrapped" if mwaa.via is AwsVia.INVOKE_REST_API
           else "a web login token (CreateWebLoginToken) exchanged at the web server")
    return [f"GetEnvironment: {env.name} is {env.status}, Airflow {env.airflow_version}, web server "
            f"{env.webserver_url or 'not reported'} ({env.access_mode or 'access mode not reported'})",
            f"the API is reached through {way}"]


def unreachable(ctx: CheckContext, failure: TransportError) -> Finding | None:
    """The web server cannot be reached: on a PRIVATE_ONLY environment that is the classic VPN case."""
    mwaa = state(ctx)
    if mwaa is None or mwaa.environment is None or mwaa.environment.access_mode != "PRIVATE_ONLY":
        return None
    name = mwaa.environment.name
    return Finding(
        Status.FAIL, f"the web server of {name!r} is PRIVATE_ONLY and this machine cannot reach it ({failure.message})",
        explanation="GetEnvironment reports WebserverAccessMode PRIVATE_ONLY: the web server has an address only "
                    "inside the environment's VPC. A script outside the VPC (no VPN, no peering, no VPC endpoint) "
                    "cannot open a connection to it, whatever its credentials. InvokeRestApi needs no route to the web "
                    "server: AWS calls it from inside.",
        fix=Fix("Call the API through InvokeRestApi instead (auth: {type: aws, via: invoke-rest-api}), or run the "
                "script inside the VPC / over the VPN.", ("aws mwaa invoke-rest-api --name " + name
                                                          + " --method GET --path /dags",), DOCS_POLICY),
        why_ui_works="Your browser reaches the web server over the VPN (or from inside the VPC); this script runs "
                     "where there is no route to it.", code=Code.PRIVATE)


# --- auth-backend -------------------------------------------------------------------------------------

def authenticate(ctx: CheckContext) -> Finding:
    mwaa = state(ctx)
    if mwaa.via is AwsVia.WEB_LOGIN:
        credentials = _web_login(ctx)
        if isinstance(credentials, Finding):
            return credentials
    else:
        credentials = Credentials(Scheme.AWS)
    trial = try_credentials(ctx, credentials)
    if trial.response is None:
        return Finding(Status.FAIL, f"the API read got no answer: {trial.note}",
                       explanation="The request did not get an answer from AWS, so the identity was not judged.",
                       fix=Fix("Run the check again; the evidence shows the request.", ()), code=Code.READ_UNANSWERED)
    refused = service_refusal(ctx, trial.response)
    if refused is not None:
        return refused
    read = ctx.facts.api_path("/dags")
    if trial.accepted:
        ctx.facts.credentials = credentials
        ctx.facts.auth_scheme = ("AWS IAM (InvokeRestApi)" if mwaa.via is AwsVia.INVOKE_REST_API
                                 else "AWS IAM (web login token)")
        return Finding(Status.PASS, f"{ctx.facts.auth_scheme} accepted{_who(ctx)}: GET {read} answered 200",
                       code=Code.ACCEPTED)
    return _not_accepted(ctx, trial.response)


def _not_accepted(ctx: CheckContext, response: ProbeResponse) -> Finding:
    """Only Airflow's own refusal is about the role; a web-login 401 is the session not taken; anything else is
    Airflow's (or its server's) own error, read as on any server."""
    mwaa = state(ctx)
    read = ctx.facts.api_path("/dags")
    if response.status >= 500:
        return server_error(response, f"GET {read} (through {_channel(mwaa)})")
    if response.status in (401, 403) and airflows_own(response):
        if response.status == 401 and mwaa.via is AwsVia.WEB_LOGIN:
            return _session_not_accepted(ctx, response)
        return _role_cannot_read(ctx, response)
    return Finding(Status.FAIL, f"GET {read} through {_channel(mwaa)} answered {response.status} "
                                f"({error_detail(response, 100)}), which is no answer to credentials",
                   explanation="Airflow answers a credential or role problem with 401 or 403 in its own JSON shape; "
                               f"this answer is neither, so it says nothing about the IAM policy. The evidence shows "
                               "it as it came.",
                   fix=None, why_ui_works="The UI reaches the web server directly, not through this path.",
                   code=Code.NOT_AN_AUTH_ANSWER)


def _channel(mwaa: Any) -> str:
    return "InvokeRestApi" if mwaa.via is AwsVia.INVOKE_REST_API else "the web server with the web login session"


def _session_not_accepted(ctx: CheckContext, response: ProbeResponse) -> Finding:
    read = ctx.facts.api_path("/dags")
    sent = "Authorization: Bearer <_token>" if ctx.facts.api is ApiFlavour.V2 else "the session cookie"
    return Finding(
        Status.FAIL, f"the web server took the web login token but did not accept the session it gave: GET {read} "
                     f"with {sent} answered 401 ({error_detail(response, 100)})",
        explanation="401 is Airflow saying it does not know the caller: the credential the login endpoint set was "
                    "not sent back as Airflow expects it (Airflow 2: the `session` cookie on the same host; Airflow 3: "
                    "the `_token` cookie's JWT as a Bearer header), or a proxy between dropped it. The IAM policy and "
                    "the Airflow role are not the problem: Airflow never got as far as the role.",
        fix=Fix("Send the credential the login set on every API call, as the request that works below does.", (),
                DOCS_WEB_LOGIN),
        why_ui_works="The browser keeps the login's cookie and sends it with every request itself.",
        code=Code.WEB_LOGIN)


def _who(ctx: CheckContext) -> str:
    return f" as {ctx.facts.identity}" if ctx.facts.identity else ""


def _role_cannot_read(ctx: CheckContext, response: ProbeResponse) -> Finding:
    mwaa = state(ctx)
    return Finding(
        Status.FAIL, f"Airflow refused the mapped identity: GET {ctx.facts.api_path('/dags')} answered {response.status} "
                     f"({error_detail(response, 100)})",
        explanation="AWS let the call through (the IAM policy allows it), but the Airflow role the policy's resource "
                    "ARN maps this identity to may not even read DAGs: the Public role, or a policy whose resource "
                    "names no built-in role. The role is the last part of the resource ARN.",
        fix=Fix(f"Allow the identity the {TRIGGER_ROLE} role (or Op/Admin) in its IAM policy:",
                (statement(_action(mwaa), mwaa.role_arn(TRIGGER_ROLE)),), DOCS_POLICY),
        why_ui_works=WHY_UI_IAM, code=Code.ROLE)


def _action(mwaa: Any) -> str:
    return "airflow:InvokeRestApi" if mwaa.via is AwsVia.INVOKE_REST_API else "airflow:CreateWebLoginToken"


def _web_login(ctx: CheckContext) -> "Credentials | Finding":
    """CreateWebLoginToken, then the web server's MWAA login: the session cookie (Airflow 2) or `_token` (Airflow 3)."""
    mwaa = state(ctx)
    answer = mwaa.create_web_login_token()
    if not isinstance(answer, dict):
        return _refused_by_aws(ctx, answer.code, answer.message)
    token = str(answer.get("WebToken") or "")
    ctx.probe.registry.add(token)
    ctx.facts.identity = answer.get("AirflowIdentity") or None
    assert ctx.facts.api is not None
    path = LOGIN_PATHS[ctx.facts.api]
    response = ctx.probe.post(path, data={"token": token})
    name = "_token" if ctx.facts.api is ApiFlavour.V2 else "session"
    value = response.cookies.get(name)
    if not value:
        return Finding(Status.FAIL, f"POST {path} with the web login token answered {response.status} and set no "
                                    f"'{name}' cookie ({error_detail(response, 100)})",
                       explanation="The web server did not accept the token. A web login token is valid for 60 s and "
                                   "only once; a script must exchange it right after CreateWebLoginToken.",
                       fix=Fix("Create the token and post it at once, as the request that works below does.", (),
                               DOCS_WEB_LOGIN),
                       why_ui_works="The console exchanges its token immediately in the browser.", code=Code.WEB_LOGIN)
    ctx.probe.registry.add(value)
    return Credentials(Scheme.AWS, "session" if name == "session" else "token", Secret(value))


def _refused_by_aws(ctx: CheckContext, code: str, message: str) -> Finding:
    mwaa = state(ctx)
    action = _action(mwaa)
    if code == "AccessDeniedException":
        return Finding(
            Status.FAIL, f"AWS denied {action} to this identity (AccessDeniedException)",
            explanation=f"The MWAA service answered AccessDeniedException ({message}). The IAM policy of the identity "
                        f"boto3 signs with has no statement allowing {action} on the environment's role ARN "
                        "(arn:aws:airflow:<region>:<account>:role/<environment>/<Airflow role>); the role named there "
                        "is the Airflow role the call acts as.",
            fix=Fix(f"Add this statement to the identity's IAM policy ({TRIGGER_ROLE} is the lowest role that may "
                    "trigger):", (statement(action, mwaa.role_arn(TRIGGER_ROLE)),), DOCS_POLICY),
            why_ui_works=WHY_UI_IAM, code=Code.DENIED)
    return Finding(Status.FAIL, f"the MWAA service refused the call: {code}" + (f" ({message})" if message else ""),
                   explanation="AWS answered before Airflow was asked; the evidence shows its answer.",
                   fix=Fix("Check the AWS credentials this shell signs with:", ("aws sts get-caller-identity",)),
                   why_ui_works=WHY_UI_IAM, code=Code.SERVICE)


def service_refusal(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """The MWAA service's own refusal in an answer (AWS's x-amzn-ErrorType header), not Airflow's: its finding."""
    mwaa = state(ctx)
    if mwaa is None:
        return None
    from airflow_doctor.platforms.mwaa.client import MAX_PATH, SERVICE_TIMEOUT_S, api_path_length, service_error

    if response.status >= 500 and response.elapsed_ms >= SERVICE_TIMEOUT_S * 1000:
        return timed_out(ctx, response)
    error = service_error(response.headers, json_object(response))
    if error is None:
        return None
    length = api_path_length(urlsplit(response.url).path)
    if error.code == "ValidationException" and length > MAX_PATH:
        return path_too_long(ctx, length, error.message)
    return _refused_by_aws(ctx, error.code, error.message)


def timed_out(ctx: CheckContext, response: ProbeResponse) -> Finding:
    from airflow_doctor.platforms.mwaa.client import SERVICE_TIMEOUT_S

    path = urlsplit(response.url).path
    return Finding(
        Status.FAIL, f"InvokeRestApi gave up on {path} after {response.elapsed_ms / 1000:.0f} s: the Airflow web server "
                     f"did not answer within MWAA's {SERVICE_TIMEOUT_S} s limit",
        explanation=f"The call took {response.elapsed_ms / 1000:.1f} s and came back {response.status} "
                    f"({error_detail(response, 100)}). InvokeRestApi waits at most {SERVICE_TIMEOUT_S} s for the web "
                    "server; a busy or undersized web server, or a request that makes Airflow scan much (a large "
                    "list without a limit), runs past it. A longer client timeout does not help.",
        fix=Fix("Ask for less per call (a limit on list endpoints), scale the environment's web servers "
                "(MinWebservers/MaxWebservers, a larger EnvironmentClass), or retry outside busy hours.", ()),
        why_ui_works="The UI talks to the web server directly, without InvokeRestApi's 10 s limit.",
        code=Code.TIMEOUT)


def path_too_long(ctx: CheckContext, length: int, message: str) -> Finding:
    dag_id = ctx.profile.dag_id or ""
    return Finding(
        Status.FAIL, f"the DAG id is too long for InvokeRestApi: the Path would be {length} characters, the limit is 64",
        explanation=f"InvokeRestApi's Path (without /api/vN) holds at most 64 characters, and /dags/<dag id>/dagRuns "
                    f"with the {len(dag_id)}-character id {dag_id!r} is longer; AWS refused it with ValidationException "
                    f"({message}). No policy or setting lifts the limit.",
        fix=Fix("Call this DAG through the web login token path instead (auth: {type: aws, via: web-login}): "
                "CreateWebLoginToken, then the web server's login, then the REST API directly (the request that works "
                "shows it), or give the DAG a shorter id.", (), DOCS_WEB_LOGIN),
        why_ui_works="The UI talks to the web server directly (after a web login token), where paths have no such "
                     "limit.", code=Code.PATH_LENGTH)


def fit_run_id(ctx: CheckContext, body: dict) -> dict:
    """The test run's id, short enough that InvokeRestApi can follow and delete the run: the Path
    /dags/<dag>/dagRuns/<run id> counts against the 64-character limit too."""
    mwaa = state(ctx)
    if mwaa is None or mwaa.via is not AwsVia.INVOKE_REST_API:
        return body
    from urllib.parse import quote

    from airflow_doctor.platforms.mwaa.client import MAX_PATH

    run_id = str(body.get("dag_run_id", ""))
    dag = quote(ctx.facts.dag.dag_id if ctx.facts.dag else ctx.profile.dag_id or "", safe="")
    if len(f"/dags/{dag}/dagRuns/{run_id}") <= MAX_PATH:
        return body
    digits = "".join(c for c in run_id if c.isdigit())
    return {**body, "dag_run_id": f"doctor_{digits[:8]}T{digits[8:14]}"}


# --- permissions --------------------------------------------------------------------------------------

def lower_role(ctx: CheckContext, response: ProbeResponse) -> Finding | None:
    """Airflow's 403 to the trigger inside InvokeRestApi's answer: the policy maps the identity to a role that reads
    DAGs (dag-exists passed) but may not trigger them, which among the built-in roles is Viewer."""
    mwaa = state(ctx)
    if mwaa is None:
        return None
    dag_id = ctx.facts.dag.dag_id if ctx.facts.dag else ctx.profile.dag_id
    return Finding(
        Status.FAIL, f"the IAM policy maps this identity to an Airflow role that may read but not trigger {dag_id!r} "
                     f"(Viewer); triggering needs {TRIGGER_ROLE}, Op or Admin",
        explanation=f"Airflow answered {response.status} ({error_detail(response, 100)}) inside AWS's answer: AWS let "
                    "the call through, Airflow refused it. The Airflow role comes from the resource ARN of the "
                    f"policy statement that allows {_action(mwaa)} (…:role/<environment>/<Role>); a wildcard "
                    "resource (\"*\", role/<environment>/*) does not give the highest role but one below Admin. "
                    "This identity could read the DAG but not trigger it: of the built-in roles that is Viewer.",
        fix=Fix(f"Change (or add) the statement so its resource names the {TRIGGER_ROLE} role:",
                (statement(_action(mwaa), mwaa.role_arn(TRIGGER_ROLE)),), DOCS_POLICY),
        why_ui_works=WHY_UI_IAM, code=Code.ROLE)


# --- the request that works ---------------------------------------------------------------------------

CLIENT = '''import os

import boto3
from botocore.config import Config

# A custom endpoint (AWS_ENDPOINT_URL_MWAA, a VPC endpoint) takes no env./api. host prefix.
custom_endpoint = bool(os.environ.get("AWS_ENDPOINT_URL_MWAA") or os.environ.get("AWS_ENDPOINT_URL"))
mwaa = boto3.client("mwaa", region_name={region}, config=Config(inject_host_prefix=not custom_endpoint))
'''


def snippets(environment: str, region: str | None, web_url: str, api: ApiFlavour, dag_path: str, body: dict,
             via: AwsVia) -> list[tuple[str, str]]:
    """(label, Python code) of the request that works on MWAA: boto3's invoke_rest_api, or the web login path."""
    client = CLIENT.format(region=json.dumps(region) if region else "None")
    if via is AwsVia.INVOKE_REST_API:
        return [("Python (boto3 invoke_rest_api)", client + f'''
response = mwaa.invoke_rest_api(
    Name={json.dumps(environment)},
    Method="POST",
    Path={json.dumps(dag_path)},
    Body={body!r},
)
print(response["RestApiStatusCode"], response["RestApiResponse"]["dag_run_id"])''')]
    login = LOGIN_PATHS[api]
    if api is ApiFlavour.V2:
        use = '''jwt = login.cookies["_token"]
response = requests.post(
    f"{AIRFLOW_URL}/api/v2''' + dag_path + '''",
    json=''' + repr(body) + ''',
    headers={"Authorization": f"Bearer {jwt}"},
    timeout=30,
)'''
        start = "login = requests.post("
    else:
        use = '''response = web.post(
    f"{AIRFLOW_URL}/api/v1''' + dag_path + '''",
    json=''' + repr(body) + ''',
    timeout=30,
)'''
        start = "web = requests.Session()\nlogin = web.post("
    return [("Python (boto3 web login token + requests)", client + f'''import requests

AIRFLOW_URL = {json.dumps(web_url)}
grant = mwaa.create_web_login_token(Name={json.dumps(environment)})  # valid 60 s, once
{start}f"{{AIRFLOW_URL}}{login}", data={{"token": grant["WebToken"]}}, allow_redirects=False,
                 timeout=30)
login.raise_for_status()
{use}
response.raise_for_status()
print(response.json()["dag_run_id"])''')]


def request_notes(mwaa: Any, via: AwsVia, dag_path: str) -> list[str]:
    from airflow_doctor.platforms.mwaa.client import MAX_PATH

    action = "airflow:InvokeRestApi" if via is AwsVia.INVOKE_REST_API else "airflow:CreateWebLoginToken"
    notes = [f"boto3 signs with the AWS credentials of its usual chain; their IAM policy must allow {action} on "
             f"{mwaa.role_arn(TRIGGER_ROLE)} (or the Op/Admin role)."]
    if mwaa.via is AwsVia.INVOKE_REST_API and len(dag_path) > MAX_PATH:
        notes.append(f"The Path {dag_path} is {len(dag_path)} characters, over InvokeRestApi's 64: this request takes the "
                     "web login path instead, which has no such limit.")
    return notes
