"""The request that works for this deployment, as curl and as Python: what the user's script should send.

Built from what the checks learned (API flavour, the credential form the server accepted, the DAG, the
corrected payload). Secrets appear only as environment-variable placeholders, never as values, and
payload values under sensitive-looking keys are masked. No name in the code looks like a secret's
(`TOKEN=...`), so the report's redaction leaves the code as it is.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from airflow_doctor.checks.readers import front_controls, gateway, proxy
from airflow_doctor.checks.readers.auth_common import Code as AuthCode
from airflow_doctor.checks.readers.credentials import Scheme
from airflow_doctor.checks.base import ApiFlavour, Facts
from airflow_doctor.checks.readers.trigger_body import PLACEHOLDER, complete_conf, correct
from airflow_doctor.model import CheckResult, Snippet, Status, WorkingRequest
from airflow_doctor.platforms.mwaa import findings as mwaa_findings
from airflow_doctor.platforms.mwaa.client import MAX_PATH
from airflow_doctor.sources.profile import AuthType, AwsVia, Profile
from airflow_doctor.sources.network import proxy_password
from airflow_doctor.transport import NO_PROXY
from airflow_doctor.redact import redact_json

IN_THE_REQUEST = ("payload-schema", "credential-encoding")
"""Checks whose failure is in the script's own request: the snippets below are the fix."""
PASSWORD_VAR = "AIRFLOW_PASSWORD"
TOKEN_VAR = "AIRFLOW_TOKEN"
USERNAME_VAR = "AIRFLOW_USERNAME"
BEARER_PREFIX = "Bearer "
KEY_PASSWORD_VAR = "AIRFLOW_CLIENT_KEY_PASSWORD"
PROXY_PASSWORD_VAR = "AIRFLOW_PROXY_PASSWORD"


def build(profile: Profile, facts: Facts, results: list[CheckResult] | tuple[CheckResult, ...]) -> WorkingRequest:
    if facts.api is None:
        return WorkingRequest("The request that works", ("The Airflow API was not found, so no request can be "
                                                         "shown yet; fix reachability first.",), ())
    dag_id = facts.dag.dag_id if facts.dag else profile.dag_id
    if not dag_id:
        return WorkingRequest("The request that works", ("The profile names no DAG, so there is no trigger URL to "
                                                         "show: add dag_id: (the id the UI shows under the DAG's "
                                                         "name) and run again.",), ())
    body = trigger_body(profile, facts)
    shown = redact_json(body)
    url = f"{facts.base_url}{facts.api.value}/dags/{quote(dag_id, safe='')}/dagRuns"
    if facts.mwaa is not None:
        return _mwaa_request(profile, facts, results, dag_id, body, shown)
    kind = _auth_kind(profile, facts)
    username = (facts.credentials.username if facts.credentials and facts.credentials.username else profile.auth.username)
    strip = _strip_secret(profile, facts, kind, results)
    notes = _notes(results, facts, kind, username) + _body_notes(body, shown, facts)
    if kind == "google":
        return google_request(facts, url, shown, notes)
    if kind == "token" and _bearer_prefixed(profile):
        notes.append(f"The token is sent as its last word: without the 'Bearer ' {TOKEN_VAR} starts with, which the "
                     "header would otherwise repeat.")
    notes += network_notes(profile)
    return WorkingRequest(
        f"The request that works for Airflow {facts.airflow_version} ({facts.api.value})",
        tuple(notes),
        (Snippet("curl", "sh", _curl(url, facts.base_url, shown, kind, username, strip, curl_options(profile))),
         Snippet("Python (requests)", "python", _python(url, facts.base_url, shown, kind, username, strip,
                                                        python_options(profile)))),
    )


