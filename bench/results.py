"""The figures a benchmark reports to bench/run_all.py, and the table they make.

Every benchmark still prints its own table; besides, for each headline figure it calls :func:`record`. When the
environment names a results file (``TESSERA_BENCH_RESULTS``, set by bench/run_all.py) the figure is appended to it
as one JSON line, so that a benchmark run as a child process hands its figures back without its output being
parsed. Run on its own, a benchmark records nothing.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_ENV = "TESSERA_BENCH_RESULTS"


@dataclass(frozen=True)
class Figure:
    """One measured figure: its target (if the issues name one) and the in-run baseline it is compared with."""

    bench: str
    name: str
    value: float
    unit: str
    database: str = "-"
    target: float | None = None
    higher_is_better: bool = True
    baseline: float | None = None
    baseline_name: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    @property
    def ratio(self) -> float | None:
        """The figure over its baseline's, both in the figure's unit (above 1: more of the unit than the baseline)."""
        if self.baseline is None or self.baseline == 0 or not math.isfinite(self.baseline):
            return None
        return self.value / self.baseline


def record(figure: Figure) -> Figure:
    """Hand ``figure`` to bench/run_all.py when it runs this benchmark; return it for the caller's own printing."""
    if not math.isfinite(figure.value):
        raise ValueError(f"{figure.bench}: {figure.name} is not a finite number ({figure.value})")
    path = os.environ.get(RESULTS_ENV)
    if path:
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(figure), ensure_ascii=False) + "\n")
    return figure


def load_text(before: tuple[float, float, float]) -> str:
    """The machine's load average when a run began and now: what every figure of a shared machine is read with."""
    after = os.getloadavg()
    return (f"load average (1/5/15 min) before {before[0]:.2f} / {before[1]:.2f} / {before[2]:.2f}, after "
            f"{after[0]:.2f} / {after[1]:.2f} / {after[2]:.2f}")


def read(path: Path) -> list[Figure]:
    if not path.exists():
        return []
    return [Figure(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def number(value: float) -> str:
    """Figures at a glance: thousands separated, three significant digits below 100."""
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def target_text(figure: Figure) -> str:
    if figure.target is None:
        return "-"
    sign = "≥" if figure.higher_is_better else "≤"
    verdict = "met" if figure.met else "NOT met"
    return f"{sign} {number(figure.target)} ({verdict})"


def baseline_text(figure: Figure) -> str:
    if figure.baseline is None:
        return "-"
    return f"{number(figure.baseline)} {figure.unit} ({figure.baseline_name})" if figure.baseline_name \
        else f"{number(figure.baseline)} {figure.unit}"


def table(figures: list[Figure]) -> str:
    """One Markdown table of every figure, in the order the benchmarks reported them."""
    lines = ["| benchmark | figure | database | value | target | in-run baseline | ratio |",
             "|---|---|---|---:|---|---|---:|"]
    for f in figures:
        ratio = f.ratio
        ratio_text = "-" if ratio is None else f"× {ratio:.3g}"
        lines.append(f"| {f.bench} | {f.name} | {f.database} | {number(f.value)} {f.unit} | {target_text(f)} | "
                     f"{baseline_text(f)} | {ratio_text} |")
    return "\n".join(lines)
