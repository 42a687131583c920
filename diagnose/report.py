"""Renderers for a Report (terminal, Markdown, JSON) and the one way output leaves the process.

Renderers know nothing about Airflow. Every rendered string passes `guard` (terminal) or
`write_atomic` (files), which scan for every registered secret: the terminal gets a scrubbed copy,
a file is refused rather than written with a leak.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import IO, Mapping

from airflow_doctor.errors import OutputRefused
from airflow_doctor.model import Checked, CheckResult, Exchange, ExitCode, Fix, Report, Status
from airflow_doctor.secrets import REGISTRY, SecretRegistry

SCHEMA_VERSION = 1
ICONS = {Status.PASS: "✓", Status.WARN: "!", Status.FAIL: "✗", Status.SKIP: "-"}
STYLES = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "red", Status.SKIP: "dim"}


# --- terminal ---------------------------------------------------------------------------------------

def render_terminal(report: Report, verbosity: int = 0, color: bool = False, width: int = 100) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, color_system="standard" if color else None,
                      width=width, highlight=False, soft_wrap=False, emoji=False)
    header = Text.assemble(("airflow-doctor ", "bold"), report.tool_version, " · profile ", (report.profile, "bold"),
                           " · ", report.target)
    console.print(header)
    if report.facts:
        _hanging(console, Text(""), " · ".join(f"{k} {v}" for k, v in report.facts), 0, style="dim")
    for warning in report.warnings:
        _hanging(console, Text("warning: ", style="yellow"), warning, 0)
    if report.checked is not None:
        _terminal_checked(console, report.checked, [(k, v) for k, v in report.environment if k in PATH_ROWS])
    console.print()
    if report.diagnosis is not None:
        _terminal_diagnosis(console, report)
    id_width = max((len(r.check_id) for r in report.results), default=10)
    for result in report.results:
        head = Text.assemble((f"[{ICONS[result.status]}] ", STYLES[result.status]), (result.check_id.ljust(id_width), "bold"), "  ")
        in_headline = report.diagnosis is not None and result.check_id == report.diagnosis.check_id
        _hanging(console, head, _HEADLINE_REF[result.status] if in_headline else row_summary(result), len(head.plain))
        if verbosity >= 1 and result.status is not Status.SKIP:
            _terminal_body(console, result, verbosity, in_headline)
        if result.internal_error:
            _padded(console, Text(result.internal_error, style="dim"), 6)
    console.print()
    if report.working_request is not None:
        _terminal_working_request(console, report)
    console.print(_tally(report))
    if verbosity < 2 and any(r.evidence for r in report.results):
        more = "-v for explanations and -vv for the HTTP evidence" if verbosity == 0 else "-vv for the HTTP evidence"
        console.print(Text(f"Run with {more}; --format markdown for a ticket.", style="dim"))
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


_HEADLINE_REF = {Status.FAIL: "failed: the diagnosis above", Status.WARN: "warned: the warning above"}
AFTER_FIX = "after fixing the above"


def row_summary(result: CheckResult) -> str:
    """A result's one line; one that ran on an assumed fix says so first (the headline's fix, or a later one's)."""
    return f"{AFTER_FIX} ({result.after_fix_of}): {result.summary}" if result.after_fix_of else result.summary


def next_problems(report: Report) -> list[CheckResult]:
    """What the script hits after fixing the headline, in order: every other failure (not one the headline explains,
    nor an internal error), and the warnings found on an assumed fix."""
    head = report.diagnosis
    if head is None:
        return []
    explained = next((r.explains for r in report.results if r.check_id == head.check_id), ())
    return [r for r in report.results if r.check_id != head.check_id and r.check_id not in explained
            and head.check_id not in r.explains and not r.internal_error
            and (r.status is Status.FAIL or (r.after_fix_of and r.status is Status.WARN))]


def assumptions(report: Report) -> list[CheckResult]:
    """The failures whose fixes the later checks assumed."""
    return [r for r in report.results if r.assumed is not None]


