"""Charts drawn on the server as SVG: horizontal bars (single, stacked, grouped) and lines over days.

Pure functions of their data with no chart library: a page embeds the markup they return. Each chart is one
image to assistive technology (``role="img"`` with a ``<title>`` and a ``<desc>``) and prints its values as text
beside the marks; the page shows the same figures in a table too, which is what a screen reader reads. Value
axes start at zero and are marked at round steps (1, 2 or 5 times a power of ten), so that bars compare honestly.
Every mark carries ``data-label``/``data-value`` (and ``data-series``), which tests read back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 640
ROW = 26  # one category's row in a bar chart
BAR = 16
GROUPED_BAR = 12
LABEL_CHARS = 28  # longer category labels are cut; the whole text stays in the mark's tooltip
CHAR = 6.6  # the width of a character at 12px, near enough to lay text out without font metrics
VALUE_ROOM = 64  # right of the longest bar, for its value
LINE_HEIGHT = 180
MAX_X_LABELS = 8
GRID, AXIS, INK = "#d0d0d0", "#767676", "#1b1b1b"

Format = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """One named row of values, one per category (or day), drawn in ``colour``."""

    name: str
    values: tuple[float, ...]
    colour: str


def plain_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def nice_ticks(top: float, count: int = 5, *, whole: bool = True) -> list[float]:
    """Round ticks from 0 to at least ``top``, about ``count`` steps; ``whole`` keeps steps of at least 1
    (for counts)."""
    if not math.isfinite(top) or top <= 0:
        return [0.0, 1.0]
    rough = top / count
    power = 10.0 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough * (1 - 1e-12))
    if whole:
        step = max(step, 1.0)
    steps = max(1, math.ceil(top / step - 1e-9))
    return [round(i * step, 10) for i in range(steps + 1)]


def bar_chart(chart_id: str, title: str, desc: str, labels: Sequence[str], values: Sequence[float], *,
              colour: str = "#0b57d0", fmt: Format = plain_number, empty: str = "No data",
              whole: bool = True) -> Markup:
    """One bar per category, longest to the right: ``labels[i]`` has ``values[i]``."""
    _check(labels, [values])
    if not labels:
        return _empty(chart_id, title, desc, empty)
    return stacked_bar_chart(chart_id, title, desc, labels, [Series("", tuple(values), colour)], fmt=fmt,
                             empty=empty, whole=whole, legend=False)


def stacked_bar_chart(chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], *,
                      fmt: Format = plain_number, empty: str = "No data", whole: bool = True,
                      legend: bool = True) -> Markup:
    """One bar per category made of one segment per series, the total printed at its end."""
    _check(labels, [s.values for s in series])
    if not labels or not series:
        return _empty(chart_id, title, desc, empty)
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    frame = _Frame(labels, max(totals), ROW, series if legend else (), whole, fmt)
    parts = frame.axis()
    for row, label in enumerate(labels):
        y = frame.row_top(row) + (ROW - BAR) / 2
        x = frame.x0
        for one in series:
            value = one.values[row]
            width = frame.length(value)
            parts.append(_rect(x, y, width, BAR, one, label, value, fmt))
            text = fmt(value)
            if len(series) > 1 and value and width >= len(text) * CHAR + 6:
                parts.append(f'<text x="{_n(x + width / 2)}" y="{_n(y + BAR / 2)}" dy=".35em" '
                             f'text-anchor="middle" class="inside" fill="#fff">{escape(text)}</text>')
            x += width
        parts.append(f'<text class="value" x="{_n(x + 4)}" y="{_n(y + BAR / 2)}" dy=".35em">'
                     f'{escape(fmt(totals[row]))}</text>')
    return _svg(chart_id, title, desc, frame.height, parts)


def grouped_bar_chart(chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], *,
                      fmt: Format = plain_number, empty: str = "No data", whole: bool = True) -> Markup:
    """Per category, one thin bar per series under each other, each with its value."""
    _check(labels, [s.values for s in series])
    if not labels or not series:
        return _empty(chart_id, title, desc, empty)
    row = len(series) * (GROUPED_BAR + 2) + 10
    frame = _Frame(labels, max(max(s.values) for s in series), row, series, whole, fmt)
    parts = frame.axis()
    for index, label in enumerate(labels):
        y = frame.row_top(index) + 5
        for one in series:
            value = one.values[index]
            width = frame.length(value)
            parts.append(_rect(frame.x0, y, width, GROUPED_BAR, one, label, value, fmt))
            parts.append(f'<text class="value" x="{_n(frame.x0 + width + 4)}" y="{_n(y + GROUPED_BAR / 2)}" '
                         f'dy=".35em">{escape(fmt(value))}</text>')
            y += GROUPED_BAR + 2
    return _svg(chart_id, title, desc, frame.height, parts)


def line_chart(chart_id: str, title: str, desc: str, days: Sequence[str], series: Sequence[Series], *,
               fmt: Format = plain_number, empty: str = "No data", whole: bool = True) -> Markup:
    """One line per series over ``days`` (labels written by the caller), a point per day. With up to 14 days
    every point prints its value, otherwise each line's highest point does."""
    _check(days, [s.values for s in series])
    if not days or not series:
        return _empty(chart_id, title, desc, empty)
    ticks = nice_ticks(max(max(s.values) for s in series), whole=whole)
    legend, top = _legend(series, 8)
    top += 10
    left = max(len(fmt(t)) for t in ticks) * CHAR + 12
    right, bottom = WIDTH - 16, top + LINE_HEIGHT

    def x_of(i: int) -> float:
        return (left + right) / 2 if len(days) == 1 else left + i * (right - left) / (len(days) - 1)

    def y_of(value: float) -> float:
        return bottom - value / ticks[-1] * LINE_HEIGHT

    parts = list(legend)
    for tick in ticks:
        y = y_of(tick)
        parts.append(f'<line x1="{_n(left)}" x2="{_n(right)}" y1="{_n(y)}" y2="{_n(y)}" '
                     f'stroke="{AXIS if tick == 0 else GRID}"/>')
        parts.append(f'<text x="{_n(left - 6)}" y="{_n(y)}" dy=".35em" text-anchor="end">{escape(fmt(tick))}</text>')
    every = math.ceil(len(days) / MAX_X_LABELS)
    for i, day in enumerate(days):
        if i % every == 0:
            parts.append(f'<text x="{_n(x_of(i))}" y="{_n(bottom + 16)}" text-anchor="middle">{escape(day)}</text>')
    for one in series:
        points = [(x_of(i), y_of(v)) for i, v in enumerate(one.values)]
        parts.append(f'<polyline fill="none" stroke="{escape(one.colour)}" stroke-width="2" '
                     f'points="{" ".join(f"{_n(x)},{_n(y)}" for x, y in points)}"/>')
        highest = max(range(len(days)), key=lambda i: one.values[i])
        for i, (x, y) in enumerate(points):
            value = one.values[i]
            parts.append(f'<circle class="point" cx="{_n(x)}" cy="{_n(y)}" r="3" fill="{escape(one.colour)}"'
                         f'{_marks(one.name, days[i], value)}><title>{_tip(one.name, days[i], value, fmt)}'
                         f'</title></circle>')
            if len(days) <= 14 or (i == highest and value):
                parts.append(f'<text class="value" x="{_n(x)}" y="{_n(y - 7)}" text-anchor="middle">'
                             f'{escape(fmt(value))}</text>')
    return _svg(chart_id, title, desc, bottom + 26, parts)


