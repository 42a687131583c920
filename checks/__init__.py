"""The check registry, in the order checks run and are listed. Each check declares the facts it uses and
provides (checks.base.Fact); the runner moves a check after the providers of what it uses, whatever this order."""

from airflow_doctor.checks import auth_backend, credential_encoding, dag_exists, paused, payload_schema, permissions, reachability
from airflow_doctor.checks import cors, trial_run

CHECKS = (
    reachability.Check(),
    auth_backend.Check(),
    credential_encoding.Check(),
    dag_exists.Check(),
    permissions.Check(),
    payload_schema.Check(),
    cors.Check(),
    paused.Check(),
    trial_run.Check(),
)

CHECK_IDS = tuple(check.id for check in CHECKS)
