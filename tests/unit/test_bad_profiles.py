"""Generated malformed profiles: every one gives exit 2 and one sentence (or loads), never a traceback."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
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


PW_FILE = "pw.txt"


@pytest.mark.parametrize(
    "text, env, expected",
    [
        ("profiles:\n  p:\n\turl: http://h\n", {},
         "p.yml line 3 is indented with a tab; YAML allows only spaces for indentation — replace the tab with spaces."),
        ("url: http://h\nauth:\n  type: basic\n\tusername: u\n", {},
         "p.yml line 4 is indented with a tab; YAML allows only spaces for indentation — replace the tab with spaces."),
        ("url: http://h\nauth: {type: basic, username: u, password: '${SANDBOX_PW}'}\n", {"SANDBOX_PW": ""},
         "p.yml line 2: ${SANDBOX_PW} is set but empty; export it with the password (or use password_file)."),
        ("url: http://h\nauth: {type: token, token: '${TOKEN}'}\n", {"TOKEN": "  "},
         "p.yml line 2: ${TOKEN} is set but only whitespace; export it with the token (or use token_file)."),
        ("url: ${AIRFLOW_URL}\n", {"AIRFLOW_URL": ""}, "p.yml line 1: ${AIRFLOW_URL} is set but empty; export it with "
                                                       "the address you open in the browser, e.g. https://airflow.example.com."),
        ("url: http://h\nauth: {type: basic, username: u, password: '${AIRFLOW_PASSWORD'}\n", {},
         "p.yml line 2: 'auth.password' has '${' with no closing '}'; write ${NAME}."),
        ("url: http://h\nauth: {type: basic, username: u, password: $AIRFLOW_PASSWORD}\n", {},
         "p.yml line 2: 'auth.password' holds $AIRFLOW_PASSWORD, which is taken literally; write ${AIRFLOW_PASSWORD} "
         "(with braces) to read the environment variable."),
        ("url: http://h\nauth: {type: basic, username: u, password: ${AIRFLOW_PASSWORD}}\n", {},
         "a ${AIRFLOW_PASSWORD} inside { } or [ ] must be quoted; write '${AIRFLOW_PASSWORD}'."),
        ("profiles:\n  123:\n    url: http://h\n", {},
         "p.yml line 2: the key 123 is a number to YAML, but names and keys must be text; quote it: '123'."),
        ("profiles:\n  prod: {url: http://a}\n  prod: {url: http://b}\n", {},
         "p.yml line 3: the key 'prod' appears twice in the same mapping (first on line 2), and YAML would silently "
         "keep only the last; remove one."),
        ("url: http://my airflow:8080\n", {},
         "p.yml line 1: 'url' contains a space; remove it (a URL cannot hold spaces; inside a path write %20)."),
        ("url: http://h/air flow\n", {}, "'url' contains a space"),
        (f"url: http://h\nauth: {{type: basic, username: u, password_file: {PW_FILE}}}\n", {},
         "which is empty; write the password into it."),
        ("url: http://h\nauth: {type: basic, username: u, password: @dmin-pw}\n", {},
         "p.yml is not valid YAML at line 2 (found character that cannot start any token); a value cannot start with "
         "'@' in YAML; put it in quotes."),
        ("url: http://h\nauth: {type: basic, username: u, password: *secret-canary}\n", {},
         "p.yml is not valid YAML at line 2 (found an alias (*name) with no anchor (&name)); a value starting with '*' "
         "is read as a YAML alias; put it in quotes."),
        ('url: http://h\nauth: {type: basic, username: u, password_file: "C:\\pw\\airflow.txt"}\n', {},
         "in double quotes a backslash starts an escape (\\n, \\t, ...); use single quotes for text with backslashes."),
    ],
    ids=["tab-in-profiles", "tab-in-auth", "empty-var", "blank-var", "empty-url-var", "unterminated-var",
         "var-without-braces", "unquoted-var-in-braces", "numeric-profile-name", "duplicate-profile", "url-space-host",
         "url-space-path", "empty-password-file", "at-sign-value", "star-value", "backslash-in-double-quotes"],
)
def test_classic_profile_mistake_is_named_with_its_fix(tmp_path: Path, text: str, env: dict[str, str],
                                                     expected: str) -> None:
    path = tmp_path / "p.yml"
    path.write_text(text)
    (tmp_path / PW_FILE).write_text("")
    result = CliRunner().invoke(app, ["profiles", "show", str(path)], env={"HOME": str(tmp_path), **env})
    assert_clean_outcome(result, text)
    assert result.exit_code == 2 and expected in result.output, result.output
    assert "canary" not in result.output