def _tally(report: Report):  # type: ignore[no-untyped-def]
    """The last line: problems only when something failed; warnings alone are named as warnings."""
    from rich.text import Text

    counts = report.counts()
    tail = (f"{counts[Status.PASS]} passed, {counts[Status.WARN]} warned, {counts[Status.FAIL]} failed, "
            f"{counts[Status.SKIP]} skipped")
    failed = counts[Status.FAIL]
    if failed:
        return Text(f"Found problems in {failed} check{'s' if failed != 1 else ''} ({tail}).", style="bold")
    if counts[Status.WARN]:
        warned = counts[Status.WARN]
        return Text(f"Nothing failed; {warned} warning{'s' if warned != 1 else ''} to read ({tail}).", style="bold yellow")
    return Text(f"No issues found ({tail}).", style="bold green")


def _hanging(console, head, body: str, indent: int, style: str = "") -> None:  # type: ignore[no-untyped-def]
    """`head` then `body` wrapped to the console's width, continuation lines indented by `indent` (a hanging indent).

    Words are never broken (a URL or command stays whole and copyable, even past the width); a newline in the body
    starts a new indented line.
    """
    import textwrap

    from rich.text import Text

    first_width = max(20, console.width - len(head.plain))
    rest_width = max(20, console.width - indent)
    lines: list[str] = []
    for paragraph in body.split("\n") or [""]:
        wrapped = textwrap.wrap(paragraph, width=rest_width if lines else first_width, break_long_words=False,
                                break_on_hyphens=False) or [""]
        if not lines and len(wrapped) > 1:
            rest = textwrap.wrap(" ".join(wrapped[1:]), width=rest_width, break_long_words=False, break_on_hyphens=False)
            wrapped = [wrapped[0], *rest]
        lines += wrapped
    console.print(Text.assemble(head, (lines[0], style)), soft_wrap=True)
    for line in lines[1:]:
        console.print(Text(" " * indent + line, style=style), soft_wrap=True)


PATH_ROWS = ("client certificate", "extra headers")
"""Header rows of the network path (Probe.environment) that "What was checked" does not hold already."""


