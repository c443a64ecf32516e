"""How long the definitions take to validate and compile: the shipped desk and a large generated one.

Run with ``.venv/bin/python bench/compile.py`` (or ``./dev bench``). Prints one table:

- ``cli.py validate`` on the shipped desk, from process start (target < 1 s);
- a generated desk of 100 ticket types × 40 fields: ``load_compiled`` in this process and ``cli.py validate``
  from process start (target < 2 s each), and ``cli.py plan`` from process start (it plans every table);

each as the median of several runs, with its ratio to the start of a bare interpreter
(``python -c "import sys"``) measured in the same run, so that figures from different machines compare.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CLI = REPO / "cli.py"
TYPES = 100
FIELDS_PER_TYPE = 40


@dataclass(frozen=True)
class Result:
    name: str
    median: float
    target: float | None


def median_time(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_process(*argv: str) -> Callable[[], object]:
    def action() -> object:
        result = subprocess.run([sys.executable, *argv], capture_output=True, text=True, check=False, cwd=REPO)
        if result.returncode != 0:
            msg = f"{' '.join(argv)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
            raise RuntimeError(msg)
        return result

    return action


# --- the generated desk ---------------------------------------------------------------------------

def labels(text: str) -> str:
    return "{en: " + text + ", de: " + text + " (de)}"


def field_yaml(kind: str, index: int) -> list[str]:
    """One field of the given kind with the constraints a builder would typically write."""
    name = f"{kind}_{index:02d}"
    lines = [f"  {name}:", f"    kind: {kind}", f"    label: {labels(name.replace('_', ' ').capitalize())}"]
    constraints: dict[str, list[str]] = {
        "string": ["max_length: 64", 'pattern: "^[A-Z]{2}-\\\\d{3,6}$"', "indexed: true"],
        "text": ["max_length: 4000"],
        "integer": ["min: 0", "max: 100000", "default: 1"],
        "decimal": ["precision: 12", "scale: 2", "min: 0"],
        "boolean": ["default: false"],
        "date": ['min: "2000-01-01"'],
        "datetime": ["indexed: true"],
        "duration": ["min: 0s", "max: 30d"],
        "email": ["max_length: 320", "indexed: true"],
        "url": ["max_length: 2048"],
        "phone": ['pattern: "^\\\\+?[0-9 ]{6,20}$"'],
        "choice": ["options:", *(f"      - {{value: option_{o}, label: {labels(f'Option {o}')}}}" for o in range(5)),
                   "default: option_0", "indexed: true"],
        "multichoice": ["options: [red, green, blue, amber, white]"],
        "list": ["of: string"],
        "relation": ["to: sites" if index % 2 else "to: agent", "indexed: true"],
        "attachment": ["multiple: true"] if index % 2 else [],
        "json": [],
    }
    lines += [c if c.startswith("      ") else f"    {c}" for c in constraints[kind]]
    if index % 5 == 0 and kind not in ("attachment", "json", "boolean"):
        lines.append("    required: true")
    if index % 7 == 0:
        lines.append(f"    help: {labels('Help for ' + name.replace('_', ' '))}")
    return lines


def type_yaml(number: int, kinds: tuple[str, ...]) -> str:
    names = [f"{kinds[j % len(kinds)]}_{j:02d}" for j in range(FIELDS_PER_TYPE)]
    lines = ["# yaml-language-server: $schema=../schemas/ticket_type.schema.json", f"type: type_{number:03d}",
             f"label: {labels(f'Type {number}')}", f"number_prefix: T{number:03d}", "fields:"]
    for j in range(FIELDS_PER_TYPE):
        lines += field_yaml(kinds[j % len(kinds)], j)
    lines += ["form:", "  sections:"]
    for start in range(0, FIELDS_PER_TYPE, 10):
        lines += [f"    - title: {labels(f'Section {start // 10 + 1}')}",
                  f"      fields: [{', '.join(names[start:start + 10])}]"]
        if start:
            lines.append("      visible_in: [in_progress, resolved, closed]")
    lines += ["workflow: standard", "intake:", "  public_form: true", "  keywords: [alpha, beta]",
              "ai:", "  skills: [general]"]
    return "\n".join(lines) + "\n"


WORKFLOWS = """\
workflows:
  standard:
    label: {en: Standard, de: Standard}
    initial: new
    states:
      new: {category: open, label: {en: New, de: Neu}}
      in_progress: {category: open, label: {en: In progress, de: In Bearbeitung}}
      waiting: {category: paused, label: {en: Waiting, de: Wartet}}
      resolved: {category: resolved, label: {en: Resolved, de: Gelöst}}
      closed: {category: closed, label: {en: Closed, de: Geschlossen}}
    transitions:
      start: {from: new, to: in_progress, label: {en: Start, de: Beginnen}}
      wait: {from: in_progress, to: waiting, label: {en: Wait, de: Warten}}
      resume: {from: waiting, to: in_progress, label: {en: Resume, de: Fortsetzen}}
      resolve: {from: [in_progress, waiting], to: resolved, label: {en: Resolve, de: Lösen}}
      close: {from: resolved, to: closed, label: {en: Close, de: Schließen}, roles: [supervisor]}
      reopen: {from: [resolved, closed], to: in_progress, roles: [agent, requester]}
