"""The check registry. Its order is the order checks run in, each building on the facts of those before."""

from airflow_doctor.checks import (auth_backend, credential_encoding, dag_exists, paused, payload_schema, permissions, reachability,
                    test_trigger)

CHECKS = (
    reachability.Check(),
    auth_backend.Check(),
    credential_encoding.Check(),
    dag_exists.Check(),
    permissions.Check(),
    payload_schema.Check(),
    paused.Check(),
    test_trigger.Check(),
)

CHECK_IDS = tuple(check.id for check in CHECKS)
