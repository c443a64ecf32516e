"""bench/run_all.py and bench/results.py: figures handed back from child processes, and the one table they make."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench import results
from bench.results import Figure, record, table
from bench.run_all import Bench, main, report, run

REPORTS = """\
import sys
from bench.results import Figure, record
record(Figure(bench="fake", name="creates at c=16", value=1200.0, unit="req/s", database="sqlite", target=1000.0,
              baseline=4800.0, baseline_name="bare POST"))
record(Figure(bench="fake", name="list p99", value=22.5, unit="ms", database="sqlite", target=15.0,
              higher_is_better=False))
print("the benchmark's own table")
"""
CRASHES = """\
from bench.results import Figure, record
record(Figure(bench="crash", name="half done", value=1.0, unit="s"))
print("about to fail: the disk is full")
raise SystemExit(3)
"""
SILENT = "print('measured nothing')\n"


def script(folder: Path, name: str, text: str) -> str:
    path = folder / f"{name}.py"
    path.write_text(f"import sys\nsys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n{text}",
                    encoding="utf-8")
    return str(path)


def test_a_figure_is_handed_back_only_when_a_results_file_is_named(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    figure = Figure(bench="b", name="n", value=2.0, unit="s", target=1.0, higher_is_better=False)
    monkeypatch.delenv(results.RESULTS_ENV, raising=False)
    record(figure)
    assert list(tmp_path.iterdir()) == []
    out = tmp_path / "figures.jsonl"
    monkeypatch.setenv(results.RESULTS_ENV, str(out))
    record(figure)
    record(Figure(bench="b", name="m", value=3.0, unit="s"))
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["name"] for line in lines] == ["n", "m"]
    assert results.read(out)[0] == figure


def test_a_figure_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        record(Figure(bench="b", name="n", value=float("nan"), unit="s"))


def test_targets_are_judged_in_the_figures_direction_and_ratios_taken_against_the_baseline() -> None:
    fast = Figure(bench="api", name="creates", value=1200.0, unit="req/s", target=1000.0, baseline=4800.0,
                  baseline_name="bare POST")
    slow = Figure(bench="api", name="list p99", value=22.5, unit="ms", target=15.0, higher_is_better=False)
    untargeted = Figure(bench="sla", name="first add", value=0.5, unit="ms")
    assert (fast.met, slow.met, untargeted.met) == (True, False, None)
    assert fast.ratio == pytest.approx(0.25)
    assert slow.ratio is None
    rows = table([fast, slow, untargeted]).splitlines()
    assert rows[2] == "| api | creates | - | 1,200 req/s | ≥ 1,000 (met) | 4,800 req/s (bare POST) | × 0.25 |"
    assert rows[3] == "| api | list p99 | - | 22.5 ms | ≤ 15.0 (NOT met) | - | - |"
    assert rows[4] == "| sla | first add | - | 0.5 ms | - | - | - |"


def test_every_benchmark_runs_as_a_child_and_failures_are_reported_with_their_output(tmp_path: Path) -> None:
    benches = [Bench("fake", script(tmp_path, "fake", REPORTS)),
               Bench("crash", script(tmp_path, "crash", CRASHES)),
               Bench("silent", script(tmp_path, "silent", SILENT)),
               Bench("needs pg", script(tmp_path, "pg", REPORTS), needs_postgres=True)]
    said: list[str] = []
    outcomes = run(benches, full=False, postgres_version=None, logs=tmp_path / "logs", say=said.append)
    assert [(o.bench.name, o.status) for o in outcomes] == [
        ("fake", "ok"), ("crash", "failed"), ("silent", "failed"), ("needs pg", "skipped")]
    assert [f.name for f in outcomes[0].figures] == ["creates at c=16", "list p99"]
    assert outcomes[1].reason == "exited with 3"
    assert outcomes[2].reason == "reported no figure"
    assert outcomes[3].reason == "PostgreSQL is not reachable"
    assert "the benchmark's own table" in (tmp_path / "logs" / "fake.log").read_text(encoding="utf-8")
    text = report(outcomes, "machine line")
    assert text.startswith("machine line\n")
    assert ("| fake | creates at c=16 | sqlite | 1,200 req/s | ≥ 1,000 (met) | 4,800 req/s (bare POST) | × 0.25 |"
            in text)
    assert "| crash | half done |" in text  # what a failing benchmark handed back before it failed still counts
    assert "- crash: failed in" in text
    assert "(exited with 3)" in text
    assert "about to fail: the disk is full" in text
    assert "- needs pg: skipped (PostgreSQL is not reachable)" in text


def test_a_benchmark_that_runs_too_long_is_stopped(tmp_path: Path) -> None:
    slow = Bench("slow", script(tmp_path, "slow", "import time\ntime.sleep(30)\n"), timeout=0.5)
    [outcome] = run([slow], full=False, postgres_version=None, logs=tmp_path, say=lambda _: None)
    assert (outcome.status, outcome.reason) == ("failed", "stopped after 0.5 s")


def test_the_scratch_database_is_put_into_the_arguments() -> None:
    bench = Bench("intake (PostgreSQL)", "bench/intake.py", quick=("--quick", "--database-url", "{database_url}"))
    assert bench.wants_scratch_database
    argv = bench.argv(full=False, postgres=True, database_url="postgresql+psycopg://h/db")
    assert argv[0] == sys.executable
    assert argv[1].endswith("bench/intake.py")
    assert argv[2:] == ["--quick", "--database-url", "postgresql+psycopg://h/db"]
    leaving_out = Bench("import", "bench/import.py", quick=("--quick",), no_postgres_flag="--no-postgres")
    assert leaving_out.argv(full=False, postgres=False, database_url=None)[2:] == ["--quick", "--no-postgres"]
    assert leaving_out.argv(full=False, postgres=True, database_url=None)[2:] == ["--quick"]


def test_an_unknown_benchmark_name_is_refused_with_the_list() -> None:
    with pytest.raises(SystemExit, match="no benchmark named nothing; the benchmarks: compile, sla"):
        main(["--only", "nothing"])


def test_cli_bench_hands_its_options_to_run_all_and_other_commands_still_refuse_unknown_ones(
        capsys: pytest.CaptureFixture[str]) -> None:
    import cli

    with pytest.raises(SystemExit, match="no benchmark named nothing"):
        cli.main(["bench", "--only", "nothing"])
    with pytest.raises(SystemExit) as refused:
        cli.main(["validate", "--bogus"])
    assert refused.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
