"""The report model: typed results that the runner fills and the renderers read. No Airflow knowledge here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar, Hashable, Protocol, Sequence, TypeVar


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


class ExitCode(int, Enum):
    """Documented in --help and the README."""

    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    INTERNAL = 3
    INTERRUPTED = 130


class FindingCode(str, Enum):
    """The base of every table of finding codes. Each module that builds findings declares its own table next to
    the evidence that selects each code:

        class Code(FindingCode):
            SESSION_ONLY = "basic-auth-not-enabled", "Airflow 2's [api] auth_backends has no Basic backend"

    The value is the stable machine code (JSON `code`); `meaning` is one line for the schema and the docs."""

    meaning: str

    def __new__(cls, value: str, meaning: str = "") -> "FindingCode":
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member

    def __str__(self) -> str:
        return str(self.value)

    __format__ = str.__format__


@dataclass(frozen=True)
class Fix:
    """What to change: a sentence, plus lines to copy (commands, config, env vars), plus a docs link."""

    text: str
    commands: tuple[str, ...] = ()
    docs: str | None = None


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its answer (or transport failure), already redacted when constructed."""

    method: str
    url: str
    status: int | None
    elapsed_ms: float
    request_headers: tuple[tuple[str, str], ...] = ()
    request_body: str | None = None
    response_headers: tuple[tuple[str, str], ...] = ()
    response_body: str | None = None
    body_truncated: bool = False
    error: str | None = None
    server_ms: float | None = None

    @property
    def headline(self) -> str:
        outcome = str(self.status) if self.status is not None else f"no answer ({self.error})"
        return f"{self.method} {self.url} -> {outcome} in {self.elapsed_ms:.0f} ms"


@dataclass(frozen=True)
class Assumption:
    """A failing check's fix that is known and safe to assume (the url a redirect names, a sub-path whose version
    endpoint answered, a token /auth/token issued): the check has set the corrected facts itself, so the checks that
    build on it run on the corrected assumption, and their results are what the script hits after that fix."""

    text: str
    """What is assumed, in a few words ('the url is https://host/airflow')."""


@dataclass(frozen=True)
class Finding:
    """What a check concluded. `explains` names checks whose failure this finding is the root cause of.

    `why_ui_works` answers the user's first question for a failure: why the same DAG triggers from the web UI
    (the UI's session, its form filling in params, its unpause-on-trigger, its own route). Empty when it does not.
    """

    status: Status
    summary: str
    explanation: str = ""
    fix: Fix | None = None
    details: tuple[str, ...] = ()
    explains: tuple[str, ...] = ()
    why_ui_works: str = ""
    code: str = ""
    """A machine code for the cause ('tcp-refused', 'dns'): for JSON consumers; prose never shows it."""
    assumed: Assumption | None = None
    """Set on a failure only: its fix is known and safe, and the check set the facts as if it were applied."""


@dataclass(frozen=True)
class Uses:
    """A fact a check reads. `unchecked` says what goes unchecked when it is missing ('the DAG's params were not
    checked'); empty when a missing fact needs no word: the check cannot run without it (its provider is in
    `requires`), or it finds the fact out itself."""

    fact: Hashable
    unchecked: str = ""


ContextT = TypeVar("ContextT", contravariant=True)


