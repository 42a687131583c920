"""Cloud Composer: what its auth failures mean, next to the evidence that selects them.

Composer's web server takes a Google OAuth2 access token (scope cloud-platform) from Application Default
Credentials as 'Authorization: Bearer'; its own auth backend (composer_auth) looks up the token's principal,
maps it to the Airflow user accounts.google.com:<numeric id> and registers a principal it has never seen with
[api] composer_auth_user_registration_role (Op by default). The token itself comes from
airflow_doctor.platforms.composer.client, the only module that talks to google-auth.
"""

from __future__ import annotations

from airflow_doctor.checks.readers.credentials import Credentials, Scheme, Trial, decode_jwt
from airflow_doctor.checks.readers.front import airflows_own, front_label
from airflow_doctor.checks.base import CheckContext, Platform, error_detail, try_credentials
from airflow_doctor.checks.readers.gateway import transport_finding
from airflow_doctor.probe import ProbeResponse
from airflow_doctor.model import Finding, FindingCode, Fix, Status

DOCS = "https://cloud.google.com/composer/docs/composer-2/access-airflow-api"
ADC_DOCS = "https://cloud.google.com/docs/authentication/provide-credentials-adc"
ACCESS_CONTROL_DOCS = "https://cloud.google.com/composer/docs/composer-2/restrict-access-to-the-web-server"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
REGISTRATION_ROLE = "composer_auth_user_registration_role"
ENV_ARGS = "ENVIRONMENT --location LOCATION"
WHY_UI_WORKS_SIGNED_IN = ("The browser is signed in to a Google account and reaches the web server as that person; a "
                          "script has no browser session and acts as whatever identity Application Default "
                          "Credentials find on its machine.")


class Code(FindingCode):
    TOKEN_ACCEPTED = "composer-token-accepted", "the ADC principal's Google access token was accepted"
    NO_ADC = "composer-no-adc", "no Application Default Credentials on this machine"
    ADC_UNUSABLE = "composer-adc-unusable", "the Application Default Credentials cannot be loaded"
    ADC_REFUSED = "composer-adc-refused", "Google refused to issue an access token for the ADC principal"
    TOKEN_ENDPOINT_UNREACHABLE = ("composer-token-endpoint-unreachable", "Google's token endpoint could not be "
                                  "reached to get an access token")
    TOKEN_ENDPOINT_ANSWER = ("composer-token-endpoint-answer", "the token endpoint answered, but not as OAuth: "
                             "something between answered for it")
    FEDERATION_REFUSED = "composer-federation-refused", "workload identity federation refused the exchange"
    PRINCIPAL_ROLE = "composer-principal-role", "the principal's Airflow user has no role that allows the request"
    PRINCIPAL_UNKNOWN = "composer-principal-unknown", "Composer's web server did not accept the principal's token"
    IP_BLOCKED = "composer-ip-blocked", "the web server's allow-list refused this machine's address"
    ID_TOKEN = "composer-id-token", "a Google ID token was sent where Composer takes an access token"


def google_auth(ctx: CheckContext) -> Finding:
    """Obtain the ADC access token and send it; name the principal ADC resolved to in every outcome."""
    from airflow_doctor.platforms.composer.client import AdcError, access_token

    ctx.facts.platform = Platform.COMPOSER
    try:
        obtained = access_token(ctx.probe.registry, deadline=ctx.profile.connect_timeout + ctx.profile.read_timeout)
    except AdcError as failure:
        return adc_failure(failure)
    principal = obtained.principal
    credentials = Credentials(Scheme.GOOGLE, principal.airflow_user or "", obtained.token)
    trial = try_credentials(ctx, credentials)
    ctx.facts.identity = principal.email or principal.airflow_user or "the ADC principal (e-mail unknown)"
    notes = (f"Application Default Credentials resolved to {principal.describe()}",
             f"Airflow user on Composer: {principal.airflow_user or 'accounts.google.com:<the numeric id of this principal>'}")
    if trial.accepted:
        ctx.facts.credentials = credentials
        ctx.facts.auth_scheme = "Google access token (Application Default Credentials)"
        return Finding(Status.PASS, f"the Google access token of {principal.email or principal.kind} was accepted: GET "
                                    f"{ctx.facts.api_path('/dags')} answered 200", details=notes,
                       code=Code.TOKEN_ACCEPTED)
    if trial.status is None:
        assert trial.failure is not None
        return transport_finding(trial.failure, "The request got no answer, so the web server never judged the token.")
    if trial.response is not None and not airflows_own(trial.response):
        return front_refused(trial, principal.describe())
    if trial.status == 403:
        return principal_without_role(principal.describe(), principal.airflow_user, notes)
    return token_not_accepted(trial, principal.describe(), principal.airflow_user, notes)