def _terminal_checked(console, checked: Checked, path_rows: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    from rich.text import Text

    items = checked.items() + path_rows
    label_width = max(len(label) for label, _ in items) + 2
    console.print(Text("What was checked:", style="bold"))
    for label, value in items:
        _hanging(console, Text("  " + label.ljust(label_width), style="dim"), value, label_width + 2)


def _padded(console, text, left: int) -> None:  # type: ignore[no-untyped-def]
    from rich.padding import Padding

    console.print(Padding(text, (0, 0, 0, left), expand=False))


def _code(console, code: str, left: int) -> None:  # type: ignore[no-untyped-def]
    """Code to copy is never wrapped: a wrapped command no longer works when pasted."""
    from rich.text import Text

    pad = " " * left
    for line in code.splitlines() or [""]:
        console.print(Text(pad + line, style="cyan"), soft_wrap=True)


def _terminal_body(console, result: CheckResult, verbosity: int, in_headline: bool) -> None:  # type: ignore[no-untyped-def]
    """-v: the explanation and fix (unless the headline above already said them), details; -vv: the evidence."""
    from rich.text import Text

    if result.explanation and not in_headline:
        _padded(console, Text(result.explanation), 4)
    if result.fix is not None and result.status in (Status.FAIL, Status.WARN) and not in_headline:
        _terminal_fix(console, result.fix, 4)
    for detail in result.details:
        _hanging(console, Text("    · ", style="dim"), detail, 6, style="dim")
    if verbosity >= 2:
        for exchange in result.evidence:
            _padded(console, Text(format_exchange(exchange), style="dim"), 4)


def _terminal_fix(console, fix: Fix, left: int) -> None:  # type: ignore[no-untyped-def]
    from rich.text import Text

    _hanging(console, Text.assemble((" " * left + "Fix: ", "bold")), fix.text, left + 5)
    for command in fix.commands:
        _code(console, command, left + 2)
    if fix.docs:
        _padded(console, Text(f"docs: {fix.docs}", style="dim"), left + 2)


def _terminal_diagnosis(console, report: Report) -> None:  # type: ignore[no-untyped-def]
    """The headline: the most likely root cause, why, and the fix, before the list of checks; said once."""
    from rich.text import Text

    diagnosis = report.diagnosis
    assert diagnosis is not None
    result = next(r for r in report.results if r.check_id == diagnosis.check_id)
    label = f"{'Diagnosis' if result.status is Status.FAIL else 'Warning'} ({diagnosis.check_id}): "
    _hanging(console, Text(label, style=f"bold {STYLES[result.status]}"), diagnosis.summary, 2)
    if result.explanation:
        _padded(console, Text(result.explanation), 2)
    if diagnosis.why_ui_works:
        _hanging(console, Text("  Why the UI works: ", style="bold"), diagnosis.why_ui_works, 4)
    if diagnosis.fix is not None:
        _terminal_fix(console, diagnosis.fix, 2)
    _terminal_next(console, report)
    console.print()


def _terminal_next(console, report: Report) -> None:  # type: ignore[no-untyped-def]
    """Past the first cause: what the later checks assumed fixed, and each problem the script hits after that."""
    from rich.text import Text

    for result in assumptions(report):
        assert result.assumed is not None
        _hanging(console, Text(f"  Assumed fixed for the checks after {result.check_id}: ", style="bold"),
                 result.assumed.text, 4)
    problems = next_problems(report)
    if problems:
        console.print(Text(f"  {AFTER_FIX[0].upper()}{AFTER_FIX[1:]}, the script would still hit:", style="bold"))
        for r in problems:
            _hanging(console, Text.assemble(f"    {ICONS[r.status]} ", (r.check_id, "bold"), ": "), r.summary, 6)


def _terminal_working_request(console, report: Report) -> None:  # type: ignore[no-untyped-def]
    from rich.text import Text

    request = report.working_request
    assert request is not None
    console.print(Text(request.title, style="bold"))
    for note in request.notes:
        _hanging(console, Text("  · "), note, 4)
    for snippet in request.snippets:
        console.print(Text(f"  {snippet.label}:", style="dim"))
        _code(console, snippet.code, 4)
    console.print()


def format_exchange(exchange: Exchange) -> str:
    lines = [f"> {exchange.method} {exchange.url}"]
    lines += [f"> {k}: {v}" for k, v in exchange.request_headers]
    if exchange.request_body:
        lines.append(f"> {exchange.request_body}")
    if exchange.status is None:
        lines.append(f"< no answer: {exchange.error} ({exchange.elapsed_ms:.0f} ms)")
    else:
        lines.append(f"< {exchange.status} in {exchange.elapsed_ms:.0f} ms")
        lines += [f"< {k}: {v}" for k, v in exchange.response_headers]
        if exchange.error:
            lines.append(f"< error: {exchange.error}")
        if exchange.response_body:
            lines.append("< " + exchange.response_body.replace("\n", "\n< ") + (" …(truncated)" if exchange.body_truncated else ""))
    return "\n".join(lines)


# --- Markdown ---------------------------------------------------------------------------------------

def render_markdown(report: Report, level: int = 1) -> str:
    h1, h2, h3 = "#" * level, "#" * (level + 1), "#" * (level + 2)
    out = [f"{h1} airflow-doctor report: {_md(report.profile)}", ""]
    out += ["| | |", "|---|---|", f"| tool | airflow-doctor {report.tool_version} |",
            f"| generated (UTC) | {report.generated_at} |", f"| profile | {_md(report.profile)} |",
            f"| target | {_md(report.target)} |"]
    out += [f"| {_md(k)} | {_md(v)} |" for k, v in (*report.facts, *report.environment)]
    out += [f"| requests made | {report.requests_made} |", ""]
    if report.warnings:
        out += [f"> **warning:** {_md(w)}" for w in report.warnings] + [""]
    if report.checked is not None:
        out += [f"{h2} What was checked", "", "| | |", "|---|---|"]
        out += [f"| {_md(k)} | {_md(v)} |" for k, v in report.checked.items()] + [""]
    if report.diagnosis is not None:
        d = report.diagnosis
        failed = any(r.status is Status.FAIL for r in report.results)
        out += [f"{h2} {'Diagnosis' if failed else 'Warning'}: {_md(d.summary)}", "", f"Found by `{d.check_id}`."]
        if d.why_ui_works:
            out += ["", f"**Why the UI works:** {_md(d.why_ui_works, table=False)}"]
        if d.fix is not None:
            out += ["", f"**Fix:** {_md(d.fix.text)}"]
            if d.fix.commands:
                out += ["", *_fenced("\n".join(d.fix.commands))]
        out += _markdown_next(report)
        out.append("")
    else:
        out += [f"{h2} No issues found", ""]
    out += [f"{h2} Checks", "", "| | check | result | time |", "|---|---|---|---|"]
    for r in report.results:
        out.append(f"| {ICONS[r.status]} {r.status.value} | `{r.check_id}` | {_md(row_summary(r))} | {r.duration_ms:.0f} ms |")
    out.append("")
    for r in report.results:
        if r.status is Status.SKIP:
            continue
        out += [f"{h3} {ICONS[r.status]} `{r.check_id}`: {_md(r.title)}", "", f"**{r.status.value}**: {_md(row_summary(r))}", ""]
        if r.explanation:
            out += [_md(r.explanation, table=False), ""]
        if r.fix is not None and r.status in (Status.FAIL, Status.WARN):
            out += [f"**Fix:** {_md(r.fix.text, table=False)}", ""]
            if r.fix.commands:
                out += [*_fenced("\n".join(r.fix.commands)), ""]
            if r.fix.docs:
                out += [f"Docs: {r.fix.docs}", ""]
        if r.details:
            out += [f"- {_md(d, table=False)}" for d in r.details] + [""]
        if r.internal_error:
            out += ["<details><summary>internal error trace</summary>", "", *_fenced(r.internal_error), "", "</details>", ""]
        if r.evidence:
            out += [f"<details><summary>HTTP evidence ({len(r.evidence)} exchange{'s' if len(r.evidence) != 1 else ''})</summary>", ""]
            for exchange in r.evidence:
                out += [*_fenced(format_exchange(exchange)), ""]
            out += ["</details>", ""]
    if report.working_request is not None:
        request = report.working_request
        out += [f"{h2} {_md(request.title)}", ""]
        out += [f"- {_md(n, table=False)}" for n in request.notes] + ([""] if request.notes else [])
        for snippet in request.snippets:
            out += [f"{snippet.label}:", "", *_fenced(snippet.code, snippet.language), ""]
    counts = report.counts()
    out.append(f"_{counts[Status.PASS]} passed, {counts[Status.WARN]} warned, {counts[Status.FAIL]} failed, "
               f"{counts[Status.SKIP]} skipped; exit code {int(report.exit_code)}._")
    return "\n".join(out) + "\n"


def _markdown_next(report: Report) -> list[str]:
    """Past the first cause, in the diagnosis section: the assumed fixes and the problems found on them."""
    out: list[str] = []
    for r in assumptions(report):
        assert r.assumed is not None
        out += ["", f"**Assumed fixed for the checks after `{r.check_id}`:** {_md(r.assumed.text, table=False)}"]
    problems = next_problems(report)
    if problems:
        out += ["", f"**{AFTER_FIX[0].upper()}{AFTER_FIX[1:]}**, the script would still hit:", ""]
        out += [f"- {ICONS[r.status]} `{r.check_id}`: {_md(r.summary, table=False)}" for r in problems]
    return out


def _md(text: str, table: bool = True) -> str:
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    if table:
        text = text.replace("|", "\\|").replace("\n", " ")
    return text


def _fenced(text: str, language: str = "") -> list[str]:
    longest = max((len(run) for run in text.split("\n") for run in _backtick_runs(run)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + language, text, fence]


def _backtick_runs(line: str) -> list[str]:
    runs, current = [], ""
    for ch in line:
        if ch == "`":
            current += ch
        elif current:
            runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


# --- JSON -------------------------------------------------------------------------------------------

def report_to_dict(report: Report) -> dict:
    counts = report.counts()
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "airflow-doctor", "version": report.tool_version},
        "generated_at": report.generated_at,
        "profile": report.profile,
        "target": report.target,
        "facts": _snake_keys(report.facts),
        "environment": _snake_keys(report.environment),
        "requests_made": report.requests_made,
        "checked": None if report.checked is None else asdict(report.checked),
        "warnings": list(report.warnings),
        "diagnosis": None if report.diagnosis is None else {
            "check_id": report.diagnosis.check_id, "summary": report.diagnosis.summary,
            "code": report.diagnosis.code or None,
            "why_ui_works": report.diagnosis.why_ui_works, "fix": _fix_dict(report.diagnosis.fix)},
        "results": [_result_dict(r) for r in report.results],
        "working_request": None if report.working_request is None else {
            "title": report.working_request.title, "notes": list(report.working_request.notes),
            "snippets": [{"label": s.label, "language": s.language, "code": s.code}
                         for s in report.working_request.snippets]},
        "summary": {status.value: counts[status] for status in Status},
        "exit_code": int(report.exit_code),
    }


