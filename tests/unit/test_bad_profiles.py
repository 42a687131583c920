"""Generated malformed profiles: every one gives exit 2 and one sentence (or loads), never a traceback."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from airflow_doctor.cli import app

KEYS = ["version", "default_profile", "profiles", "url", "auth", "type", "username", "password", "password_file",
        "token", "token_file", "dag_id", "payload", "conf", "tls", "verify", "timeout", "connect", "read", "p", "x"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=True),
                    st.text(max_size=40), st.sampled_from(["http://h", "https://a:b@h", "ftp://h", "${UNSET_VAR}",
                                                            "basic", "jwt", "token", "none", "/nonexistent", "x" * 5000]))
structures = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)),
    max_leaves=25)


def show(path: Path):
    return CliRunner().invoke(app, ["profiles", "show", str(path)], env={"HOME": str(path.parent)})


def assert_clean_outcome(result, where: str) -> None:
    assert result.exit_code in (0, 2), f"{where}: exit {result.exit_code}: {result.output}"
    assert "Traceback" not in result.output, where
    if result.exit_code == 2:
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("airflow-doctor: error: "), f"{where}: {result.output!r}"
        assert not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in lines[0]), repr(lines[0])


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(structures)
def test_random_yaml_structures(tmp_path: Path, data) -> None:
    path = tmp_path / "p.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    assert_clean_outcome(show(path), repr(data)[:200])


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "p.yml"
    path.write_bytes(data)
    assert_clean_outcome(show(path), repr(data)[:200])


def test_deep_nesting_huge_values_and_symlink_loops(tmp_path: Path) -> None:
    cases = {
        "deep.yml": "url: http://h\npayload: " + "{a: " * 500 + "1" + "}" * 500 + "\n",
        "deeplist.yml": "url: " + "[" * 2000 + "]" * 2000 + "\n",
        "huge.yml": "url: http://h\ndag_id: " + "d" * 2_000_000 + "\n",
        "anchors.yml": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nurl: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
        "tab.yml": "url:\thttp://h\n\tauth: x\n",
        "loop.yml": "url: http://h\nauth: {type: basic, username: u, password_file: loop-a}\n",
        "latin1.yml": "url: http://h\ndag_id: caf\xe9\n".encode("latin-1"),
    }
    os.symlink(tmp_path / "loop-b", tmp_path / "loop-a")
    os.symlink(tmp_path / "loop-a", tmp_path / "loop-b")
    for name, text in cases.items():
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        result = show(path)
        assert_clean_outcome(result, name)
        assert result.exit_code == 2, f"{name}: {result.output}"