def _mwaa_request(profile: Profile, facts: Facts, results, dag_id: str, body: dict,  # type: ignore[no-untyped-def]
                  shown: dict) -> WorkingRequest:
    """AWS MWAA: boto3's invoke_rest_api, or the web login path (also when a long DAG id rules InvokeRestApi out)."""
    assert facts.api is not None
    mwaa = facts.mwaa
    dag_path = f"/dags/{quote(dag_id, safe='')}/dagRuns"
    via = AwsVia.WEB_LOGIN if len(dag_path) > MAX_PATH else mwaa.via
    code = mwaa_findings.snippets(mwaa.target.environment, mwaa.region, facts.base_url, facts.api, dag_path, shown, via)
    notes = (_notes(results, facts, "none", None) + mwaa_findings.request_notes(mwaa, via, dag_path)
             + _body_notes(body, shown, facts))
    return WorkingRequest(f"The request that works for MWAA environment {mwaa.target.environment} (Airflow "
                          f"{facts.airflow_version}, {facts.api.value})", tuple(notes),
                          tuple(Snippet(label, "python", text) for label, text in code))


def trigger_body(profile: Profile, facts: Facts) -> dict:
    """payload-schema's corrected body when it ran (existing run ids dropped, placeholders for required params);
    otherwise the profile's payload corrected here."""
    if facts.trigger_body is not None:
        body = dict(facts.trigger_body)
    else:
        payload = profile.payload if isinstance(profile.payload, dict) else {}
        params = facts.dag.params if facts.dag else {}
        body = complete_conf(correct(payload, facts.api is ApiFlavour.V2, facts.airflow_version or "", params), params)
    if facts.api is ApiFlavour.V2:
        body = {"logical_date": None, **body}
    if body.get("conf") is None:
        body["conf"] = {}
    return body


def _body_notes(body: dict, shown: dict, facts: Facts) -> list[str]:
    notes = []
    conf = body.get("conf") if isinstance(body.get("conf"), dict) else {}
    missing = [name for name, value in conf.items() if value == PLACEHOLDER.format(name=name)]
    if missing:
        schemas = facts.dag.params if facts.dag else {}
        notes.append("Fill in " + ", ".join(f"conf.{n} ({json.dumps((schemas.get(n) or {}).get('schema') or {})})"
                                            for n in missing)
                     + ": the DAG's params without a default; the server refuses the run until they are set.")
    if shown != body:
        notes.append("Payload values under sensitive-looking keys are shown as ***: put your own back.")
    return notes


def _strip_secret(profile: Profile, facts: Facts, kind: str, results) -> bool:  # type: ignore[no-untyped-def]
    """Whether the snippets strip the secret: where the stripped form is what the server accepted, or where the
    profile's secret carries whitespace (or a 'Bearer ' prefix) and credential-encoding blamed it."""
    if facts.credentials is not None and facts.credentials.stripped:
        return True
    blamed = facts.credentials is None or any(r.check_id == "credential-encoding" and r.status is Status.FAIL
                                              for r in results)
    if kind == "token":
        return blamed and (_bearer_prefixed(profile) or _padded(profile.auth.token))
    return blamed and _padded(profile.auth.password)


def _padded(secret) -> bool:  # type: ignore[no-untyped-def]
    return secret is not None and secret.reveal() != secret.reveal().strip()


def _bearer_prefixed(profile: Profile) -> bool:
    token = profile.auth.token
    return token is not None and token.reveal().strip().lower().startswith(BEARER_PREFIX.lower())


def _auth_kind(profile: Profile, facts: Facts) -> str:
    if profile.auth.type is AuthType.GOOGLE:
        return "google"
    if profile.auth.type is AuthType.TOKEN and profile.auth.scheme == "none":
        return "key"
    if facts.credentials is not None and facts.credentials.scheme is Scheme.NONE:
        return "none"
    if profile.auth.type is AuthType.TOKEN and facts.api is ApiFlavour.V1 and (
            facts.credentials is None or facts.credentials.scheme is not Scheme.BEARER):
        return "basic"
    if profile.auth.type is AuthType.TOKEN:
        return "token"
    if facts.api is ApiFlavour.V2 and profile.auth.type is not AuthType.NONE:
        return "jwt"
    if profile.auth.type is AuthType.NONE:
        return "none"
    return "basic"


NOT_AIRFLOWS_ANSWER = frozenset({*front_controls.Code, *proxy.Code, *gateway.Code, *gateway.ALREADY_WHAT_ANSWERED})
"""Codes of findings about an answer Airflow did not write (a front, a proxy, a gateway): the printed request would
meet the same refusal, so such a failure is to fix first even when the check that met it reads the request."""


