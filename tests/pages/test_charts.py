"""The server-side SVG charts and workflow diagrams: well-formed images whose marks match their data, with a zero
baseline, round ticks, escaped labels and an empty state; diagrams laid out the same way every time."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from runtime.compile.desk import CompiledDesk, load_compiled
from runtime.config import ir
from runtime.pages.charts import Series, bar_chart, grouped_bar_chart, line_chart, nice_ticks, stacked_bar_chart
from runtime.pages.diagram import layers, workflow_diagram
from tests.desk_fixtures import SHIPPED

NS = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def marks(svg: ET.Element, tag: str = "rect", kind: str = "bar") -> list[ET.Element]:
    return [e for e in svg.iter(f"{NS}{tag}") if e.get("class") == kind]


def texts(svg: ET.Element) -> list[str]:
    return ["".join(e.itertext()) for e in svg.iter(f"{NS}text")]


@pytest.mark.parametrize(("top", "ticks"), [
    (7, [0, 2, 4, 6, 8]), (100, [0, 20, 40, 60, 80, 100]), (11, [0, 5, 10, 15]), (1, [0, 1]), (0, [0, 1]),
    (3, [0, 1, 2, 3]), (1234, [0, 500, 1000, 1500])])
def test_ticks_start_at_zero_and_step_roundly(top: float, ticks: list[float]) -> None:
    assert nice_ticks(top) == ticks


def test_fractional_ticks_for_measures() -> None:
    assert nice_ticks(0.3, whole=False) == [0, 0.1, 0.2, 0.3]
    assert nice_ticks(9.25, whole=False) == [0, 2, 4, 6, 8, 10]


def test_a_bar_chart_draws_one_bar_per_value_in_proportion() -> None:
    svg = parse(bar_chart("c1", "Backlog", "Tickets per priority", ["P1", "P2", "P3"], [8, 2, 0]))
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "c1-title c1-desc"
    assert svg.find(f"{NS}title").text == "Backlog"  # type: ignore[union-attr]
    assert svg.find(f"{NS}desc").text == "Tickets per priority"  # type: ignore[union-attr]
    bars = marks(svg)
    assert [(b.get("data-label"), b.get("data-value")) for b in bars] == [("P1", "8"), ("P2", "2"), ("P3", "0")]
    widths = [float(b.get("width", "")) for b in bars]
    assert widths[0] == pytest.approx(4 * widths[1])
    assert widths[2] == 0
    assert len({b.get("x") for b in bars}) == 1  # every bar starts at the zero line
    assert {"8", "2", "0"} <= set(texts(svg))  # the values are printed
    assert [t for t in texts(svg) if t in {"0", "2", "4", "6", "8"}][:5] == ["0", "2", "4", "6", "8"]


def test_labels_are_escaped_and_long_ones_cut() -> None:
    label = '<script>alert("x")</script> & a very long label that goes on'
    markup = bar_chart("c2", 'Title "quoted" <b>', "d & e", [label], [1])
    assert "<script>" not in markup
    assert "<b>" not in markup
    svg = parse(markup)
    assert marks(svg)[0].get("data-label") == label
    assert svg.find(f"{NS}title").text == 'Title "quoted" <b>'  # type: ignore[union-attr]
    shown = [t for t in texts(svg) if t.startswith("<script>")]
    assert len(shown) == 1
    assert shown[0].endswith("…")
    assert len(shown[0]) == 28


def test_stacked_bars_put_segments_end_to_end_and_print_the_total() -> None:
    svg = parse(stacked_bar_chart("c3", "SLA", "d", ["P1", "P2"], [
        Series("Met", (3, 0), "#1e6b34"), Series("Breached", (1, 2), "#b3261e")]))
    bars = marks(svg)
    assert [(b.get("data-series"), b.get("data-label"), b.get("data-value")) for b in bars] == [
        ("Met", "P1", "3"), ("Breached", "P1", "1"), ("Met", "P2", "0"), ("Breached", "P2", "2")]
    met, breached = bars[0], bars[1]
    assert float(breached.get("x", "")) == pytest.approx(float(met.get("x", "")) + float(met.get("width", "")))
    assert float(met.get("width", "")) == pytest.approx(3 * float(breached.get("width", "")))
    assert "4" in texts(svg)
    assert "Met" in texts(svg)
    assert "Breached" in texts(svg)


def test_grouped_bars_give_each_series_its_own_bar() -> None:
    svg = parse(grouped_bar_chart("c4", "Load", "d", ["alex", "bea"], [
        Series("Open", (2, 5), "#0b57d0"), Series("Capacity", (8, 6), "#555")]))
    bars = marks(svg)
    assert [(b.get("data-series"), b.get("data-value")) for b in bars] == [
        ("Open", "2"), ("Capacity", "8"), ("Open", "5"), ("Capacity", "6")]
    assert float(bars[1].get("width", "")) == pytest.approx(4 * float(bars[0].get("width", "")))
    assert len({b.get("y") for b in bars}) == 4


def test_a_line_chart_has_a_point_per_day_at_its_height() -> None:
    days = ["11/16", "11/17", "11/18"]
    svg = parse(line_chart("c5", "Breaches", "d", days, [Series("First response", (0, 4, 2), "#0b57d0")]))
    points = marks(svg, "circle", "point")
    assert [(p.get("data-label"), p.get("data-value")) for p in points] == [
        ("11/16", "0"), ("11/17", "4"), ("11/18", "2")]
    xs = [float(p.get("cx", "")) for p in points]
    ys = [float(p.get("cy", "")) for p in points]
    assert xs == sorted(xs)
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1])
    assert ys[0] - ys[1] == pytest.approx(2 * (ys[0] - ys[2]))  # 4 stands twice as high as 2 over the baseline
    line = next(svg.iter(f"{NS}polyline"))
    assert len(line.get("points", "").split()) == 3
    assert set(days) <= set(texts(svg))


def test_long_lines_print_only_each_series_highest_value() -> None:
    values = tuple(float(i % 5) for i in range(30))
    svg = parse(line_chart("c6", "t", "d", [f"d{i}" for i in range(30)], [Series("s", values, "#000")]))
    assert len(marks(svg, "circle", "point")) == 30
    assert [e.text for e in svg.iter(f"{NS}text") if e.get("class") == "value"] == ["4"]


@pytest.mark.parametrize("chart", [
    lambda: bar_chart("e", "Empty", "Nothing yet.", [], [], empty="No data"),
    lambda: stacked_bar_chart("e", "Empty", "Nothing yet.", [], [], empty="No data"),
    lambda: line_chart("e", "Empty", "Nothing yet.", [], [], empty="No data"),
])
def test_no_data_is_an_image_that_says_so(chart: object) -> None:
    svg = parse(chart())  # type: ignore[operator]
    assert svg.get("role") == "img"
    assert not marks(svg)
    assert "No data" in texts(svg)
    assert "No data" in (svg.find(f"{NS}desc").text or "")  # type: ignore[union-attr]


def test_values_must_fit_the_categories() -> None:
    with pytest.raises(ValueError, match="2 values for 3 categories"):
        bar_chart("x", "t", "d", ["a", "b", "c"], [1, 2])
    with pytest.raises(ValueError, match="not negative"):
        bar_chart("x", "t", "d", ["a"], [-1])


@pytest.fixture(scope="module")
def shipped() -> CompiledDesk:
    return load_compiled(SHIPPED)


def test_the_standard_workflow_is_laid_out_in_layers_from_new(shipped: CompiledDesk) -> None:
    standard = shipped.definitions.workflow("standard")
    assert standard is not None
    assert layers(standard) == [["new"], ["assigned"], ["in_progress"], ["waiting"], ["resolved", "cancelled"],
                                ["closed"]]
    first = workflow_diagram("w", standard, "en", title="Standard", desc="d", category_names={})
    assert first == workflow_diagram("w", standard, "en", title="Standard", desc="d", category_names={})


def test_a_diagram_has_a_box_per_state_coloured_by_category_and_an_arrow_per_source(shipped: CompiledDesk) -> None:
    standard = shipped.definitions.workflow("standard")
    assert standard is not None
    svg = parse(workflow_diagram("w", standard, "de", title="Standard", desc="d", category_names={"open": "offen"}))
    states = {g.get("data-state"): g for g in svg.iter(f"{NS}g") if g.get("class") == "state"}
    assert list(states) == [s.name for s in standard.states]
    assert states["new"].get("data-initial") == "true"
    fills = {name: g.find(f"{NS}rect").get("fill") for name, g in states.items()}  # type: ignore[union-attr]
    assert fills["new"] == fills["in_progress"] != fills["waiting"] != fills["resolved"] != fills["closed"]
    assert "".join(states["waiting"].itertext()) == "Wartet auf Anfragende"
    arrows = [g for g in svg.iter(f"{NS}g") if g.get("class") == "transition"]
    assert sorted((a.get("data-transition"), a.get("data-from")) for a in arrows) == sorted(
        (t.name, s) for t in standard.transitions for s in t.sources)
    timed = next(a for a in arrows if a.get("data-transition") == "auto_close")
    assert timed.find(f"{NS}path").get("stroke-dasharray")  # type: ignore[union-attr]


def test_wildcards_self_loops_and_unreachable_states_are_drawn() -> None:
    src = ir.Src("x.yaml", ())

    def state(name: str, category: str = "open") -> ir.State:
        return ir.State(name, category, (), src)

    def transition(name: str, sources: tuple[str, ...], target: str) -> ir.Transition:
        return ir.Transition(name, sources, target, (), (), (), (), (), src)

    workflow = ir.Workflow("odd", (), "a", (state("a"), state("b"), state("orphan"), state("z", "closed")), (
        transition("go", ("a",), "b"), transition("note", ("b",), "b"), transition("stop", ("*",), "z"),
        transition("back", ("b",), "a")), src)
    assert layers(workflow) == [["a"], ["b", "orphan"], ["z"]]
    svg = parse(workflow_diagram("o", workflow, "en", title="t", desc="d", category_names={}))
    arrows = sorted((g.get("data-transition"), g.get("data-from"), g.get("data-to")) for g in svg.iter(f"{NS}g")
                    if g.get("class") == "transition")
    assert arrows == [("back", "b", "a"), ("go", "a", "b"), ("note", "b", "b"), ("stop", "a", "z"),
                      ("stop", "b", "z"), ("stop", "orphan", "z")]

