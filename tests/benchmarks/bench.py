"""airflow-doctor benchmark. One command:

    .venv/bin/python tests/benchmarks/bench.py [--runs 7]

Starts real Airflow 2.10.5 and 3.3.2 on 127.0.0.1 (the sandbox code, cached venvs), then prints medians over
--runs fresh processes, each next to its target: start-up, a full check (wall, requests, server time,
overhead), transport failures, each hostile server of tests/servers.py, peak RSS, the same machine's
`airflow version` for scale, and a fleet of 20 profiles against the slowest single one. The tests assert
behaviour only; every speed claim lives here. Not a test: numbers, for the README and the issue notes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from airflow_doctor.sandbox import Sandbox, install, venv_dir  # noqa: E402
from tests.servers import HOSTILE, BlackHole, LocalServer, closed_port  # noqa: E402

VERSIONS = ("2.10.5", "3.3.2")
QUEUE_CHECKS = ("paused",)


def evidence(report: dict, check_id: str) -> list[dict]:
    """One check's exchanges in a JSON report."""
    return [e for r in report["results"] if r["check_id"] == check_id for e in r["evidence"]]


def doctor() -> list[str]:
    script = Path(sys.executable).parent / "airflow-doctor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "airflow_doctor"]


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in KB, and stdout of one fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                               env=env)
    out = process.stdout.read() if process.stdout else b""
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return time.perf_counter() - started, usage.ru_maxrss, out.decode("utf-8", "replace")


def median_of(command: list[str], runs: int) -> tuple[float, int, list[str]]:
    samples = [timed(command) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples), [s[2] for s in samples]


def profile(path: Path, url: str, extra: str = "") -> Path:
    path.write_text(f"url: {url}\n{extra}")
    path.chmod(0o600)
    return path


