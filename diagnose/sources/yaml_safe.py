"""YAML read defensively: a profile file is user input, and YAML can do far more than a profile needs.

The safe loader only; a bound on depth and on the values aliases expand to (a billion-laughs file composes in
microseconds); no YAML-only types (timestamps, base-60 and octal numbers stay the text typed, since JSON has
neither); duplicate keys refused (YAML silently keeps the last); and YAML's parser messages turned into the classic
mistake behind them, named with its fix. The result is a tree of `Node`s: JSON values with the line each was
written on, so every later error can point at the line.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

from airflow_doctor.errors import ProfileError

MAX_YAML_VALUES = 100_000
MAX_YAML_DEPTH = 20
_YAML_TAG = "tag:yaml.org,2002:"
_JSON_SCALARS = (str, int, float, bool, type(None))
_TIMESTAMP = _YAML_TAG + "timestamp"
_TEXT_AS_TYPED = frozenset({_TIMESTAMP, _YAML_TAG + "int", _YAML_TAG + "float"})
# YAML 1.1 reads 12:30 as 750 (base 60) and 0755 as 493 (base 8); JSON has neither, so they stay the text typed.
_BASE60_OR_OCTAL = re.compile(r"[-+]?(?:[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|0[0-7_]+)")


@dataclass
class Node:
    """A JSON value from the YAML file, the line it was written on and, for a scalar, the text as written."""

    value: Any
    line: int
    text: str | None = None


def load_yaml(text: str, where: str) -> Node:
    import yaml

    Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        root = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError as exc:
        raise ProfileError(_syntax_error(exc, text, where)) from None
    except RecursionError:
        raise ProfileError(f"{where} is nested too deeply to be a profile file; check its structure.") from None
    if root is None:
        raise ProfileError(f"{where} is empty; add a profile (airflow-doctor profiles example prints one).")
    _refuse_runaway_expansion(root, where)
    constructor = Loader("")
    try:
        return _Converter(constructor, where).convert(root)
    finally:
        constructor.dispose()


def _refuse_runaway_expansion(root: Any, where: str) -> None:
    """Count the values the graph expands to, each alias as often as it is used, without expanding it.

    Nine anchors of nine aliases compose in microseconds but expand to 387 million values.
    """
    sizes: dict[int, int] = {}
    aliased = False

    def size(node: Any, depth: int) -> int:
        nonlocal aliased
        if id(node) in sizes:
            aliased = True
            return sizes[id(node)]
        if depth > MAX_YAML_DEPTH:
            return 1
        sizes[id(node)] = 1
        children = node.value if isinstance(node.value, list) else []
        pairs = (item if isinstance(item, tuple) else (item,) for item in children)
        sizes[id(node)] = 1 + sum(size(child, depth + 1) for pair in pairs for child in pair)
        return sizes[id(node)]

    if size(root, 0) > MAX_YAML_VALUES:
        if aliased:
            raise ProfileError(f"{where} uses YAML aliases that expand to more than {MAX_YAML_VALUES:,} values; "
                               f"remove the anchors (&name) and aliases (*name).")
        raise ProfileError(f"{where} holds more than {MAX_YAML_VALUES:,} values, far more than a profile file needs; "
                           f"check that it is the right file.")


def _syntax_error(exc: Exception, text: str, where: str) -> str:
    """YAML's parser message, or the classic mistake behind it named with its fix."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "it is not valid YAML"
    if "duplicate anchor" in (getattr(exc, "context", None) or ""):
        problem = "the same anchor (&name) is defined twice"
    elif "alias" in problem:
        problem = "found an alias (*name) with no anchor (&name)"
    if mark is None:
        return f"{where} is not valid YAML ({problem}); fix the syntax there."
    lines = text.splitlines()
    tabbed = _tab_indented_line(lines, mark.line, "tab" in problem)
    if tabbed is not None:
        return (f"{where} line {tabbed} is indented with a tab; YAML allows only spaces for indentation — "
                f"replace the tab with spaces.")
    line = lines[mark.line] if mark.line < len(lines) else ""
    hint = _syntax_hint(line, line[mark.column:mark.column + 1], problem)
    return f"{where} is not valid YAML at line {mark.line + 1} ({problem}); {hint}"


def _tab_indented_line(lines: list[str], index: int, blamed_on_tab: bool) -> int | None:
    """The 1-based line whose indentation holds a tab, when that is what YAML tripped over."""
    nearby = range(index, -1, -1) if blamed_on_tab else range(index, max(index - 2, -1), -1)
    for i in nearby:
        if i < len(lines) and "\t" in lines[i][:len(lines[i]) - len(lines[i].lstrip())]:
            return i + 1
    return None


def _syntax_hint(line: str, char: str, problem: str) -> str:
    variable = re.search(r"\$\{[^}\s,]*\}?", line)
    if variable and "expected ','" in problem:
        return f"a {variable.group(0)} inside {{ }} or [ ] must be quoted; write '{variable.group(0)}'."
    if "cannot start any token" in problem and char in ("@", "`", "%"):
        return f"a value cannot start with '{char}' in YAML; put it in quotes."
    if "alias" in problem:
        return "a value starting with '*' is read as a YAML alias; put it in quotes."
    if "anchor" in problem:
        return "give each anchor its own name."
    if "escape" in problem:
        return "in double quotes a backslash starts an escape (\\n, \\t, ...); use single quotes for text with backslashes."
    return "fix the syntax there."


