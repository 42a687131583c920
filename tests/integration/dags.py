"""DAG files for the scenario servers: each one is a situation users hit."""

from __future__ import annotations

from airflow_doctor.sandbox import SAMPLE_DAG

IMPORTS = '''\
import datetime

try:  # Airflow 3
    from airflow.sdk import DAG, Param
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.models.param import Param
    from airflow.operators.empty import EmptyOperator
    from airflow.operators.python import PythonOperator

START = datetime.datetime(2024, 1, 1)
'''


def dag_file(dag_id: str, *, paused: bool = False, extra: str = "", body: str = 'EmptyOperator(task_id="hello")',
             schedule: str | None = None) -> str:
    return IMPORTS + f'''
with DAG("{dag_id}", start_date=START, schedule={schedule!r}, catchup=False, is_paused_upon_creation={paused}{extra}):
    {body}
'''


FAILING_TASK = '''def explode():
        raise RuntimeError("the doctor's test task fails on purpose")

    PythonOperator(task_id="explode", python_callable=explode)'''

BROKEN = "from airflow import DAG  # this file should define doctor_missing\nimport airflow_doctor_no_such_module\n"

LEAK_CANARIES = ("leak-canary-4f1d9-pg", "leak-canary-4f1d9-apikey")
"""Credentials only the server knows: they reach the doctor in the import error's traceback, never from a profile."""
LEAKY_DAG_ID = "leaky_orders_etl"
LEAKY = f'''\
from airflow import DAG  # this file should define {LEAKY_DAG_ID}; it fails to import the way a connection does
api_key = "{LEAK_CANARIES[1]}"
raise ConnectionError(f"create_engine('postgresql://etl:{LEAK_CANARIES[0]}@db/orders') refused api_key = \\"{{api_key}}\\"")
'''

REQUIRED_PARAM_DAG_ID = "doctor_required_param"
REQUIRED_PARAM = "region"
REQUIRED_PARAMS = f', params={{"{REQUIRED_PARAM}": Param(type="string"), "batch_size": Param(10, type="integer")}}'
"""A param without a default: the UI's trigger form asks for it, a script's conf must carry it (schedule None, as
Airflow requires of such a DAG)."""

LONG_DAG_ID = "doctor_orders_hourly_rollup_for_the_finance_dashboards_eu"
"""A DAG id too long for MWAA's InvokeRestApi: /dags/<id>/dagRuns is over its 64-character Path limit."""

DAGS_COMMON = {
    "doctor_demo.py": SAMPLE_DAG,
    "doctor_paused.py": dag_file("doctor_paused", paused=True),
    "doctor_fails.py": dag_file("doctor_fails", body=FAILING_TASK),
    "doctor_display.py": dag_file("doctor_display_id", extra=', dag_display_name="Doctor Display"'),
    "doctor_missing.py": BROKEN,
    f"{LEAKY_DAG_ID}.py": LEAKY,
    "doctor_becomes_broken.py": dag_file("doctor_becomes_broken"),
    "doctor_stale.py": dag_file("doctor_stale"),
    f"{REQUIRED_PARAM_DAG_ID}.py": dag_file(REQUIRED_PARAM_DAG_ID, extra=REQUIRED_PARAMS),
    "doctor_long_id.py": dag_file(LONG_DAG_ID),
    "doctor_queue_held.py": dag_file("doctor_queue_held", extra=", max_active_runs=1",
                                     body='PythonOperator(task_id="needs_a_slot", python_callable=lambda: None, '
                                          'pool="doctor_queue_pool")'),
    "doctor_queue_tasks.py": dag_file("doctor_queue_tasks", extra=", max_active_tasks=1",
                                      body='PythonOperator(task_id="holds_the_task_slot", '
                                           'python_callable=lambda: __import__("time").sleep(600))'),
}
QUEUE_HELD_DAG_ID, QUEUE_POOL = "doctor_queue_held", "doctor_queue_pool"
"""max_active_runs 1 and a task in a pool the test creates with 0 slots: a run it starts holds the only run slot
(running, its task waiting for the pool) without a task that runs, so it can be failed and deleted safely (not an EmptyOperator: the scheduler marks those
successful without a pool slot)."""
QUEUE_TASKS_DAG_ID = "doctor_queue_tasks"
"""max_active_tasks 1 and a task that sleeps 10 minutes: while one run's task runs, another run's task waits (the
test marks it successful once it has seen that)."""
SLEEPER = '''PythonOperator(task_id="hold_the_slot", python_callable=lambda: __import__("time").sleep(90))'''

DAGS_V3_ONLY = {
    "doctor_limited.py": dag_file("doctor_limited", extra=", max_active_runs=1", body=SLEEPER),
    "doctor_no_manual.py": dag_file("doctor_no_manual", schedule="@yearly", extra=', allowed_run_types=["scheduled"]'),
}