def adc_failure(failure) -> Finding:  # type: ignore[no-untyped-def]
    from airflow_doctor.platforms.composer.client import ADC_LOGIN, CREDENTIALS_VARIABLE, AdcProblem

    principal = failure.principal
    if failure.problem is AdcProblem.NOT_FOUND:
        return Finding(
            Status.FAIL, "no Google Application Default Credentials on this machine, so there is no access token to "
                         "send", explanation=f"google-auth looked where ADC looks ({CREDENTIALS_VARIABLE}, the file "
                         f"'{ADC_LOGIN}' writes, the metadata server of a Google Cloud machine) and found nothing: "
                         f"{failure.message}",
            fix=Fix("Log in for Application Default Credentials (a person), or point the variable at a service "
                    "account's key file (a script on a server; on Google Cloud attach the service account instead):",
                    (ADC_LOGIN, f"export {CREDENTIALS_VARIABLE}=/path/to/service-account-key.json"), ADC_DOCS),
            why_ui_works=WHY_UI_WORKS_SIGNED_IN, code=Code.NO_ADC)
    if failure.problem is AdcProblem.UNUSABLE:
        return Finding(
            Status.FAIL, f"the Application Default Credentials cannot be loaded: {failure.message}",
            explanation=f"{CREDENTIALS_VARIABLE} names a file google-auth cannot use as credentials.",
            fix=Fix(f"Point {CREDENTIALS_VARIABLE} at a service-account key or an authorized-user file, or unset it "
                    f"and run '{ADC_LOGIN}'.", (f"unset {CREDENTIALS_VARIABLE}", ADC_LOGIN), ADC_DOCS),
            why_ui_works=WHY_UI_WORKS_SIGNED_IN, code=Code.ADC_UNUSABLE)
    who = principal.describe() if principal else "the ADC principal"
    if failure.problem is AdcProblem.NOT_OAUTH:
        return token_endpoint_not_oauth(who, failure.message)
    if failure.problem is AdcProblem.REFUSED and principal is not None and principal.is_federated:
        return federation_refused(who, failure.message)
    if failure.problem is AdcProblem.REFUSED:
        user = principal is not None and principal.is_user
        return Finding(
            Status.FAIL, f"Google refused to issue an access token for {who}: {failure.message}",
            explanation="Application Default Credentials were found, but the token endpoint would not exchange them "
                        "for an access token: " + ("the login behind them was revoked or has expired (a password "
                        "change, an admin's session policy, or 'gcloud auth application-default revoke')." if user
                        else "the key was deleted or disabled, or the service account no longer exists."),
            fix=Fix("Log in again for ADC:" if user else "Create a new key for the service account and point "
                    f"{CREDENTIALS_VARIABLE} at it:",
                    (ADC_LOGIN,) if user else ("gcloud iam service-accounts keys create key.json "
                                               "--iam-account=SERVICE_ACCOUNT_EMAIL",), ADC_DOCS),
            why_ui_works=WHY_UI_WORKS_SIGNED_IN, code=Code.ADC_REFUSED)
    return Finding(
        Status.FAIL, f"the Google token endpoint could not be reached to get an access token for {who}: {failure.message}",
        explanation="The credentials were found; exchanging them for an access token needs the token endpoint they "
                    "name (oauth2.googleapis.com), which this machine cannot reach (a proxy, firewall or DNS).",
        fix=Fix("Allow this machine to reach the token endpoint (HTTPS_PROXY if it needs a proxy).", ()),
        why_ui_works="The browser already holds its Google session; it does not need a new token from this machine.",
        code=Code.TOKEN_ENDPOINT_UNREACHABLE)