def in_the_request(result: CheckResult, failed: list[CheckResult]) -> bool:
    """A failure the snippets correct: in the request itself (its fix assumed by the later checks is built in: the
    url that answered, the token the exchange issued), or explained by such a failure. Never one a front, proxy or
    gateway answered."""
    def own(r: CheckResult) -> bool:
        if r.code in NOT_AIRFLOWS_ANSWER:
            return False
        return r.check_id in IN_THE_REQUEST or r.code == AuthCode.REQUEST_AUTH_SCHEME or r.assumed is not None
    return own(result) or any(own(r) and result.check_id in r.explains for r in failed)


def _notes(results, facts: Facts, kind: str, username: str | None) -> list[str]:
    notes = []
    failed = [r for r in results if r.status is Status.FAIL and r.check_id != "test-trigger"]
    outside = [r for r in failed if not in_the_request(r, failed)]
    corrected = [r for r in failed if in_the_request(r, failed) and not any(r.check_id in o.explains for o in failed)]
    if corrected:
        notes.append("This request corrects what the script sends: " + "; ".join(
            f"{r.summary} ({r.check_id})" for r in corrected) + ".")
    notes += [f"Built on what was learned: {r.assumed.text}." for r in failed if r.assumed is not None]
    if outside:
        notes.append(f"Fix first: {outside[0].summary} ({outside[0].check_id}). Until then this request fails too; "
                     "it works once the checks pass.")
    trial = next((r for r in results if r.check_id == "test-trigger" and r.status is not Status.SKIP), None)
    if trial is not None and not failed:
        notes.append("airflow-doctor sent this request with --trigger and the server created the run"
                     + (" (the run itself then failed: see test-trigger)." if trial.status is Status.FAIL else "."))
    secret_var = TOKEN_VAR if kind in ("token", "key") else PASSWORD_VAR
    if kind == "key":
        notes.append(f"The key goes alone in Authorization, without the word Bearer (Astro Private Cloud / Software).")
    if kind not in ("none", "google"):
        names = f"{USERNAME_VAR} (an Airflow user's login) and {secret_var}" if not username else secret_var
        notes.append(f"Set {names} in the environment; the value never appears here.")
    if kind == "basic":
        notes.append("Basic auth is sent as UTF-8 bytes, as Airflow 2 decodes it (requests would send a str as "
                     "latin-1).")
    if kind == "jwt":
        notes.append("Airflow 3 takes a token from POST /auth/token (valid 24 h by default); get a fresh one per "
                     "batch of calls.")
    return notes


def _shell_json(value: object) -> str:
    return shlex.quote(json.dumps(value, ensure_ascii=False))


def _curl(url: str, base: str, body: dict, kind: str, username: str | None, strip: bool,
          options: str = "") -> str:
    lines = []
    auth = ""
    secret = "$(printf %s \"$VAR\")" if strip else "$VAR"  # drops trailing newlines, as the server needed
    login_name = shlex.quote(username) if username else f'"${USERNAME_VAR}"'
    if kind == "basic":
        auth = f" \\\n  -u {login_name}:\"{secret.replace('VAR', PASSWORD_VAR)}\""
    elif kind == "key":
        auth = f" \\\n  -H \"Authorization: ${TOKEN_VAR}\""
    elif kind == "token":
        token = "$(printf %s \"$VAR\" | awk '{print $NF}')" if strip else "$VAR"  # the last word: no 'Bearer ', no newline
        auth = f" \\\n  -H \"Authorization: Bearer {token.replace('VAR', TOKEN_VAR)}\""
    elif kind == "jwt":
        name = json.dumps(username) if username else f'os.environ["{USERNAME_VAR}"]'
        login = (f'import json, os; print(json.dumps({{"username": {name}, '
                 f'"password": os.environ["{PASSWORD_VAR}"]{".strip()" if strip else ""}}}))')
        lines.append(f"JWT=$(python3 -c {shlex.quote(login)} \\\n"
                     f"  | curl -sS -X POST {shlex.quote(base + '/auth/token')} -H 'Content-Type: application/json'{options} -d @- \\\n"
                     f"  | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"access_token\"])')")
        auth = " \\\n  -H \"Authorization: Bearer $JWT\""
    lines.append(f"curl -sS --fail-with-body -X POST {shlex.quote(url)} \\\n  -H 'Content-Type: application/json'{options}{auth} \\\n"
                 f"  -d {_shell_json(body)}")
    return "\n".join(lines)