"""
COLLECTIONS = """\
collections:
  sites:
    label: {en: Sites, de: Standorte}
    display: name
    fields:
      code: {kind: string, label: {en: Code, de: Kürzel}, max_length: 16, required: true, unique: true}
      name: {kind: string, label: {en: Name, de: Name}, max_length: 120, required: true}
      address: {kind: text, label: {en: Address, de: Adresse}}
"""
PROJECT = """\
name: Benchmark desk
languages: [en, de]
default_language: en
"""


def write_big_desk(root: Path) -> Path:
    from runtime.config.spec import FIELD_KINDS

    (root / "ticket_types").mkdir(parents=True)
    (root / "tessera.yaml").write_text(PROJECT, encoding="utf-8")
    (root / "ticket_types" / "_workflows.yaml").write_text(WORKFLOWS, encoding="utf-8")
    (root / "ticket_types" / "_collections.yaml").write_text(COLLECTIONS, encoding="utf-8")
    for number in range(TYPES):
        text = type_yaml(number, FIELD_KINDS)
        (root / "ticket_types" / f"type_{number:03d}.yaml").write_text(text, encoding="utf-8")
    return root


# --- the table ------------------------------------------------------------------------------------

def table(results: list[Result], baseline: float) -> str:
    header = ("benchmark", "median s", "target s", "within target", "× baseline")
    rows = [header]
    for r in results:
        target = f"< {r.target:g}" if r.target is not None else "—"
        within = "—" if r.target is None else ("yes" if r.median < r.target else "no")
        rows.append((r.name, f"{r.median:.3f}", target, within, f"{r.median / baseline:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        return " | ".join([row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:],
                                                                                         strict=True))])

    return "\n".join([line(rows[0]), "-+-".join("-" * w for w in widths), *(line(r) for r in rows[1:])])


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--runs", type=int, default=7, help="process runs per figure (default 7)")
    options.add_argument("--compile-runs", type=int, default=5, help="in-process compiles (default 5)")
    args = options.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from bench.results import Figure, record
    from runtime.compile.desk import load_compiled

    baseline = median_time(run_process("-c", "import sys"), args.runs)
    results = [Result("python -c 'import sys' (baseline)", baseline, None)]
    shipped = run_process(str(CLI), "--root", str(REPO), "validate")
    results.append(Result("cli.py validate, shipped desk", median_time(shipped, args.runs), 1.0))
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as scratch:
        root = write_big_desk(Path(scratch) / "desk")
        compiled: dict[str, Any] = {}

        def compile_big() -> None:
            compiled["desk"] = load_compiled(root)

        big = f"{TYPES} types × {FIELDS_PER_TYPE} fields"
        results.append(Result(f"load_compiled, {big} (in process)", median_time(compile_big, args.compile_runs),
                              2.0))
        results.append(Result(f"cli.py validate, {big}",
                              median_time(run_process(str(CLI), "--root", str(root), "validate"), args.runs), 2.0))
        database = f"sqlite:///{Path(scratch) / 'bench.db'}"
        plan = run_process(str(CLI), "--root", str(root), "--database-url", database, "plan")
        results.append(Result(f"cli.py plan, {big} (creates all)", median_time(plan, max(3, args.runs // 2)), None))
        desk = compiled["desk"].definitions
        fields = sum(len(t.fields) for t in desk.types)
        tables = len(compiled["desk"].metadata.tables)
    for r in results[1:]:
        record(Figure(bench="compile", name=r.name, value=r.median, unit="s", target=r.target, higher_is_better=False,
                      baseline=baseline, baseline_name="python -c 'import sys'"))
    print(table(results, baseline))
    print(f"\nbig desk: {len(desk.types)} ticket types, {fields} fields, {tables} tables; "
          f"python {sys.version.split()[0]} on {sys.platform}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
