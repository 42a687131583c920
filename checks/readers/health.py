"""What the health endpoint's component states mean for a triggered run (reachability reads them)."""

from __future__ import annotations

from airflow_doctor.checks.base import Facts
from airflow_doctor.model import Finding, FindingCode, Fix, Status


class Code(FindingCode):
    DATABASE_UNHEALTHY = "metadatabase-unhealthy", "the health endpoint reports the metadata database unhealthy"
    COMPONENTS_UNHEALTHY = "components-unhealthy", "no healthy scheduler (or, on Airflow 3, dag-processor)"


def health_finding(facts: Facts) -> Finding | None:
    """What the component health means for a triggered run."""
    health = facts.health
    if health.get("metadatabase") not in (None, "healthy"):
        return Finding(Status.FAIL, "the metadata database is unhealthy",
                       explanation="The web server cannot use its metadata database; no API call that reads or "
                                   "writes DAGs or runs can succeed.",
                       fix=Fix("Check the database connection ([database] sql_alchemy_conn) and that it is migrated.",
                               ("airflow db check", "airflow db migrate")),
                       why_ui_works="It does not: the UI reads the same database, so it fails or shows stale pages too.",
                       code=Code.DATABASE_UNHEALTHY)
    problems = []
    if health.get("scheduler") != "healthy":
        problems.append(("no healthy scheduler", "The scheduler has no recent heartbeat. A trigger is still accepted "
                         "(200, state 'queued'), but the run will sit queued until a scheduler runs: the API accepts, "
                         "nothing happens.", "Start the scheduler (airflow scheduler) or look at why it stopped."))
    if facts.major is not None and facts.major >= 3 and health.get("dag_processor") != "healthy":
        problems.append(("no healthy dag-processor", "In Airflow 3 DAG files are parsed by a separate dag-processor. "
                         "Without it new DAGs never appear (404) and changed DAGs are not picked up.",
                         "Start it (airflow dag-processor) next to the scheduler."))
    if not problems:
        return None
    return Finding(Status.WARN, "; ".join(p[0] for p in problems), explanation=" ".join(p[1] for p in problems),
                   fix=Fix(" ".join(p[2] for p in problems), ()), code=Code.COMPONENTS_UNHEALTHY)