class _Frame:
    """The layout of a horizontal bar chart: a column of labels, a plot with its value axis below."""

    def __init__(self, labels: Sequence[str], top_value: float, row: float, series: Sequence[Series],
                 whole: bool, fmt: Format) -> None:
        self.labels, self.row, self.fmt = labels, row, fmt
        self.ticks = nice_ticks(top_value, whole=whole)
        self.legend, legend_height = _legend(series, 4)
        self.x0 = min(max(len(label) for label in labels), LABEL_CHARS) * CHAR + 12
        self.x1 = WIDTH - VALUE_ROOM
        self.top = legend_height + 4
        self.axis_y = self.top + len(labels) * row
        self.height = self.axis_y + 26

    def length(self, value: float) -> float:
        return value / self.ticks[-1] * (self.x1 - self.x0)

    def row_top(self, index: int) -> float:
        return self.top + index * self.row

    def axis(self) -> list[str]:
        parts = list(self.legend)
        for tick in self.ticks:
            x = self.x0 + self.length(tick)
            parts.append(f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{_n(self.top)}" y2="{_n(self.axis_y)}" '
                         f'stroke="{AXIS if tick == 0 else GRID}"/>')
            parts.append(f'<text x="{_n(x)}" y="{_n(self.axis_y + 16)}" text-anchor="middle">'
                         f'{escape(self.fmt(tick))}</text>')
        for index, label in enumerate(self.labels):
            shown = label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"
            parts.append(f'<text x="{_n(self.x0 - 6)}" y="{_n(self.row_top(index) + self.row / 2)}" dy=".35em" '
                         f'text-anchor="end">{escape(shown)}</text>')
        return parts