def snake_case(label: str) -> str:
    """A label as a JSON key: 'requests made' -> 'requests_made', 'CA bundle' -> 'ca_bundle', 'API' -> 'api'."""
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_") or "_"


def _snake_keys(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {snake_case(label): value for label, value in pairs}


def report_schema() -> dict:
    """The JSON Schema of everything --format json prints (shipped in the package as report.schema.json)."""
    from importlib.resources import files

    return json.loads(files("airflow_doctor").joinpath("report.schema.json").read_text(encoding="utf-8"))


def render_json(report: Report) -> str:
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False) + "\n"


def _fix_dict(fix) -> dict | None:  # type: ignore[no-untyped-def]
    return None if fix is None else {"text": fix.text, "commands": list(fix.commands), "docs": fix.docs}


def _result_dict(r: CheckResult) -> dict:
    return {
        "check_id": r.check_id, "title": r.title, "status": r.status.value, "summary": r.summary, "code": r.code or None,
        "explanation": r.explanation, "why_ui_works": r.why_ui_works, "fix": _fix_dict(r.fix),
        "details": list(r.details),
        "explains": list(r.explains), "duration_ms": round(r.duration_ms, 1),
        "internal_error": r.internal_error,
        "evidence": [_exchange_dict(e) for e in r.evidence],
        "assumed": r.assumed.text if r.assumed else None, "after_fix_of": r.after_fix_of,
    }