def token_endpoint_not_oauth(who: str, answered: str) -> Finding:
    """The token endpoint answered, but not as OAuth: nothing was said about the credentials themselves."""
    from airflow_doctor.platforms.composer.client import CREDENTIALS_VARIABLE

    return Finding(
        Status.FAIL, f"no access token for {who}: {answered}",
        explanation="An OAuth token endpoint answers a token request with a JSON access token, or refuses it with "
                    "a JSON 'error'. This answer is neither, so it says nothing about the credentials: the endpoint "
                    "failed (a 5xx), or something else answered in its place (a proxy, a captive portal, a wrong "
                    "token_uri / token_url in the credentials file).",
        fix=Fix(f"Check what answers at the token endpoint the credentials name (token_uri or token_url in the file "
                f"{CREDENTIALS_VARIABLE} points to) and any HTTPS_PROXY on this machine; retry if Google reported an "
                "outage.", (), ADC_DOCS),
        why_ui_works="The browser already holds its Google session; it does not need a new token from this machine.",
        code=Code.TOKEN_ENDPOINT_ANSWER)


def federation_refused(who: str, answered: str) -> Finding:
    """Workload identity federation: the token exchange refused the subject token the credentials file points to."""
    return Finding(
        Status.FAIL, f"Google's token exchange refused the workload identity federation credentials of {who}: "
                     f"{answered}",
        explanation="An external_account credentials file does not hold a key: google-auth reads a subject token "
                    "(from the file, URL or program its credential_source names) and exchanges it at the token "
                    "exchange (STS) for an access token. The exchange refused it: the subject token has expired or "
                    "was not refreshed, or the workload identity pool provider does not accept it (issuer, audience "
                    "or attribute condition).",
        fix=Fix("Refresh the subject token where credential_source points, and compare its issuer and audience with "
                "the provider's configuration:",
                ("gcloud iam workload-identity-pools providers describe PROVIDER --workload-identity-pool=POOL "
                 "--location=global",), ADC_DOCS),
        why_ui_works=WHY_UI_WORKS_SIGNED_IN, code=Code.FEDERATION_REFUSED)


def principal_without_role(who: str, airflow_user: str | None, notes: tuple[str, ...] = (), dag_id: str | None = None
                           ) -> Finding:
    """Airflow's own 403 for the principal Composer mapped the token to: the user has no role that allows this."""
    user = airflow_user or "accounts.google.com:<numeric id>"
    what = f"trigger {dag_id!r}" if dag_id else "read DAGs"
    commands = (f"gcloud composer environments run {ENV_ARGS} users add-role -- -u {user} -r Op",
                f"gcloud composer environments run {ENV_ARGS} users create -- -u {user} -e EMAIL -f FIRST -l LAST "
                "-r Op --use-random-password")
    if airflow_user is None:
        commands = ("gcloud iam service-accounts describe SERVICE_ACCOUNT_EMAIL --format='value(oauth2ClientId)'",
                    *commands)
    return Finding(
        Status.FAIL, f"Airflow knows the token's principal but its roles do not allow it to {what} (403): ADC resolved "
                     f"to {who}",
        explanation="Composer authenticated the Google token and mapped it to the Airflow user "
                    f"{user}; Airflow's RBAC then refused. A principal's first API call registers it with "
                    f"[api] {REGISTRATION_ROLE} (Op unless the environment overrides it: an override to Viewer, or a "
                    "user created earlier with a lower role, gives this 403). If this is not the identity you meant, "
                    "ADC picked another one: GOOGLE_APPLICATION_CREDENTIALS wins over 'gcloud auth "
                    "application-default login'.",
        fix=Fix(f"Give {user} a role that may trigger (Op or User), or run the script as the intended identity:",
                commands, DOCS),
        details=notes, why_ui_works="The UI is used by a person signed in with their own Google account, which "
                                    "Airflow knows with a role that may trigger; the script's ADC principal is "
                                    "another Airflow user.", code=Code.PRINCIPAL_ROLE)