def _python(url: str, base: str, body: dict, kind: str, username: str | None, strip: bool,
            options: "PythonOptions | None" = None) -> str:
    options = options or PythonOptions()
    secret = f'os.environ["{PASSWORD_VAR}"]' + (".strip()" if strip else "")
    name = json.dumps(username) if username else f'os.environ["{USERNAME_VAR}"]'
    lines = ["import os", "", "import requests", *options.preamble, "", f"AIRFLOW_URL = {json.dumps(base)}"]
    call_auth = ""
    authorization = None
    if kind == "basic":
        call_auth = f'    auth=({name}.encode("utf-8"), {secret}.encode("utf-8")),\n'
    elif kind == "key":
        authorization = f'os.environ["{TOKEN_VAR}"]'
    elif kind == "token":
        authorization = '"Bearer " + ' + f'os.environ["{TOKEN_VAR}"]' + (".split()[-1]" if strip else "")
    elif kind == "jwt":
        login_headers = f"    headers={options.headers(None)},\n" if options.extra else ""
        lines += ["", "login = requests.post(",
                  '    f"{AIRFLOW_URL}/auth/token",',
                  f'    json={{"username": {name}, "password": {secret}}},',
                  *(login_headers + options.kwargs).splitlines(), "    timeout=30,", ')', "login.raise_for_status()"]
        authorization = 'f"Bearer {login.json()[\'access_token\']}"'
    if authorization is not None or options.extra:
        call_auth += f"    headers={options.headers(authorization)},\n"
    path = url[len(base):]
    lines += ["", "response = requests.post(", f'    f"{{AIRFLOW_URL}}{path}",', f"    json={body!r},"]
    return ("\n".join(lines) + "\n" + call_auth + options.kwargs
            + "    timeout=30,\n)\nresponse.raise_for_status()\nprint(response.json()[\"dag_run_id\"])")


# --- the network path: extra headers, TLS, proxy, as the profile sends them ---------------------------

@dataclass(frozen=True)
class PythonOptions:
    """The profile's network settings as requests keyword arguments: header values read from the environment."""

    extra: tuple[tuple[str, str], ...] = ()
    """(header name, environment variable) pairs."""
    kwargs: str = ""
    """Lines of verify=, cert=, proxies= (each ends with a newline)."""
    preamble: tuple[str, ...] = ()

    def headers(self, authorization: str | None) -> str:
        items = [f'{json.dumps(name)}: os.environ["{variable}"]' for name, variable in self.extra]
        if authorization is not None:
            items.append(f'"Authorization": {authorization}')
        return "{" + ", ".join(items) + "}"


def python_options(profile: Profile) -> PythonOptions:
    net = profile.network
    lines, preamble = [], ()
    if net.system_ca:
        preamble = ("import truststore", "",
                    "truststore.inject_into_ssl()  # verify with the operating system's store (pip install truststore)")
    elif profile.verify is False:
        lines.append("    verify=False,  # as the profile: see the warning about what this hides")
    elif isinstance(profile.verify, str):
        lines.append(f"    verify={json.dumps(profile.verify)},")
    if net.client_cert:
        cert = (f"({json.dumps(net.client_cert)}, {json.dumps(net.client_key)})" if net.client_key else
                json.dumps(net.client_cert))
        lines.append(f"    cert={cert},")
    if net.proxy == NO_PROXY:
        lines.append('    proxies={"http": None, "https": None},  # no proxy, whatever HTTPS_PROXY says')
    elif net.proxy:
        lines.append(f"    proxies={{\"http\": {_python_proxy(net.proxy)}, \"https\": {_python_proxy(net.proxy)}}},")
    return PythonOptions(tuple((h.name, h.variable) for h in net.headers), "".join(f"{line}\n" for line in lines),
                         preamble)