class Check(Protocol[ContextT]):
    """One diagnostic step, the one protocol the runner and the checks share. `requires` names checks that must not
    have failed or been skipped; `uses` the facts it reads, `provides` those it learns (the runner runs the providers
    first, and --only brings them along); `needs` says all of it in words for `airflow-doctor checks`. The context
    is the caller's (the checks' CheckContext): the runner only passes it on. A check may also declare
    `changes_server = True` (it creates something, as --trigger does): the runner never runs it on an assumed fix."""

    id: ClassVar[str]
    title: ClassVar[str]
    requires: ClassVar[tuple[str, ...]]
    uses: ClassVar[tuple[Uses, ...]]
    provides: ClassVar[tuple[Hashable, ...]]
    needs: ClassVar[str]

    def run(self, context: ContextT) -> Finding: ...


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    title: str
    status: Status
    summary: str
    explanation: str = ""
    fix: Fix | None = None
    details: tuple[str, ...] = ()
    evidence: tuple[Exchange, ...] = ()
    duration_ms: float = 0.0
    explains: tuple[str, ...] = ()
    internal_error: str | None = None
    why_ui_works: str = ""
    code: str = ""
    assumed: Assumption | None = None
    after_fix_of: str | None = None
    """The failed check whose assumed fix this result ran on: what the script hits after fixing that (the runner's)."""

    @classmethod
    def from_finding(cls, check_id: str, title: str, finding: Finding, evidence: tuple[Exchange, ...],
                     duration_ms: float) -> "CheckResult":
        """A check's finding as the report holds it; the runner then redacts it (redact.redact_result)."""
        return cls(check_id, title, finding.status, finding.summary, finding.explanation, finding.fix, finding.details,
                   evidence, duration_ms, finding.explains, why_ui_works=finding.why_ui_works, code=finding.code,
                   assumed=finding.assumed if finding.status is Status.FAIL else None)


@dataclass(frozen=True)
class Diagnosis:
    """The headline: the most likely root cause and its fix."""

    check_id: str
    summary: str
    fix: Fix | None
    why_ui_works: str = ""
    code: str = ""


def choose_diagnosis(results: Sequence[CheckResult]) -> Diagnosis | None:
    """The headline: the first failure, unless a later finding says it explains that failure; else the first warning.
    Results found after an assumed fix (`after_fix_of`) are the next problems, never the headline."""
    results = [r for r in results if r.after_fix_of is None]
    first_fail = next((r for r in results if r.status is Status.FAIL), None)
    if first_fail is not None:
        explainer = next((r for r in results if first_fail.check_id in r.explains and r.status in (Status.FAIL, Status.WARN)), None)
        chosen = explainer or first_fail
    else:
        chosen = next((r for r in results if r.status is Status.WARN), None)
    if chosen is None:
        return None
    return Diagnosis(chosen.check_id, chosen.summary, chosen.fix, chosen.why_ui_works, chosen.code)


@dataclass(frozen=True)
class Snippet:
    label: str
    language: str
    code: str


@dataclass(frozen=True)
class WorkingRequest:
    """Code to copy, with notes above it (e.g. what to fix first)."""

    title: str
    notes: tuple[str, ...]
    snippets: tuple[Snippet, ...]


@dataclass(frozen=True)
class Checked:
    """What was checked: the inputs every verdict is about, so the reader of a report can compare them with theirs.

    Already redacted when constructed (the payload's secrets masked, the proxy as its host only).
    """

    url: str
    auth_type: str
    user: str | None = None
    dag_id: str | None = None
    payload: str | None = None
    request: str | None = None
    tls: str = ""
    ca_source: str | None = None
    connect_timeout_s: float = 0.0
    read_timeout_s: float = 0.0
    proxy: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """Label/value pairs in reading order, for the renderers; what is not set says so."""
        return [("url", self.url), ("auth", self.auth_type), ("user", self.user or "none"),
                ("DAG", self.dag_id or "none"), ("payload", self.payload or "none"),
                ("request shape", self.request or "not given"),
                ("TLS", self.tls + (f" ({self.ca_source})" if self.ca_source else "")),
                ("timeouts", f"connect {self.connect_timeout_s:g} s, read {self.read_timeout_s:g} s"),
                ("proxy", self.proxy or "none")]


@dataclass(frozen=True)
class Report:
    tool_version: str
    generated_at: str
    profile: str
    target: str
    facts: tuple[tuple[str, str], ...]
    environment: tuple[tuple[str, str], ...]
    results: tuple[CheckResult, ...]
    diagnosis: Diagnosis | None = None
    warnings: tuple[str, ...] = field(default=())
    working_request: WorkingRequest | None = None
    checked: Checked | None = None
    requests_made: int = 0

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.CHECK_FAILED if any(r.status is Status.FAIL for r in self.results) else ExitCode.OK

    def counts(self) -> dict[Status, int]:
        return {status: sum(1 for r in self.results if r.status is status) for status in Status}