def token_not_accepted(trial: Trial, who: str, airflow_user: str | None, notes: tuple[str, ...] = ()) -> Finding:
    """Airflow's own 401 to a fresh ADC access token: the token is what Composer documents, so the principal is the
    cause (not registered, and not registered automatically)."""
    user = airflow_user or "accounts.google.com:<numeric id>"
    return Finding(
        Status.FAIL, f"the web server answered {trial.status} ({trial.note}) to a fresh Google access token of {who}: "
                     "no Airflow user stands behind it",
        explanation="The token was obtained just now from Application Default Credentials with the cloud-platform "
                    "scope, which is what Composer takes, and the answer is Airflow's own refusal of a request without "
                    f"a user. So Composer did not map the principal to an Airflow user ({user}): it was never "
                    f"registered and the environment does not register new principals ([api] {REGISTRATION_ROLE} "
                    "overridden to empty), or the principal belongs to another organisation. Google does not document "
                    "this answer; the Airflow user list shows whether the user exists.",
        fix=Fix(f"Create the Airflow user for this principal with a role that may trigger (or set [api] "
                f"{REGISTRATION_ROLE} = Op):",
                (f"gcloud composer environments run {ENV_ARGS} users create -- -u {user} -e EMAIL -f FIRST -l LAST "
                 "-r Op --use-random-password", f"gcloud composer environments run {ENV_ARGS} users list"), DOCS),
        details=notes, why_ui_works=WHY_UI_WORKS_SIGNED_IN, code=Code.PRINCIPAL_UNKNOWN)


def front_refused(trial: Trial, who: str) -> Finding:
    assert trial.response is not None
    return blocked_before_airflow(trial.response, f"The token was not judged; it belongs to {who}.")


def blocked_before_airflow(response: ProbeResponse, judged: str = "No credentials were needed for this request.") -> Finding:
    """A refusal that is not Airflow's: Composer's front (the web server access control) turned the caller away."""
    front = front_label(response)
    return Finding(
        Status.FAIL, f"the Composer web server's front refused this machine before Airflow saw the request "
                     f"({response.status}, {front}: {error_detail(response, 80)})",
        explanation="Airflow answers refusals as JSON; this answer is not Airflow's. On Composer the web server access "
                    "control lets only the allowed IP ranges reach the web server (the UI and the REST API alike). "
                    f"{judged} Google does not document the exact answer a blocked caller gets.",
        fix=Fix("Allow this machine's public IP (or its NAT's) in the environment's web server access control:",
                (f"gcloud composer environments update {ENV_ARGS} --web-server-allow-ip "
                 "ip_range=YOUR.IP.ADDRESS/32,description=airflow-api-client",), ACCESS_CONTROL_DOCS),
        why_ui_works="The browser runs on a network the allow-list admits (office, VPN); the script's machine is "
                     "elsewhere.", code=Code.IP_BLOCKED)


def identity_token_sent(token: str, trial: Trial) -> Finding | None:
    """A Google ID token (Composer 1 / IAP style) where Composer 2/3 need an access token: read from its claims."""
    claims = decode_jwt(token.strip().split()[-1]) if token.strip() else None
    if claims is None or str(claims.claims.get("iss")) not in GOOGLE_ISSUERS or "aud" not in claims.claims:
        return None
    who = claims.claims.get("email") or claims.claims.get("sub") or "a Google principal"
    return Finding(
        Status.FAIL, f"the token is a Google ID token (issuer {claims.claims['iss']}, audience "
                     f"{claims.claims['aud']!r}, for {who}), and the web server answered {trial.status}: Composer 2 "
                     "and 3 need an OAuth2 access token",
        explanation="An ID token proves who you are to one audience (an IAP client id: how Composer 1 environments "
                    "behind Identity-Aware Proxy were called). Composer 2 and 3 web servers take an OAuth2 access "
                    "token with the cloud-platform scope instead, and look up its principal at Google.",
        fix=Fix("Let the doctor (and the script) obtain the access token from Application Default Credentials: use "
                "auth type google; from a shell, an access token comes from gcloud.",
                ("auth:\n  type: google", "gcloud auth print-access-token"), DOCS),
        details=(f"token claims: {claims.describe()}",), why_ui_works=WHY_UI_WORKS_SIGNED_IN,
        code=Code.ID_TOKEN)