class _Converter:
    """A composed YAML graph (already known to expand to few values) as _Nodes holding only JSON values."""

    def __init__(self, constructor: Any, where: str) -> None:
        import yaml

        self.yaml, self.constructor, self.where = yaml, constructor, where

    def error(self, node: Any, message: str) -> ProfileError:
        return ProfileError(f"{self.where} line {node.start_mark.line + 1}: {message}")

    def convert(self, node: Any, depth: int = 0, secret: bool = False) -> Node:
        if depth > MAX_YAML_DEPTH:
            raise ProfileError(f"{self.where} is nested deeper than a profile can be (line {node.start_mark.line + 1}); "
                               f"check its structure.")
        if isinstance(node, self.yaml.MappingNode):
            return self._mapping(node, depth, secret)
        if isinstance(node, self.yaml.SequenceNode):
            self._require_plain_tag(node, "seq")
            return Node([self.convert(item, depth + 1, secret) for item in node.value], node.start_mark.line + 1)
        return self._scalar(node, secret)

    def _require_plain_tag(self, node: Any, kind: str) -> None:
        if node.tag != _YAML_TAG + kind:
            raise self.error(node, f"the YAML tag {node.tag.replace(_YAML_TAG, '!!')} has no JSON form; remove it and "
                                   f"write a plain {'mapping' if kind == 'map' else 'list'}.")

    def _mapping(self, node: Any, depth: int, secret: bool) -> Node:
        from airflow_doctor.redact import is_sensitive_name

        self._require_plain_tag(node, "map")
        result: dict[str, Node] = {}
        key_lines: dict[str, int] = {}
        merges = []
        for key_node, value_node in node.value:
            if key_node.tag == _YAML_TAG + "merge":
                merges.append(value_node)
                continue
            key = self._key(key_node)
            if key in key_lines:
                raise self.error(key_node, f"the key '{key}' appears twice in the same mapping (first on line "
                                           f"{key_lines[key]}), and YAML would silently keep only the last; remove one.")
            key_lines[key] = key_node.start_mark.line + 1
            result[key] = self.convert(value_node, depth + 1, secret or is_sensitive_name(key))
        for merged in merges:
            for key, value in self._merged(merged, depth, secret).items():
                result.setdefault(key, value)
        return Node(result, node.start_mark.line + 1)

    def _merged(self, node: Any, depth: int, secret: bool) -> dict[str, Node]:
        """What `<<: *anchor` (or `<<: [*a, *b]`) brings in; keys written in the mapping itself win, as in YAML."""
        merged: dict[str, Node] = {}
        for source in node.value if isinstance(node, self.yaml.SequenceNode) else [node]:
            converted = self.convert(source, depth + 1, secret)
            if not isinstance(converted.value, dict):
                raise self.error(source, "'<<' merges mappings only; write <<: *name where &name marks a mapping.")
            for key, value in converted.value.items():
                merged.setdefault(key, value)
        return merged

    def _key(self, node: Any) -> str:
        if not isinstance(node, self.yaml.ScalarNode):
            raise self.error(node, "a key here is a list or mapping; keys must be plain names.")
        key = self._scalar(node, secret=False).value
        if not isinstance(key, str):
            kind = {bool: "a boolean", type(None): "null"}.get(type(key), "a number")
            raise self.error(node, f"the key {node.value or '(empty)'} is {kind} to YAML, but names and keys must be "
                                   f"text; quote it: '{node.value}'.")
        return key

    def _scalar(self, node: Any, secret: bool) -> Node:
        line = node.start_mark.line + 1
        if node.tag in _TEXT_AS_TYPED and (node.tag == _TIMESTAMP or _BASE60_OR_OCTAL.fullmatch(node.value)):
            return Node(node.value, line, node.value)
        try:
            value = self.constructor.construct_object(node)
        except (self.yaml.YAMLError, ValueError, LookupError, TypeError):
            tag = "the tag it starts with" if secret else node.tag.replace(_YAML_TAG, "!!")
            raise self.error(node, f"{_shown(node, secret)} cannot be read as {tag}; quote it to send it as text "
                                   f"(a leading '!' makes a YAML tag).") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(node, f"{_shown(node, secret)} is not a number JSON can carry; quote it to send it as text.")
        if not isinstance(value, _JSON_SCALARS):
            raise self.error(node, f"{_shown(node, secret)} is tagged {node.tag.replace(_YAML_TAG, '!!')}, which has no "
                                   f"JSON form; remove the tag to send it as text.")
        return Node(value, line, node.value)


def _shown(node: Any, secret: bool) -> str:
    """The scalar as written, unless it sits under a key whose value may be a secret."""
    return "the value here" if secret else f"the value {node.value}"


def plain(node: Node) -> Any:
    if isinstance(node.value, dict):
        return {k: plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [plain(v) for v in node.value]
    return node.value




def check_keys(mapping: dict[Any, Node], allowed: tuple[str, ...], where: str, context: str) -> None:
    for key, node in mapping.items():
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed keys are: {', '.join(allowed)}."
            raise ProfileError(f"{where} line {node.line}: unknown key '{key}' in {context}; {hint}")


def mapping_of(node: Node | None, where: str, context: str) -> dict[Any, Node]:
    if node is None:
        return {}
    if not isinstance(node.value, dict):
        raise ProfileError(f"{where} line {node.line}: {context} must be a mapping of keys to values, not {kind_of(node.value)}.")
    return node.value


def kind_of(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true/false",
            type(None): "empty"}.get(type(value), type(value).__name__)
