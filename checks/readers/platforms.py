"""Which managed platform a url belongs to, by its host name, and how scripts authenticate there."""

from __future__ import annotations

from urllib.parse import urlsplit

from airflow_doctor.checks.base import Platform

PLATFORM_NOTES = {
    Platform.MWAA: "identity comes from AWS IAM: Airflow passwords and Basic auth do not work; call the API through "
                   "'aws mwaa invoke-rest-api' or a web login token",
    Platform.COMPOSER: "send a Google OAuth2 access token as 'Authorization: Bearer' (auth type google: "
                       "Application Default Credentials); Basic auth does not work",
    Platform.ASTRONOMER: "send a Deployment or Workspace API token as 'Authorization: Bearer' (auth type token); "
                         "the url must include the deployment's path",
    Platform.SELF_HOSTED: "",
}


def platform_of(url: str) -> Platform:
    host = (urlsplit(url).hostname or "").lower()
    if host.endswith((".airflow.amazonaws.com", ".on.aws")):
        return Platform.MWAA
    if host.endswith((".composer.googleusercontent.com", ".composer.cloud.google.com")):
        return Platform.COMPOSER
    if host.endswith(".astronomer.run"):
        return Platform.ASTRONOMER
    return Platform.SELF_HOSTED
