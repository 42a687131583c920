"""The opt-in release matrix's README table: what each cell says, the notes, and the marked block it replaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.matrix import (
    END,
    MATRIX_VERSIONS,
    START,
    Cell,
    MatrixResults,
    Outcome,
    cannot_apply,
    matrix_versions,
    pins,
    render,
    replace_block,
    scenario_order,
    write_readme,
)


def two_releases() -> MatrixResults:
    results = MatrixResults()
    old = results.column("2.7.3", "2026-11-22", "3.11.7")
    old.reported = "2.7.3"
    old.cells = {"wrong-password": Cell(Outcome.PASSED),
                 "unknown-dag-id": Cell(Outcome.FAILED, "permissions", "unknown-dag-id: expected `dag-exists`"),
                 "expired-token": Cell(Outcome.OTHER_MAJOR)}
    new = results.column("3.0.6", "2026-11-23", "3.11.7")
    new.cells = {"wrong-password": Cell(Outcome.PASSED), "unknown-dag-id": Cell(Outcome.PASSED),
                 "expired-token": Cell(Outcome.NOT_APPLICABLE, note="no such thing before 3.1")}
    return results


def table_rows(block: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split("|") for line in block.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows}


@pytest.mark.parametrize("value, versions", [
    (None, ()), ("", ()), ("0", ()), ("1", MATRIX_VERSIONS), ("2.7.3", ("2.7.3",)), ("2.7.3, 3.0.6", ("2.7.3", "3.0.6")),
])
def test_the_matrix_runs_only_when_asked(value: str | None, versions: tuple[str, ...]) -> None:
    env = {} if value is None else {"AIRFLOW_DOCTOR_MATRIX": value}
    assert matrix_versions(env) == versions


def test_the_pinned_releases_are_the_newest_patch_of_each_line() -> None:
    assert MATRIX_VERSIONS == ("2.7.3", "2.8.4", "2.9.3", "3.0.6")


def test_a_failing_cell_names_the_check_that_failed_first_and_a_note_says_what_differed() -> None:
    block = render(two_releases())
    rows = table_rows(block)
    assert rows["scenario"] == ["2.7.3", "3.0.6"]
    assert rows["wrong-password"] == ["pass", "pass"]
    assert rows["unknown-dag-id"] == ["fail: `permissions` [1]", "pass"]
    assert rows["expired-token"] == ["—", "n/a [2]"]
    assert "1. Airflow 2.7.3: unknown-dag-id: expected `dag-exists`" in block
    assert "2. Airflow 3.0.6: no such thing before 3.1" in block


def test_the_block_names_the_exact_versions_the_dates_and_the_python() -> None:
    block = render(two_releases())
    assert "apache-airflow 2.7.3 on 2026-11-22 (Python 3.11.7)" in block
    assert "apache-airflow 3.0.6 on 2026-11-23 (Python 3.11.7)" in block


def test_a_server_reporting_another_version_than_installed_is_said() -> None:
    results = two_releases()
    results.columns["3.0.6"].reported = "3.0.5"
    assert "apache-airflow 3.0.6 on 2026-11-23 (Python 3.11.7, the server reported 3.0.5)" in render(results)


def test_a_release_that_did_not_start_shows_the_errors_words_once() -> None:
    results = two_releases()
    results.column("2.8.4", "2026-11-22", "3.11.7").not_started = "SandboxError: 'airflow db migrate' failed (exit 1)"
    block = render(results)
    assert [row[1] for name, row in table_rows(block).items() if name != "scenario"] == ["did not start [1]"] * 3
    assert block.count("SandboxError: 'airflow db migrate' failed (exit 1)") == 1


def test_identical_notes_share_one_number() -> None:
    results = two_releases()
    results.columns["2.7.3"].cells["wrong-password"] = Cell(Outcome.FAILED, "permissions",
                                                             "unknown-dag-id: expected `dag-exists`")
    rows = table_rows(render(results))
    assert rows["wrong-password"][0] == rows["unknown-dag-id"][0] == "fail: `permissions` [1]"


def test_a_scenario_one_release_did_not_run_says_so() -> None:
    results = two_releases()
    results.columns["3.0.6"].cells["only-on-3"] = Cell(Outcome.PASSED)
    assert table_rows(render(results))["only-on-3"] == ["not run", "pass"]


def test_columns_are_in_release_order_whatever_order_they_ran_in() -> None:
    results = MatrixResults()
    for version in ("3.0.6", "2.9.3", "2.10.5"):
        results.column(version, "2026-11-22", "3.11.7").cells = {"s": Cell(Outcome.PASSED)}
    assert table_rows(render(results))["scenario"] == ["2.9.3", "2.10.5", "3.0.6"]


def test_rows_follow_the_suites_order() -> None:
    results = two_releases()
    scenario_order(["expired-token", "wrong-password", "unknown-dag-id"], results)
    assert list(table_rows(render(results)))[1:] == ["expired-token", "wrong-password", "unknown-dag-id"]


def test_results_survive_the_file_between_runs_of_single_releases(tmp_path: Path) -> None:
    path = tmp_path / "matrix" / "results.json"
    two_releases().save(path)
    assert render(MatrixResults.load(path)) == render(two_releases())


def test_a_rerun_of_some_scenarios_updates_their_cells_and_the_date_and_keeps_the_others() -> None:
    results = two_releases()
    results.columns["2.7.3"].not_started = "SandboxError: an earlier attempt"
    results.column("2.7.3", "2026-11-24", "3.11.7").cells["unknown-dag-id"] = Cell(Outcome.PASSED)
    block = render(results)
    assert "apache-airflow 2.7.3 on 2026-11-24" in block and "earlier attempt" not in block
    assert table_rows(block)["unknown-dag-id"] == ["pass", "pass"]
    assert table_rows(block)["wrong-password"] == ["pass", "pass"]


def test_only_the_marked_block_of_the_readme_changes(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n## Releases\n{START}\nold table\n{END}\n\n## Next\ntext\n")
    write_readme(two_releases(), readme)
    text = readme.read_text()
    assert text.startswith(f"# Title\n\n## Releases\n{START}\n") and text.endswith(f"\n{END}\n\n## Next\ntext\n")
    assert "old table" not in text and "| unknown-dag-id | fail: `permissions` [1] | pass |" in text
    write_readme(two_releases(), readme)
    assert readme.read_text() == text


@pytest.mark.parametrize("text", ["no markers", f"{END}\n{START}\n", f"{START} only"])
def test_a_readme_without_the_block_is_refused_with_one_sentence(text: str) -> None:
    with pytest.raises(ValueError, match="no '<!-- matrix:start -->' … '<!-- matrix:end -->' block"):
        replace_block(text, "table")


def test_the_projects_readme_has_the_block() -> None:
    text = Path(__file__).resolve().parents[2].joinpath("README.md").read_text()
    assert replace_block(text, "table").count("table") >= 1


def test_a_scenario_applies_unless_its_release_line_is_listed() -> None:
    assert cannot_apply("9.9.9", "wrong-password") == ""


def test_a_pinned_requirement_is_named_in_the_run_line_with_why() -> None:
    results = two_releases()
    results.columns["2.7.3"].pins = ["flask-session==0.5.0: 0.6 removed flask_session.sessions"]
    block = render(results)
    assert "apache-airflow 2.7.3 on 2026-11-22 (Python 3.11.7, with flask-session==0.5.0 [1])" in block
    assert "1. Airflow 2.7.3: flask-session==0.5.0: 0.6 removed flask_session.sessions" in block


def test_only_2_7_needs_a_pin_over_its_own_requirements() -> None:
    assert [pins(v)[0].split(":")[0] for v in MATRIX_VERSIONS if pins(v)] == ["flask-session==0.5.0"]
    assert pins("2.7.3") and not pins("2.8.4")


def test_a_scenario_that_cannot_apply_is_listed_for_its_release_line_only() -> None:
    assert "dag_display_name" in cannot_apply("2.7.3", "display-name-used-as-dag-id")
    assert cannot_apply("2.9.3", "display-name-used-as-dag-id") == ""
    assert cannot_apply("2.7.3", "wrong-password") == ""


def test_the_matrix_installs_the_sandboxs_pins_one_list_with_why() -> None:
    from airflow_doctor.sandbox import install_pins

    assert install_pins("2.7.3") == ("flask-session==0.5.0",) and install_pins("3.2.2") == ("fastapi<0.137.0",)
    assert [p.split(":")[0] for p in pins("2.7.3")] == list(install_pins("2.7.3"))
    assert "No module named 'flask_session.sessions'" in pins("2.7.3")[0]


@pytest.mark.parametrize("version, scenario, applies", [
    ("3.1.3", "dag-forbids-manual-runs", False), ("3.0.6", "dag-forbids-manual-runs", False),
    ("3.2.2", "dag-forbids-manual-runs", True),
    ("3.2.2", "run-id-with-two-dots", False), ("3.3.2", "run-id-with-two-dots", True),
    ("2.8.4", "display-name-used-as-dag-id", False), ("2.9.3", "display-name-used-as-dag-id", True),
    ("2.7.3", "required-param-missing-from-conf", False), ("2.8.4", "required-param-missing-from-conf", True),
])
def test_one_table_says_from_which_release_a_scenario_applies(version: str, scenario: str, applies: bool) -> None:
    assert (cannot_apply(version, scenario) == "") is applies