def _legend(series: Sequence[Series], top: float) -> tuple[list[str], float]:
    """Swatches with the series' names, wrapping onto more lines; the markup and the height it takes."""
    named = [s for s in series if s.name]
    if not named:
        return [], 0.0
    parts: list[str] = []
    x, y = 8.0, top
    for one in named:
        width = 18 + len(one.name) * CHAR + 16
        if x + width > WIDTH and x > 8:
            x, y = 8.0, y + 20
        parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="12" height="12" fill="{escape(one.colour)}"/>'
                     f'<text x="{_n(x + 18)}" y="{_n(y + 6)}" dy=".35em">{escape(one.name)}</text>')
        x += width
    return parts, y + 20 - top + 4


def _rect(x: float, y: float, width: float, height: float, series: Series, label: str, value: float,
          fmt: Format) -> str:
    return (f'<rect class="bar" x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(height)}" '
            f'fill="{escape(series.colour)}"{_marks(series.name, label, value)}>'
            f'<title>{_tip(series.name, label, value, fmt)}</title></rect>')


def _marks(series: str, label: str, value: float) -> str:
    named = f' data-series="{escape(series)}"' if series else ""
    return f'{named} data-label="{escape(label)}" data-value="{value:g}"'


def _tip(series: str, label: str, value: float, fmt: Format) -> str:
    return escape(f"{label} · {series}: {fmt(value)}" if series else f"{label}: {fmt(value)}")


def _svg(chart_id: str, title: str, desc: str, height: float, parts: list[str]) -> Markup:
    ident = escape(chart_id)
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{ident}" role="img" '
                  f'aria-labelledby="{ident}-title {ident}-desc" viewBox="0 0 {WIDTH} {_n(height)}" '
                  f'width="{WIDTH}" height="{_n(height)}" font-size="12" fill="{INK}">'
                  f'<title id="{ident}-title">{escape(title)}</title><desc id="{ident}-desc">{escape(desc)}</desc>'
                  + "".join(parts) + "</svg>")


def _empty(chart_id: str, title: str, desc: str, empty: str) -> Markup:
    return _svg(chart_id, title, f"{desc} {empty}".strip(), 60,
                [f'<text class="empty" x="{WIDTH / 2:g}" y="30" dy=".35em" text-anchor="middle">{escape(empty)}'
                 "</text>"])


def _check(labels: Sequence[str], rows: Sequence[Sequence[float]]) -> None:
    for values in rows:
        if len(values) != len(labels):
            msg = f"{len(values)} values for {len(labels)} categories"
            raise ValueError(msg)
        if any(not math.isfinite(v) or v < 0 for v in values):
            msg = "chart values must be finite and not negative"
            raise ValueError(msg)


def _n(number: float) -> str:
    """A coordinate, to a tenth of a unit: enough on a 640-wide canvas, and short markup."""
    return f"{round(number, 1):g}"