def boot(sandbox: Sandbox) -> None:
    sandbox.prepare()
    sandbox.start_until_ready()
    sandbox.write_profile()


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("ok" if ok else "MISSED")
        self.rows.append((name, value, target, verdict))
        print(f"{name:<56} {value:>14}  {target:<32} {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    runs = args.runs
    work = Path(tempfile.mkdtemp(prefix="airflow-doctor-bench-"))
    table = Table()
    print(f"airflow-doctor benchmark: medians of {runs} fresh processes, {os.cpu_count()} cores\n")
    print(f"{'measure':<56} {'median':>14}  {'target':<32}")

    version_wall, version_rss, _ = median_of([*doctor(), "--version"], runs)
    table.add("airflow-doctor --version (cold process)", f"{version_wall:.3f} s", "<= 0.2 s", version_wall <= 0.2)
    help_wall, _, _ = median_of([*doctor(), "--help"], runs)
    table.add("airflow-doctor --help (cold process)", f"{help_wall:.3f} s")

    sandboxes = {v: Sandbox(v, work / v) for v in VERSIONS}
    with ThreadPoolExecutor(len(VERSIONS)) as pool:
        list(pool.map(lambda v: install(v), VERSIONS))
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(len(VERSIONS)) as pool:
            list(pool.map(boot, sandboxes.values()))
        table.add(f"Airflow {' and '.join(VERSIONS)} ready (started side by side)",
                  f"{time.perf_counter() - started:.1f} s")
        time.sleep(3)
        worst_single = 0.0
        for version, sandbox in sandboxes.items():
            command = [*doctor(), "check", "--profile", str(sandbox.profile_path), "--format", "json"]
            wall, rss, outputs = median_of(command, runs)
            reports = [json.loads(o) for o in outputs]
            requests_made = statistics.median(r["requests_made"] for r in reports)
            server = statistics.median(sum(e["server_ms"] or 0 for res in r["results"] for e in res["evidence"])
                                       for r in reports) / 1000
            failures = {r["exit_code"] for r in reports}
            worst_single = max(worst_single, wall)
            table.add(f"full check, Airflow {version} (exit {'/'.join(map(str, failures))})", f"{wall:.3f} s", "<= 1.0 s",
                      wall <= 1.0)
            table.add(f"  HTTP requests, Airflow {version}", f"{requests_made:.0f}", "<= 12", requests_made <= 12)
            table.add(f"  server time (time to first byte), Airflow {version}", f"{server:.3f} s")
            for check in QUEUE_CHECKS:  # FAB verifies a password hash per Basic request on 2.x: each read costs CPU
                table.add(f"  {check}: requests / server time, Airflow {version}",
                          f"{statistics.median(len(evidence(r, check)) for r in reports):.0f} / "
                          f"{statistics.median(sum(e['server_ms'] or 0 for e in evidence(r, check)) for r in reports) / 1000:.3f} s")
            table.add(f"  overhead = wall - server, Airflow {version}", f"{wall - server:.3f} s", "<= 0.3 s",
                      wall - server <= 0.3)
            table.add(f"  peak RSS, Airflow {version}", f"{rss / 1024:.1f} MB", "<= 80 MB", rss / 1024 <= 80)
            airflow = venv_dir(version) / "bin" / "airflow"
            reference, _, _ = median_of([str(airflow), "version"], 3)
            table.add(f"  `airflow version` ({version}) for scale", f"{reference:.3f} s",
                      f"doctor = {wall / reference:.2f}x")
        airflowctl = shutil.which("airflowctl") or next(
            (str(p) for v in VERSIONS if (p := venv_dir(v) / "bin" / "airflowctl").exists()), None)
        if airflowctl:
            ctl, _, _ = median_of([airflowctl, "--help"], 3)
            table.add("`airflowctl --help` for scale", f"{ctl:.3f} s", f"--help = {help_wall / ctl:.2f}x")
        else:
            table.add("`airflowctl --help` for scale", "not installed")

        refused = profile(work / "refused.yml", f"http://127.0.0.1:{closed_port()}", "timeout: {connect: 5}\n")
        wall, _, _ = median_of([*doctor(), "check", "--profile", str(refused), "-f", "json"], runs)
        table.add("refused port", f"{wall:.3f} s", "<= 1 s", wall <= 1)
        unresolvable = profile(work / "dns.yml", "http://airflow-doctor-bench.invalid")
        wall, _, _ = median_of([*doctor(), "check", "--profile", str(unresolvable), "-f", "json"], runs)
        table.add("unresolvable host", f"{wall:.3f} s", "<= 1 s", wall <= 1)
        for hostile in HOSTILE:
            with LocalServer(hostile.route) as server:
                path = profile(work / "hostile.yml", server.url, "timeout: {connect: 1, read: 2}\n")
                wall, _, _ = median_of([*doctor(), "check", "--profile", str(path), "-f", "json"], min(runs, 3))
            table.add(f"hostile server: {hostile.name}", f"{wall:.3f} s", f"<= {hostile.target_seconds:g} s",
                      wall <= hostile.target_seconds)
        with BlackHole() as hole:
            holed = profile(work / "hole.yml", f"http://127.0.0.1:{hole.port}", "timeout: {connect: 2}\n")
            wall, _, _ = median_of([*doctor(), "check", "--profile", str(holed), "-f", "json"], min(runs, 3))
            table.add("black-holed port (connect timeout 2 s)", f"{wall:.3f} s", "<= 2.5 s", wall <= 2.5)
            worst_single = max(worst_single, wall)

            lines = ["profiles:"]
            for i in range(20):
                kind = i % 4
                if kind < 2:
                    sandbox = sandboxes[VERSIONS[kind]]
                    body = sandbox.profile_path.read_text().split("\n", 1)[1]
                    lines.append(f"  p{i:02d}:")
                    lines += [f"    {line}" for line in body.splitlines() if line.strip()]
                elif kind == 2:
                    lines.append(f"  p{i:02d}: {{url: 'http://127.0.0.1:{closed_port()}'}}")
                else:
                    lines.append(f"  p{i:02d}: {{url: 'http://127.0.0.1:{hole.port}', timeout: {{connect: 2}}}}")
            fleet = work / "fleet.yml"
            fleet.write_text("\n".join(lines) + "\n")
            wall, rss, _ = median_of([*doctor(), "check", "--all", "--profiles-file", str(fleet), "-f", "json"],
                                     min(runs, 3))
            table.add("fleet: 20 profiles (sandboxes, refused, black-holed)", f"{wall:.3f} s",
                      f"<= 1.5x slowest ({1.5 * worst_single:.2f} s)", wall <= 1.5 * worst_single)
            table.add("  fleet peak RSS", f"{rss / 1024:.1f} MB")
    finally:
        for sandbox in sandboxes.values():
            sandbox.stop()
        shutil.rmtree(work, ignore_errors=True)
    missed = [r for r in table.rows if r[3] == "MISSED"]
    print(f"\n{len(table.rows) - len(missed)} of {len(table.rows)} rows within target" if missed else "\nall targets met")


if __name__ == "__main__":
    main()
