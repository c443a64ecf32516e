"""Every benchmark of the project in one run, and one table of their figures, targets and in-run baselines.

Run with ``.venv/bin/python bench/run_all.py`` (or ``python cli.py bench``, or ``./dev bench``). Each benchmark
runs as a child process, one after another so that they do not compete for the two cores, with its short form by
default (``--full`` for the sizes the issues name: a 1,000,000-ticket table, 100,000 articles, MiniLM included,
which takes about an hour). A benchmark hands its headline figures back through bench/results.py; its own output
goes to a log file. The benchmarks that need PostgreSQL run when the server at ``TESSERA_BENCH_PG`` answers, and
the others that can use it run on it too; otherwise they are listed as skipped.

Printed at the end: the machine (cores, CPU model, load average before and after, Python, SQLite and PostgreSQL
versions, the git commit), then one Markdown table (benchmark, figure, database, value, target and whether it is
met, the in-run baseline, the ratio to it), then the benchmarks that failed with the end of their log. ``--out``
writes the same text to a file, ``--only`` and ``--skip`` pick benchmarks by name. The exit status is 1 when a
benchmark failed to run; a target not met is a finding, not a failure.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.results import RESULTS_ENV, Figure, load_text, read, table  # noqa: E402

PG_SERVER = os.environ.get("TESSERA_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


@dataclass(frozen=True)
class Bench:
    """One benchmark script and its arguments; ``{database_url}`` in them is a scratch PostgreSQL database."""

    name: str
    script: str
    quick: tuple[str, ...] = ()
    full: tuple[str, ...] = ()
    needs_postgres: bool = False
    no_postgres_flag: str | None = None  # what tells the script to leave PostgreSQL out when it cannot be reached
    timeout: float = 1800.0

    def argv(self, full: bool, postgres: bool, database_url: str | None) -> list[str]:
        args = list(self.full if full else self.quick)
        if not postgres and self.no_postgres_flag:
            args.append(self.no_postgres_flag)
        if database_url:
            args = [a.replace("{database_url}", database_url) for a in args]
        return [sys.executable, str(REPO / self.script), *args]

    @property
    def wants_scratch_database(self) -> bool:
        return any("{database_url}" in a for a in (*self.quick, *self.full))


BENCHES: tuple[Bench, ...] = (
    Bench("compile", "bench/compile.py", quick=("--runs", "3", "--compile-runs", "3")),
    Bench("sla", "bench/sla.py", quick=("--quick",)),
    Bench("sla_sweep", "bench/sla_sweep.py", quick=("--quick",), no_postgres_flag="--no-postgres"),
    Bench("intake", "bench/intake.py", quick=("--quick",)),
    Bench("intake (PostgreSQL)", "bench/intake.py", quick=("--quick", "--database-url", "{database_url}"),
          full=("--database-url", "{database_url}"), needs_postgres=True),
    Bench("intake_webhooks", "bench/intake_webhooks.py", quick=("--quick",)),
    Bench("kb", "bench/kb.py", quick=("--articles", "20000", "--queries", "500"), full=("--dense",)),
    Bench("ai_banking77", "bench/ai_banking77.py", quick=("--folds", "3", "--no-embeddings"), timeout=3600.0),
    Bench("import", "bench/import.py", quick=("--quick",), no_postgres_flag="--no-postgres"),
    Bench("api", "bench/api.py", quick=("--quick",), timeout=3600.0),
    Bench("pages", "bench/pages.py", quick=("--quick",), timeout=3600.0),
    Bench("pg_scale", "bench/pg_scale.py", quick=("--quick",), needs_postgres=True),
    Bench("worker_claims", "bench/worker_claims.py", quick=("--quick",), needs_postgres=True, timeout=3600.0),
)


@dataclass
class Outcome:
    bench: Bench
    status: str  # ok, failed, skipped
    seconds: float = 0.0
    log: Path | None = None
    reason: str = ""
    figures: list[Figure] = field(default_factory=list)


def postgres_reachable() -> str | None:
    """The server's version when PostgreSQL answers at PG_SERVER, else None."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"{PG_SERVER}/postgres", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            return str(connection.exec_driver_sql("SHOW server_version").scalar())
    except sa.exc.OperationalError:
        return None
    finally:
        engine.dispose()


@contextlib.contextmanager
def scratch_postgres(wanted: bool) -> Iterator[str | None]:
    if not wanted:
        yield None
        return
    from bench.pg_scale import scratch_database

    with scratch_database("bench_run_all") as url:
        yield url