def curl_options(profile: Profile) -> str:
    """curl's options for the same settings (each on its own continued line): -H "Name: $VAR", never the value."""
    net = profile.network
    options = [f'-H "{h.name}: ${h.variable}"' for h in net.headers]
    if net.system_ca:
        options.append("--ca-native")
    elif profile.verify is False:
        options.append("-k")
    elif isinstance(profile.verify, str):
        options.append(f"--cacert {shlex.quote(profile.verify)}")
    if net.client_cert:
        options.append(f"--cert {shlex.quote(net.client_cert)}")
        if net.client_key:
            options.append(f"--key {shlex.quote(net.client_key)}")
        if net.client_key_password is not None:
            options.append(f'--pass "${KEY_PASSWORD_VAR}"')
    if net.proxy == NO_PROXY:
        options.append("--noproxy '*'")
    elif net.proxy:
        options.append(_shell_proxy(net.proxy))
    return "".join(f" \\\n  {option}" for option in options)


def network_notes(profile: Profile) -> list[str]:
    net = profile.network
    notes = []
    if net.headers:
        named = ", ".join(f"{h.variable} (the {h.name} header)" for h in net.headers)
        notes.append(f"Set {named} in the environment: every request carries the profile's extra headers; the "
                     "values never appear here.")
    if net.system_ca:
        notes.append("The server is verified with the operating system's trust store, as the profile's tls.verify: "
                     "system does: in Python with truststore (pip install truststore), with curl 8.2 or later by "
                     "--ca-native.")
    if net.client_key_password is not None:
        notes.append(f"The client key is encrypted: curl reads its password from ${KEY_PASSWORD_VAR}; requests' cert= "
                     "cannot take a password, so give the script a key without one (openssl pkey -in key.pem -out "
                     "plain-key.pem), kept private.")
    if net.proxy and net.proxy != NO_PROXY and proxy_password(net.proxy):
        notes.append(f"Set {PROXY_PASSWORD_VAR} to the proxy's password; it never appears here.")
    return notes


def _python_proxy(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return json.dumps(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return (f'f"{parts.scheme}://{parts.username}:{{os.environ[\'{PROXY_PASSWORD_VAR}\']}}@{host}"')


def _shell_proxy(url: str) -> str:
    """-x without credentials (a URL's user:password is masked in any report), then --proxy-user with the variable."""
    parts = urlsplit(url)
    if parts.password is None:
        return f"-x {shlex.quote(url)}"
    bare = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
    return f'-x {shlex.quote(bare)} --proxy-user "{parts.username}:${PROXY_PASSWORD_VAR}"'



GOOGLE_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def google_request(facts: Facts, url: str, body: dict, notes: list[str]) -> WorkingRequest:
    """Cloud Composer: google-auth's AuthorizedSession with Application Default Credentials, as Google's sample does."""
    notes = [*notes, "The token comes from Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, or "
                     "'gcloud auth application-default login'); the script runs as the principal shown in "
                     "auth-backend. Needs: pip install google-auth requests."]
    path = url[len(facts.base_url):]
    python = "\n".join([
        "import google.auth",
        "from google.auth.transport.requests import AuthorizedSession",
        "",
        f"AIRFLOW_URL = {json.dumps(facts.base_url)}",
        "",
        f'credentials, _ = google.auth.default(scopes=[{json.dumps(GOOGLE_SCOPE)}])',
        "session = AuthorizedSession(credentials)",
        f'response = session.post(f"{{AIRFLOW_URL}}{path}", json={body!r}, timeout=30)',
        "response.raise_for_status()",
        'print(response.json()["dag_run_id"])'])
    curl = (f"curl -sS --fail-with-body -X POST {shlex.quote(url)} \\\n  -H 'Content-Type: application/json' \\\n"
            "  -H \"Authorization: Bearer $(gcloud auth application-default print-access-token)\" \\\n"
            f"  -d {_shell_json(body)}")
    assert facts.api is not None
    return WorkingRequest(f"The request that works for Airflow {facts.airflow_version} ({facts.api.value}) on Cloud "
                          "Composer", tuple(notes),
                          (Snippet("Python (google-auth)", "python", python), Snippet("curl", "sh", curl)))