def _exchange_dict(e: Exchange) -> dict:
    return {"method": e.method, "url": e.url, "status": e.status, "elapsed_ms": e.elapsed_ms,
            "server_ms": e.server_ms, "request_headers": [list(h) for h in e.request_headers],
            "request_body": e.request_body, "response_headers": [list(h) for h in e.response_headers],
            "response_body": e.response_body, "body_truncated": e.body_truncated, "error": e.error}


# --- a fleet of profiles ----------------------------------------------------------------------------

def _check_ids(fleet) -> list[str]:  # type: ignore[no-untyped-def]
    ids: list[str] = []
    for entry in fleet.entries:
        for result in entry.report.results if entry.report else ():
            if result.check_id not in ids:
                ids.append(result.check_id)
    return ids


def _cell(entry, check_id: str) -> str:  # type: ignore[no-untyped-def]
    result = next((r for r in entry.report.results if r.check_id == check_id), None) if entry.report else None
    return ICONS[result.status] if result else " "


def _headline(entry) -> str:  # type: ignore[no-untyped-def]
    if entry.report is None:
        from airflow_doctor.redact import one_line

        return f"profile error: {one_line(entry.error or '')}"
    if entry.report.diagnosis is None:
        return entry.error or "no issues found"
    return f"{entry.report.diagnosis.check_id}: {entry.report.diagnosis.summary}"


