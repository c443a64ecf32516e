"""A workflow drawn as a state diagram in SVG: states as boxes coloured by status category, transitions as
labelled arrows, laid out in layers from the initial state down.

The layout is the classic layered one, made deterministic (the same definitions always give the same picture):
arrows that lead back to a state already on the way (reopen, resume) are turned round for the layout only; every
state sits one layer below its furthest predecessor; an arrow crossing several layers gets a waypoint in each,
and every arrow's label is a waypoint of its own in the gap between two layers, so that labels take room and never
overlap a box or another label. Layers are then ordered by the mean position of their neighbours (a few sweeps
down and up, ties broken by the order the YAML declares things) and pulled towards their neighbours' positions.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape

from markupsafe import Markup

from runtime.config import ir

CHAR = 6.6  # width of a 12px character, near enough to lay text out without font metrics
LABEL_CHAR = 6.1  # at 11px
BOX_HEIGHT = 34
LABEL_HEIGHT = 16
RANK_GAP = 18
GAP = 14  # between neighbours in a layer
WAYPOINT = 8  # the width an arrow passing through a layer takes
SWEEPS = 4
MARGIN = 16
LEGEND = 30
# Fill and border of a box per status category; the text is dark on every fill (contrast above 12:1).
CATEGORY_COLOURS = {"open": ("#e8f0fe", "#0b57d0"), "paused": ("#fff4e0", "#8a5a00"),
                    "resolved": ("#e6f4ea", "#1e6b34"), "closed": ("#eeeeee", "#555555")}


@dataclass(frozen=True)
class Edge:
    """One arrow: a transition from one of its sources."""

    transition: ir.Transition
    source: str
    target: str


@dataclass
class Layout:
    """Where everything goes: each node's rank (states on even ranks) and centre x, each rank's top y, and per
    arrow the chain of nodes it runs through from its upper end to its lower end."""

    rank: dict[str, int] = field(default_factory=dict)
    width: dict[str, float] = field(default_factory=dict)
    rows: list[list[str]] = field(default_factory=list)
    x: dict[str, float] = field(default_factory=dict)
    chains: list[tuple[Edge, list[str], str, bool]] = field(default_factory=list)  # edge, chain, label, upward


def edges_of(workflow: ir.Workflow) -> list[Edge]:
    """Every (transition, source) pair as an arrow; ``*`` stands for every other state."""
    names = [s.name for s in workflow.states]
    found = []
    for transition in workflow.transitions:
        sources = [n for n in names if n != transition.target] if "*" in transition.sources \
            else list(transition.sources)
        found += [Edge(transition, source, transition.target) for source in sources if source in names]
    return found


def layers(workflow: ir.Workflow) -> list[list[str]]:
    """The states by layer, each layer in its drawn order from left to right."""
    layout = lay_out(workflow, "en")
    return [[n for n in row if n in layout.rank and not n.startswith("\0")] for row in layout.rows[::2]]


def lay_out(workflow: ir.Workflow, language: str) -> Layout:
    names = [s.name for s in workflow.states]
    labels = {s.name: ir.label_for(s.label, language, s.name) for s in workflow.states}
    box = max(96.0, min(220.0, max(len(text) for text in labels.values()) * CHAR + 24))
    edges = [e for e in edges_of(workflow) if e.source != e.target]
    depth = _depths(workflow, names, edges)
    layout = Layout()
    for name in names:
        layout.rank[name], layout.width[name] = 2 * depth[name], box
    up: defaultdict[str, list[str]] = defaultdict(list)
    for index, edge in enumerate(edges):
        upward = depth[edge.target] <= depth[edge.source]
        top, bottom = (edge.target, edge.source) if upward else (edge.source, edge.target)
        start, end = layout.rank[top], layout.rank[bottom]
        # Layers strictly increase along forward arrows and an arrow back leads to a state above (_depths), so
        # every arrow spans at least one gap, and its label goes in the middle gap (the upper one of two).
        assert end > start, edge
        middle = start + 1 + 2 * (((end - start) // 2 - 1) // 2)
        text = ir.label_for(edge.transition.label, language, edge.transition.name)
        chain = [top]
        for rank in range(start + 1, end):
            node = f"\0{index}:{rank}"
            layout.rank[node] = rank
            layout.width[node] = len(text) * LABEL_CHAR + 10 if rank == middle else WAYPOINT
            chain.append(node)
        chain.append(bottom)
        label = chain[middle - start]
        layout.chains.append((edge, chain, label, upward))
        for upper, lower in itertools.pairwise(chain):
            up[lower].append(upper)
    rows: list[list[str]] = [[] for _ in range(max(layout.rank.values()) + 1)]
    for node in layout.rank:  # states first, in declaration order, then waypoints in arrow order
        rows[layout.rank[node]].append(node)
    down: defaultdict[str, list[str]] = defaultdict(list)
    for lower, uppers in up.items():
        for upper in uppers:
            down[upper].append(lower)
    layout.rows = _order(rows, up, down)
    layout.x = _place(layout.rows, layout.width, up, down)
    return layout


def workflow_diagram(diagram_id: str, workflow: ir.Workflow, language: str, *, title: str, desc: str,
                     category_names: Mapping[str, str]) -> Markup:
    """The diagram as SVG markup, ``role="img"`` with ``title`` and ``desc``; each state is a ``g.state`` and
    each arrow a ``g.transition``, with ``data-*`` attributes naming them."""
    layout = lay_out(workflow, language)
    tops, y = [], float(LEGEND + 30)
    for rank in range(len(layout.rows)):
        tops.append(y)
        y += (BOX_HEIGHT if rank % 2 == 0 else LABEL_HEIGHT) + RANK_GAP
    left = min(layout.x[n] - layout.width[n] / 2 for n in layout.x)
    right = max(layout.x[n] + layout.width[n] / 2 for n in layout.x)
    shift = MARGIN - left
    layout.x = {n: x + shift for n, x in layout.x.items()}
    width, height = max(right - left + 2 * MARGIN, 320), y - RANK_GAP + MARGIN
    ident = escape(diagram_id)
    parts = [f'<defs><marker id="{ident}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
             f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>']
    parts += _legend(workflow, category_names)
    parts += _arrows(layout, tops, language, ident)
    parts += _boxes(workflow, layout, tops, language, ident)
    parts += _loops(workflow, layout, tops, language, ident)
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" id="{ident}" role="img" '
                  f'aria-labelledby="{ident}-title {ident}-desc" viewBox="0 0 {_n(width)} {_n(height)}" '
                  f'width="{_n(width)}" height="{_n(height)}" font-size="12">'
                  f'<title id="{ident}-title">{escape(title)}</title><desc id="{ident}-desc">{escape(desc)}</desc>'
                  + "".join(parts) + "</svg>")


def _depths(workflow: ir.Workflow, names: list[str], edges: list[Edge]) -> dict[str, int]:
    """Each state's layer: the longest path to it from the initial state once the arrows back (found by a
    depth-first walk from the initial state, then from any state it missed) are set aside."""
    out: dict[str, list[str]] = {name: [] for name in names}
    for edge in edges:
        if edge.target not in out[edge.source]:
            out[edge.source].append(edge.target)
    forward: list[tuple[str, str]] = []
    done: set[str] = set()
    for root in [workflow.initial, *names]:
        if root in done:
            continue
        # Iterative, so that how deep a workflow may be does not depend on Python's recursion limit.
        on_path, stack = {root}, [(root, iter(out[root]))]
        done.add(root)
        while stack:
            node, pending = stack[-1]
            target = next(pending, None)
            if target is None:
                stack.pop()
                on_path.discard(node)
            elif target not in on_path:
                forward.append((node, target))
                if target not in done:
                    done.add(target)
                    on_path.add(target)
                    stack.append((target, iter(out[target])))
    # Every state but the first starts on the second layer at least: one no arrow reaches goes below the start.
    depth = {name: 0 if name == workflow.initial else 1 for name in names}
    for _ in names:  # relax along the forward arrows; they form no cycle, so len(names) rounds suffice
        for source, target in forward:
            if target != workflow.initial:
                depth[target] = max(depth[target], depth[source] + 1)
    return depth


def _order(rows: list[list[str]], up: Mapping[str, list[str]], down: Mapping[str, list[str]]) -> list[list[str]]:
    """Sweeps down and up, sorting each layer by the mean position of its neighbours in the layer before; a
    node without neighbours there keeps its place."""
    rows = [list(row) for row in rows]
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        indexes = range(1, len(rows)) if downward else range(len(rows) - 2, -1, -1)
        for r in indexes:
            fixed = {n: i for i, n in enumerate(rows[r - 1 if downward else r + 1])}
            neighbours = up if downward else down

            def key(item: tuple[int, str], fixed: dict[str, int] = fixed,
                    neighbours: Mapping[str, list[str]] = neighbours) -> tuple[float, int]:
                place, node = item
                near = [fixed[n] for n in neighbours.get(node, ()) if n in fixed]
                return (sum(near) / len(near) if near else float(place), place)

            rows[r] = [node for _, node in sorted(enumerate(rows[r]), key=key)]
    return rows


def _place(rows: list[list[str]], width: Mapping[str, float], up: Mapping[str, list[str]],
           down: Mapping[str, list[str]]) -> dict[str, float]:
    """Centre x of every node: packed left to right, then pulled towards the mean x of its neighbours, layer by
    layer, keeping the order and the gaps."""
    x: dict[str, float] = {}
    for row in rows:
        x |= _pack(row, width, [0.0] * len(row))
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        neighbours = up if downward else down
        for row in rows if downward else rows[::-1]:
            wanted = []
            for node in row:
                near = [x[n] for n in neighbours.get(node, ())]
                wanted.append(sum(near) / len(near) if near else x[node])
            x |= _pack(row, width, wanted)
    return x


def _pack(row: list[str], width: Mapping[str, float], wanted: list[float]) -> dict[str, float]:
    """Positions as near ``wanted`` as the order and the gaps allow: left to right at the least distance, then
    the whole layer shifted by the mean of what each node still lacks."""
    placed: list[float] = []
    for i, node in enumerate(row):
        least = placed[-1] + (width[row[i - 1]] + width[node]) / 2 + GAP if placed else wanted[i]
        placed.append(max(wanted[i], least))
    shift = sum(w - p for w, p in zip(wanted, placed, strict=True)) / len(row) if row else 0.0
    return {node: p + shift for node, p in zip(row, placed, strict=True)}


def _legend(workflow: ir.Workflow, names: Mapping[str, str]) -> list[str]:
    used = [c for c in CATEGORY_COLOURS if any(s.category == c for s in workflow.states)]
    parts, x = [], float(MARGIN)
    for category in used:
        fill, stroke = CATEGORY_COLOURS[category]
        text = names.get(category, category)
        parts.append(f'<g class="legend" data-category="{category}"><rect x="{_n(x)}" y="8" width="14" height="14" '
                     f'rx="3" fill="{fill}" stroke="{stroke}"/><text x="{_n(x + 20)}" y="15" dy=".35em">'
                     f"{escape(text)}</text></g>")
        x += 20 + len(text) * CHAR + 18
    return parts


def _boxes(workflow: ir.Workflow, layout: Layout, tops: list[float], language: str, ident: str) -> list[str]:
    parts = []
    for state in workflow.states:
        x, y, half = layout.x[state.name], tops[layout.rank[state.name]], layout.width[state.name] / 2
        fill, stroke = CATEGORY_COLOURS.get(state.category, CATEGORY_COLOURS["closed"])
        initial = state.name == workflow.initial
        start, marker = "", ' data-initial="true"' if initial else ""
        if initial:  # a dot with an arrow into the first state, as state charts mark it
            start = (f'<circle cx="{_n(x)}" cy="{_n(y - 24)}" r="5" fill="#333"/><line x1="{_n(x)}" '
                     f'y1="{_n(y - 19)}" x2="{_n(x)}" y2="{_n(y)}" stroke="#333" marker-end="url(#{ident}-arrow)"/>')
        parts.append(f'<g class="state" data-state="{escape(state.name)}" data-category="{escape(state.category)}"'
                     f'{marker}>{start}<rect x="{_n(x - half)}" y="{_n(y)}" width="{_n(2 * half)}" '
                     f'height="{BOX_HEIGHT}" rx="6" fill="{fill}" stroke="{stroke}" '
                     f'stroke-width="{3 if initial else 1.5}"/><text x="{_n(x)}" y="{_n(y + BOX_HEIGHT / 2)}" '
                     f'dy=".35em" text-anchor="middle" fill="#1b1b1b">'
                     f"{escape(ir.label_for(state.label, language, state.name))}</text></g>")
    return parts


def _arrows(layout: Layout, tops: list[float], language: str, ident: str) -> list[str]:
    # Arrows leaving (or reaching) one side of a box spread along it, in the order of where they go.
    ends: defaultdict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    for index, (_, chain, _, _) in enumerate(layout.chains):
        ends[(chain[0], "bottom")].append((layout.x[chain[1]], index))
        ends[(chain[-1], "top")].append((layout.x[chain[-2]], index))
    anchor: dict[tuple[int, str], float] = {}
    for (node, side), found in ends.items():
        found.sort()
        step = min(18.0, (layout.width[node] - 20) / max(1, len(found) - 1))
        for i, (_, index) in enumerate(found):
            anchor[(index, side)] = layout.x[node] + (i - (len(found) - 1) / 2) * step
    parts = []
    for index, (edge, chain, label, upward) in enumerate(layout.chains):
        top_rank, bottom_rank = layout.rank[chain[0]], layout.rank[chain[-1]]
        points = [(anchor[(index, "bottom")], tops[top_rank] + BOX_HEIGHT)]
        for node in chain[1:-1]:
            x, top = layout.x[node], tops[layout.rank[node]]
            # Straight down past the boxes of a layer of states, so that a curve never cuts a box's corner.
            points += [(x, top + LABEL_HEIGHT / 2)] if layout.rank[node] % 2 else [(x, top), (x, top + BOX_HEIGHT)]
        points.append((anchor[(index, "top")], tops[bottom_rank]))
        if upward:
            points.reverse()
        path = f"M{_n(points[0][0])},{_n(points[0][1])}"
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            middle = (y0 + y1) / 2
            path += f" C{_n(x0)},{_n(middle)} {_n(x1)},{_n(middle)} {_n(x1)},{_n(y1)}"
        transition = edge.transition
        text = ir.label_for(transition.label, language, transition.name)
        label_rank = layout.rank[label]
        lx, ly = layout.x[label], tops[label_rank] + (LABEL_HEIGHT if label_rank % 2 else BOX_HEIGHT) / 2
        dashed = ' stroke-dasharray="5 4"' if transition.after is not None else ""
        parts.append(f'<g class="transition" data-transition="{escape(transition.name)}" '
                     f'data-from="{escape(edge.source)}" data-to="{escape(edge.target)}">'
                     f'<path d="{path}" fill="none" stroke="#333" stroke-width="1.3"{dashed} '
                     f'marker-end="url(#{ident}-arrow)"/>'
                     f'<text x="{_n(lx)}" y="{_n(ly)}" dy=".35em" text-anchor="middle" stroke="#fff" '
                     f'stroke-width="4" paint-order="stroke" fill="#1b1b1b" font-size="11" class="edge">'
                     f"{escape(text)}</text>"
                     "</g>")
    return parts


def _loops(workflow: ir.Workflow, layout: Layout, tops: list[float], language: str, ident: str) -> list[str]:
    """Transitions that leave a state in place (a note, a field update), as a loop on the box's right."""
    parts = []
    for edge in edges_of(workflow):
        if edge.source != edge.target:
            continue
        x = layout.x[edge.source] + layout.width[edge.source] / 2
        y = tops[layout.rank[edge.source]]
        text = ir.label_for(edge.transition.label, language, edge.transition.name)
        parts.append(f'<g class="transition" data-transition="{escape(edge.transition.name)}" '
                     f'data-from="{escape(edge.source)}" data-to="{escape(edge.target)}">'
                     f'<path d="M{_n(x)},{_n(y + 8)} C{_n(x + 36)},{_n(y - 10)} {_n(x + 36)},{_n(y + 44)} '
                     f'{_n(x)},{_n(y + 26)}" fill="none" stroke="#333" stroke-width="1.3" '
                     f'marker-end="url(#{ident}-arrow)"/><text x="{_n(x + 40)}" y="{_n(y + BOX_HEIGHT / 2)}" '
                     f'dy=".35em" font-size="11" class="edge">{escape(text)}</text></g>')
    return parts


def _n(number: float) -> str:
    return f"{round(number, 1):g}"