def run_one(bench: Bench, full: bool, postgres: bool, logs: Path) -> Outcome:
    if bench.needs_postgres and not postgres:
        return Outcome(bench, "skipped", reason="PostgreSQL is not reachable")
    log = logs / f"{bench.name.replace(' ', '_').replace('(', '').replace(')', '')}.log"
    with tempfile.TemporaryDirectory(prefix="tessera-run-all-") as folder, \
            scratch_postgres(postgres and bench.wants_scratch_database) as url:
        results = Path(folder) / "figures.jsonl"
        env = {**os.environ, RESULTS_ENV: str(results)}
        started = time.monotonic()
        with log.open("w", encoding="utf-8") as out:
            try:
                done = subprocess.run(bench.argv(full, postgres, url), cwd=REPO, env=env, stdout=out,
                                      stderr=subprocess.STDOUT, timeout=bench.timeout, check=False)
                reason = "" if done.returncode == 0 else f"exited with {done.returncode}"
            except subprocess.TimeoutExpired:
                reason = f"stopped after {bench.timeout:g} s"
        seconds = time.monotonic() - started
        figures = read(results)
    if not reason and not figures:
        reason = "reported no figure"
    return Outcome(bench, "failed" if reason else "ok", seconds, log, reason, figures)


def machine(postgres_version: str | None, load_before: tuple[float, float, float]) -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                            check=False).stdout.strip() or "unknown"
    return (f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, commit {commit}; {os.cpu_count()} cores ({model}), "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}, SQLite "
            f"{sqlite3.sqlite_version}, PostgreSQL {postgres_version or 'not reachable'}; {load_text(load_before)}")


def report(outcomes: list[Outcome], header: str) -> str:
    figures = [f for o in outcomes for f in o.figures]
    lines = [header, "", table(figures) if figures else "(no figures)", ""]
    lines += [f"- {o.bench.name}: {o.status}"
              + (f" in {o.seconds:.0f} s" if o.status != "skipped" else "")
              + (f" ({o.reason})" if o.reason else "") for o in outcomes]
    for o in outcomes:
        if o.status == "failed" and o.log is not None and o.log.exists():
            tail = o.log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            lines += ["", f"{o.bench.name} ({o.log}), end of its output:", *(f"    {t}" for t in tail)]
    return "\n".join(lines)


def run(benches: Sequence[Bench], *, full: bool, postgres_version: str | None, logs: Path,
        say: Callable[[str], None] = print) -> list[Outcome]:
    logs.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for bench in benches:
        say(f"{bench.name} …")
        outcome = run_one(bench, full, postgres_version is not None, logs)
        say(f"  {outcome.status}" + (f" in {outcome.seconds:.0f} s" if outcome.status != "skipped" else "")
            + (f": {outcome.reason}" if outcome.reason else "") + f", {len(outcome.figures)} figures")
        outcomes.append(outcome)
    return outcomes


def chosen(only: Sequence[str], skip: Sequence[str]) -> list[Bench]:
    names = {b.name for b in BENCHES} | {b.name.split(" ")[0] for b in BENCHES}
    unknown = sorted((set(only) | set(skip)) - names)
    if unknown:
        msg = f"no benchmark named {', '.join(unknown)}; the benchmarks: {', '.join(b.name for b in BENCHES)}"
        raise SystemExit(msg)

    def named(bench: Bench, wanted: Sequence[str]) -> bool:
        return bench.name in wanted or bench.name.split(" ")[0] in wanted

    return [b for b in BENCHES if (not only or named(b, only)) and not named(b, skip)]


def main(argv: Sequence[str] | None = None) -> int:
    options = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--full", action="store_true", help="the issues' sizes instead of the short runs")
    options.add_argument("--only", nargs="+", default=[], metavar="NAME", help="run only these benchmarks")
    options.add_argument("--skip", nargs="+", default=[], metavar="NAME", help="leave these benchmarks out")
    options.add_argument("--no-postgres", action="store_true", help="SQLite only, even when PostgreSQL answers")
    options.add_argument("--logs", type=Path, default=REPO / "test-artifacts" / "bench",
                         help="folder for each benchmark's own output (default test-artifacts/bench)")
    options.add_argument("--out", type=Path, help="also write the report to this file")
    args = options.parse_args(argv)
    benches = chosen(args.only, args.skip)
    load_before = os.getloadavg()
    postgres_version = None if args.no_postgres else postgres_reachable()
    outcomes = run(benches, full=args.full, postgres_version=postgres_version, logs=args.logs)
    text = report(outcomes, machine(postgres_version, load_before))
    print()
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 1 if any(o.status == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
