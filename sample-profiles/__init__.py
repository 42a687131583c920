"""Sample profiles, shipped with the package: `airflow-doctor profiles example [basic|jwt|token|sandbox]`."""