def render_fleet_terminal(fleet, color: bool = False, width: int = 120) -> str:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, color_system="standard" if color else None,
                      width=width, highlight=False, emoji=False)
    ids = _check_ids(fleet)
    table = Table(title=f"airflow-doctor {fleet.tool_version} · {len(fleet.entries)} profiles", title_justify="left")
    table.add_column("profile", style="bold", no_wrap=True)
    for number, _ in enumerate(ids, 1):
        table.add_column(str(number), justify="center", no_wrap=True, min_width=1)
    table.add_column("diagnosis", overflow="fold", ratio=1)
    for entry in fleet.entries:
        cells = []
        for check_id in ids:
            result = next((r for r in entry.report.results if r.check_id == check_id), None) if entry.report else None
            cells.append(Text(ICONS[result.status], style=STYLES[result.status]) if result else Text(""))
        table.add_row(entry.name, *cells, Text(_headline(entry)))
    console.print(table)
    console.print(Text("checks: " + " · ".join(f"{n} {i}" for n, i in enumerate(ids, 1)), style="dim"))
    console.print(Text(f"exit code {int(fleet.exit_code)}: worst of the profiles ({int(ExitCode.USAGE)} profile error, "
                       f"{int(ExitCode.CHECK_FAILED)} a check failed, {int(ExitCode.OK)} none)", style="dim"))
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def render_fleet_markdown(fleet) -> str:  # type: ignore[no-untyped-def]
    ids = _check_ids(fleet)
    out = [f"# airflow-doctor fleet report ({len(fleet.entries)} profiles)", "",
           f"airflow-doctor {fleet.tool_version}, {fleet.generated_at}", "",
           "| profile | " + " | ".join(f"`{i}`" for i in ids) + " | diagnosis |",
           "|---|" + "---|" * len(ids) + "---|"]
    for entry in fleet.entries:
        out.append(f"| {_md(entry.name)} | " + " | ".join(_cell(entry, i) for i in ids) + f" | {_md(_headline(entry))} |")
    out.append("")
    for entry in fleet.entries:
        if entry.report is not None:
            out += [render_markdown(entry.report, level=2), ""]
    out.append(f"_exit code {int(fleet.exit_code)}._")
    return "\n".join(out) + "\n"


def render_fleet_json(fleet) -> str:  # type: ignore[no-untyped-def]
    data = {
        "schema_version": SCHEMA_VERSION,
        "kind": "fleet",
        "tool": {"name": "airflow-doctor", "version": fleet.tool_version},
        "generated_at": fleet.generated_at,
        "profiles": [{"profile": e.name, "error": e.error, "exit_code": int(e.exit_code),
                      "report": report_to_dict(e.report) if e.report else None} for e in fleet.entries],
        "summary": {"profiles": len(fleet.entries),
                    "failed": sum(1 for e in fleet.entries if e.exit_code is ExitCode.CHECK_FAILED),
                    "profile_errors": sum(1 for e in fleet.entries if e.report is None)},
        "exit_code": int(fleet.exit_code),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --- leaving the process ----------------------------------------------------------------------------

def guard(text: str, registry: SecretRegistry = REGISTRY) -> str:
    """The last scan before text reaches a terminal or pipe: any registered secret is masked."""
    return registry.scrub(text)


def emit(text: str, stream: IO[str], registry: SecretRegistry = REGISTRY) -> None:
    stream.write(guard(text, registry))
    stream.flush()


def render_error_json(sentence: str, exit_code: ExitCode) -> str:
    """What a JSON consumer gets when no report could be made: the one sentence and the exit code."""
    data = {"schema_version": SCHEMA_VERSION, "error": sentence, "exit_code": int(exit_code)}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def use_color(to_file: bool, stream: IO[str], environ: Mapping[str, str]) -> bool:
    """The one colour decision: never in a file; a non-empty NO_COLOR (no-color.org) wins; then a FORCE_COLOR other
    than "" or "0"; else colour only on a terminal."""
    if to_file or environ.get("NO_COLOR", ""):
        return False
    if environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def write_atomic(path: Path, text: str, registry: SecretRegistry = REGISTRY) -> None:
    """Write all or nothing, on disk before it is visible, with the mode open() would give; refuse (write nothing) if
    the text still holds a secret."""
    if registry.leaks(text):
        raise OutputRefused(f"refused to write {path}: the report still contained a secret value (a bug; please report it)")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"the directory {directory} does not exist")
    mode = _usual_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _usual_mode(path: Path) -> int:
    """What open(path, "w") leaves: an existing file keeps its mode, a new one gets 0o666 minus the umask
    (mkstemp alone would give 0o600)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask (it can only be read by setting it; called once, after the work threads are done)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); where directories cannot be opened, the file's own fsync must do."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
