"""airflow-doctor: diagnoses why a DAG triggers from the Airflow UI but not from code."""

__version__ = "0.1.0"
