"""One flow as server-side SVG, laid out in Python, so the workbench needs no JavaScript or CDN.

A layered (Sugiyama-style) layout, left to right:

1. cycles (a step enqueuing to a topic it subscribes to) are broken by turning round a few
   edges (a greedy feedback arc set); those edges are still drawn pointing back;
2. longest-path layers, with sources pulled right next to their nearest successor;
3. an edge spanning several layers gets a dummy vertex per layer crossed, so it runs between boxes;
4. barycenter sweeps reorder each layer to reduce crossings, keeping the best order seen;
5. each vertex goes as close to the mean height of its neighbours as the no-overlap constraint
   allows (an isotonic regression per layer), so boxes never overlap however the sweeps went.

Text is monospace, so boxes sized from character counts fit their text.
"""

from __future__ import annotations

import html
import itertools
import unicodedata
from collections import deque
from dataclasses import dataclass

from .graph import Badge, Edge, Flow, Node, plain

__all__ = ["render_svg"]

MARGIN = 16.0
LAYER_GAP = 64.0  # least horizontal space between two layers
NODE_GAP = 22.0  # vertical space between two boxes of a layer
DUMMY_GAP = 8.0  # ... when an edge passing through is involved
DUMMY_HEIGHT = 4.0
PORT_SPACING = 8.0  # between the ends of edges sharing a side of a box
SWEEPS = 6
PLACEMENT_PASSES = 4

# Character widths of the monospace fonts used (0.6 em), by font size.
NAME_CHAR, TOPIC_CHAR, SMALL_CHAR = 7.8, 7.2, 6.6
PAD_X, PAD_TOP, NAME_ROW, BADGE_ROW, BADGE_HEIGHT, PAD_BOTTOM = 10.0, 6.0, 18.0, 18.0, 15.0, 6.0
TOPIC_HEIGHT, LABEL_HEIGHT = 26.0, 15.0

STYLE = """
.motia-flow{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
.motia-flow .box{fill:var(--body-bg,#fff);stroke:var(--body-quiet-color,#666);stroke-width:1.2}
.motia-flow .topic .box{fill:var(--darkened-bg,#f6f6f6);stroke:#8e24aa}
.motia-flow .name{font-size:13px;font-weight:bold;fill:var(--body-fg,#222)}
.motia-flow .topic text{font-size:12px;fill:var(--body-fg,#222)}
.motia-flow .badge text{font-size:11px}
.motia-flow .badge.http rect{fill:#e3f2fd}.motia-flow .badge.http text{fill:#0d47a1}
.motia-flow .badge.queue rect{fill:#ede7f6}.motia-flow .badge.queue text{fill:#4527a0}
.motia-flow .badge.cron rect{fill:#fff3e0}.motia-flow .badge.cron text{fill:#bf360c}
.motia-flow .badge.state rect{fill:#e8f5e9}.motia-flow .badge.state text{fill:#1b5e20}
.motia-flow .badge.stream rect{fill:#e0f2f1}.motia-flow .badge.stream text{fill:#004d40}
.motia-flow .edge path{fill:none;stroke:var(--body-quiet-color,#777);stroke-width:1.4}
.motia-flow .edge.conditional path{stroke:#ef6c00}
.motia-flow .arrow{fill:var(--body-quiet-color,#777)}
.motia-flow .edge-label rect{fill:var(--body-bg,#fff);opacity:.9}
.motia-flow .edge-label text{font-size:11px;fill:var(--body-quiet-color,#555)}
.motia-flow .edge-label.conditional text{fill:#ef6c00}
"""


def _width(text: str, char: float) -> float:
    """Drawn width of ``text``: wide (East Asian) characters take two cells of a monospace font."""
    return char * sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class _Vertex:
    """A node of the flow, or a dummy (``node is None``) carrying a long edge through one layer."""

    __slots__ = ("node", "width", "height", "layer", "x", "y")

    def __init__(self, node: Node | None, width: float, height: float, layer: int = 0) -> None:
        self.node = node
        self.width = width
        self.height = height
        self.layer = layer
        self.x = 0.0  # left
        self.y = 0.0  # centre

    @classmethod
    def of(cls, node: Node) -> _Vertex:
        if node.kind == "topic":
            return cls(node, _width(plain(node.label), TOPIC_CHAR) + TOPIC_HEIGHT, TOPIC_HEIGHT)  # round ends
        widths = [_width(plain(node.label), NAME_CHAR), *(_width(plain(b.text), SMALL_CHAR) + 12 for b in node.badges)]
        height = PAD_TOP + NAME_ROW + BADGE_ROW * len(node.badges) + PAD_BOTTOM
        return cls(node, max(widths) + 2 * PAD_X, height)


@dataclass
class _Route:
    """Where one edge runs: its vertices in layer order, and the height it crosses each at."""

    edge: Edge
    chain: list[int]
    back: bool
    ys: list[float]


class _Layout:
    def __init__(self, flow: Flow) -> None:
        index = {node.id: i for i, node in enumerate(flow.nodes)}
        self.vertices = [_Vertex.of(node) for node in flow.nodes]
        pairs = [(index[e.source], index[e.target]) for e in flow.edges]
        back = _back_edges(len(self.vertices), pairs)
        dag = [(t, s) if i in back else (s, t) for i, (s, t) in enumerate(pairs)]
        for vertex, layer in zip(self.vertices, _layers(len(self.vertices), dag), strict=True):
            vertex.layer = layer
        self.routes = [_Route(edge, self._chain(a, b), i in back, []) for i, (edge, (a, b)) in
                       enumerate(zip(flow.edges, dag, strict=True))]
        count = max((v.layer for v in self.vertices), default=0) + 1
        self.up: list[list[int]] = [[] for _ in self.vertices]
        self.down: list[list[int]] = [[] for _ in self.vertices]
        for route in self.routes:
            for a, b in itertools.pairwise(route.chain):
                self.down[a].append(b)
                self.up[b].append(a)
        self.layers: list[list[int]] = [[] for _ in range(count)]
        for i, vertex in enumerate(self.vertices):
            self.layers[vertex.layer].append(i)
        self.pos = [0] * len(self.vertices)
        self._order()
        self._place_x()
        self._place_y()
        self._route()

    def _chain(self, a: int, b: int) -> list[int]:
        chain = [a]
        for layer in range(self.vertices[a].layer + 1, self.vertices[b].layer):
            self.vertices.append(_Vertex(None, 0.0, DUMMY_HEIGHT, layer))
            chain.append(len(self.vertices) - 1)
        return [*chain, b]

    # -- order within layers ------------------------------------------------------------------
    def _number(self) -> None:
        for layer in self.layers:
            for i, v in enumerate(layer):
                self.pos[v] = i

    def _order(self) -> None:
        self._number()
        best, fewest = [list(layer) for layer in self.layers], self._crossings()
        for _ in range(SWEEPS):
            if fewest == 0:
                break
            for layer in self.layers[1:]:
                self._sort(layer, self.up)
            for layer in reversed(self.layers[:-1]):
                self._sort(layer, self.down)
            crossings = self._crossings()
            if crossings < fewest:
                best, fewest = [list(layer) for layer in self.layers], crossings
        self.layers = best
        self._number()

    def _sort(self, layer: list[int], neighbours: list[list[int]]) -> None:
        """Barycenter ordering; a vertex with no neighbours on that side keeps its place."""
        pos = self.pos

        def key(v: int) -> float:
            around = neighbours[v]
            return sum(pos[u] for u in around) / len(around) if around else pos[v]

        layer.sort(key=key)
        for i, v in enumerate(layer):
            pos[v] = i

    def _crossings(self) -> int:
        total = 0
        for layer, following in itertools.pairwise(self.layers):
            ends = sorted((self.pos[a], self.pos[b]) for a in layer for b in self.down[a])
            total += _inversions([b for _, b in ends], len(following))
        return total

    # -- coordinates --------------------------------------------------------------------------
    def _place_x(self) -> None:
        widths = [max((self.vertices[v].width for v in layer), default=0.0) for layer in self.layers]
        gaps = [LAYER_GAP] * len(self.layers)
        for route in self.routes:
            if route.edge.text:
                layer = self.vertices[route.chain[(len(route.chain) - 2) // 2]].layer
                gaps[layer] = max(gaps[layer], _width(plain(route.edge.text), SMALL_CHAR) + 48)
        self.left: list[float] = []
        x = MARGIN
        for width, gap in zip(widths, gaps, strict=True):
            self.left.append(x)
            x += width + gap
        self.right = [left + width for left, width in zip(self.left, widths, strict=True)]
        self.width = self.right[-1] + MARGIN if self.right else 2 * MARGIN
        for vertex in self.vertices:
            vertex.x = (self.left[vertex.layer] + self.right[vertex.layer] - vertex.width) / 2

    def _place_y(self) -> None:
        for layer in self.layers:
            self._fit(layer, [0.0] * len(layer))
        for _ in range(PLACEMENT_PASSES):
            for layer in self.layers[1:]:
                self._fit(layer, self._targets(layer, self.up))
            for layer in reversed(self.layers[:-1]):
                self._fit(layer, self._targets(layer, self.down))
        both = [[*u, *d] for u, d in zip(self.up, self.down, strict=True)]
        for layer in self.layers:
            self._fit(layer, self._targets(layer, both))
        top = min((v.y - v.height / 2 for v in self.vertices), default=0.0)
        for vertex in self.vertices:
            vertex.y += MARGIN - top
        self.height = max((v.y + v.height / 2 for v in self.vertices), default=0.0) + MARGIN

    def _targets(self, layer: list[int], neighbours: list[list[int]]) -> list[float]:
        vs = self.vertices
        return [
            sum(vs[u].y for u in neighbours[v]) / len(neighbours[v]) if neighbours[v] else vs[v].y for v in layer
        ]

    def _fit(self, layer: list[int], targets: list[float]) -> None:
        """Centres closest (least squares) to ``targets`` keeping the order and the gaps: pool adjacent violators."""
        vs = self.vertices
        offsets = [0.0]
        for a, b in itertools.pairwise(layer):
            gap = NODE_GAP if vs[a].node and vs[b].node else DUMMY_GAP
            offsets.append(offsets[-1] + (vs[a].height + vs[b].height) / 2 + gap)
        blocks: list[list[float]] = []  # [mean, size]
        for target, offset in zip(targets, offsets, strict=True):
            blocks.append([target - offset, 1.0])
            while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
                mean, size = blocks.pop()
                blocks[-1] = [(blocks[-1][0] * blocks[-1][1] + mean * size) / (blocks[-1][1] + size),
                              blocks[-1][1] + size]
        i = 0
        for mean, size in blocks:
            for _ in range(int(size)):
                vs[layer[i]].y = mean + offsets[i]
                i += 1

    # -- edges --------------------------------------------------------------------------------
    def _route(self) -> None:
        """Spread the ends of edges along the side of each box, ordered by where the other end is."""
        vs = self.vertices
        sides: dict[tuple[int, str], list[tuple[float, int, _Route]]] = {}
        for n, route in enumerate(self.routes):
            route.ys = [vs[v].y for v in route.chain]
            sides.setdefault((route.chain[0], "right"), []).append((vs[route.chain[1]].y, n, route))
            sides.setdefault((route.chain[-1], "left"), []).append((vs[route.chain[-2]].y, n, route))
        for (v, side), ends in sides.items():
            ends.sort(key=lambda end: end[:2])
            spacing = min(PORT_SPACING, (vs[v].height - 8) / (len(ends) - 1)) if len(ends) > 1 else 0.0
            for j, (_, _, route) in enumerate(ends):
                route.ys[0 if side == "right" else -1] = vs[v].y + (j - (len(ends) - 1) / 2) * spacing

    def path(self, route: _Route) -> str:
        """Straight across each layer, a horizontal-tangent curve between layers."""
        vs = self.vertices
        points: list[tuple[float, float]] = []
        for k, (v, y) in enumerate(zip(route.chain, route.ys, strict=True)):
            vertex = vs[v]
            if k:
                points.append((vertex.x if vertex.node else self.left[vertex.layer], y))
            if k < len(route.chain) - 1:
                points.append((vertex.x + vertex.width if vertex.node else self.right[vertex.layer], y))
        if route.back:
            points.reverse()
        commands = [f"M{_n(points[0][0])},{_n(points[0][1])}"]
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            if y0 == y1:
                commands.append(f"H{_n(x1)}")
            else:
                mid = (x0 + x1) / 2
                commands.append(f"C{_n(mid)},{_n(y0)} {_n(mid)},{_n(y1)} {_n(x1)},{_n(y1)}")
        return "".join(commands)

    def label_centre(self, route: _Route) -> tuple[float, float]:
        """Middle of the gap the middle segment of the edge crosses (where ``_place_x`` made room)."""
        k = (len(route.chain) - 2) // 2
        layer = self.vertices[route.chain[k]].layer
        return (self.right[layer] + self.left[layer + 1]) / 2, (route.ys[k] + route.ys[k + 1]) / 2


def _back_edges(count: int, pairs: list[tuple[int, int]]) -> set[int]:
    """Edges to turn round so that the rest is acyclic, few of them (Eades, Lin and Smyth's greedy order).

    Vertices are ordered sinks last, sources first, otherwise the one with most more outgoing
    than incoming edges first; the edges pointing backwards in that order close the cycles.
    """
    outs: list[set[int]] = [set() for _ in range(count)]
    ins: list[set[int]] = [set() for _ in range(count)]
    for s, t in pairs:
        outs[s].add(t)
        ins[t].add(s)
    alive = dict.fromkeys(range(count))
    first: list[int] = []
    last: list[int] = []

    def remove(v: int) -> None:
        del alive[v]
        for w in outs[v]:
            ins[w].discard(v)
        for u in ins[v]:
            outs[u].discard(v)

    while alive:
        removed = True
        while removed:
            removed = False
            for v in list(alive):
                if v in alive and (not outs[v] or not ins[v]):
                    (last if not outs[v] else first).append(v)
                    remove(v)
                    removed = True
        if alive:
            v = max(alive, key=lambda v: len(outs[v]) - len(ins[v]))
            first.append(v)
            remove(v)
    rank = {v: i for i, v in enumerate([*first, *reversed(last)])}
    return {i for i, (s, t) in enumerate(pairs) if rank[s] > rank[t]}


def _layers(count: int, dag: list[tuple[int, int]]) -> list[int]:
    """Longest-path layers; a source then moves right to just before its nearest successor."""
    succ: list[list[int]] = [[] for _ in range(count)]
    indegree = [0] * count
    for a, b in dag:
        succ[a].append(b)
        indegree[b] += 1
    sources = {v for v in range(count) if indegree[v] == 0}
    queue = deque(sorted(sources))
    layer, order = [0] * count, []
    while queue:
        v = queue.popleft()
        order.append(v)
        for w in succ[v]:
            layer[w] = max(layer[w], layer[v] + 1)
            indegree[w] -= 1
            if indegree[w] == 0:
                queue.append(w)
    for v in reversed(order):
        if v in sources and succ[v]:
            layer[v] = min(layer[w] for w in succ[v]) - 1
    return layer


def _inversions(values: list[int], size: int) -> int:
    """Pairs out of order (edge crossings between two layers), with a Fenwick tree."""
    tree = [0] * (size + 1)
    total = 0
    for seen, value in enumerate(values):
        i, not_above = value + 1, 0
        while i > 0:
            not_above += tree[i]
            i -= i & -i
        total += seen - not_above
        i = value + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    return total


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _e(text: str) -> str:
    return html.escape(plain(text))


def render_svg(flow: Flow, id_prefix: str = "motia-flow") -> str:
    """The flow as an ``<svg>`` element; ``id_prefix`` keeps ids unique when several are inlined in one page."""
    layout = _Layout(flow)
    arrow = f"{_e(id_prefix)}-arrow"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="motia-flow" data-flow="{_e(flow.name)}" '
        f'width="{_n(layout.width)}" height="{_n(layout.height)}" '
        f'viewBox="0 0 {_n(layout.width)} {_n(layout.height)}" role="img">',
        f"<title>Flow {_e(flow.name)}</title>",
        f"<style>{STYLE}</style>",
        f'<defs><marker id="{arrow}" class="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto"><path d="M0,0L10,5L0,10z"/></marker></defs>',
        '<g class="edges">',
    ]
    for route in layout.routes:
        out.append(_edge(route, layout.path(route), arrow))
    out.append('</g><g class="edge-labels">')
    for route in layout.routes:
        if route.edge.text:
            out.append(_label(route, *layout.label_centre(route)))
    out.append('</g><g class="nodes">')
    for vertex in layout.vertices:
        if vertex.node is not None:
            out.append(_node(vertex, vertex.node))
    out.append("</g></svg>")
    return "\n".join(out)


def _classes(edge: Edge, *extra: str) -> str:
    return " ".join([*extra, *(["virtual"] if edge.virtual else []), *(["conditional"] if edge.conditional else [])])


def _edge(route: _Route, path: str, arrow: str) -> str:
    edge = route.edge
    classes = _classes(edge, "edge", *(["back"] if route.back else []))
    dash = ' stroke-dasharray="6 4"' if edge.virtual else ""
    title = f"{edge.source} → {edge.target}" + (" (virtual)" if edge.virtual else "")
    return (
        f'<g class="{classes}" data-edge="{_e(edge.id)}" data-source="{_e(edge.source)}" '
        f'data-target="{_e(edge.target)}"><title>{_e(title)}</title>'
        f'<path d="{path}"{dash} marker-end="url(#{arrow})"/></g>'
    )


def _label(route: _Route, x: float, y: float) -> str:
    text = route.edge.text or ""
    width = _width(plain(text), SMALL_CHAR) + 8
    return (
        f'<g class="{_classes(route.edge, "edge-label")}" data-edge="{_e(route.edge.id)}">'
        f'<rect x="{_n(x - width / 2)}" y="{_n(y - LABEL_HEIGHT / 2)}" width="{_n(width)}" '
        f'height="{_n(LABEL_HEIGHT)}" rx="3"/>'
        f'<text x="{_n(x)}" y="{_n(y + 4)}" text-anchor="middle">{_e(text)}</text></g>'
    )


def _node(vertex: _Vertex, node: Node) -> str:
    x, top, width, height = vertex.x, vertex.y - vertex.height / 2, vertex.width, vertex.height
    centre = x + width / 2
    title = node.label + (f" — {node.description}" if node.description else "")
    rx = height / 2 if node.kind == "topic" else 6.0
    parts = [
        f'<g class="node {node.kind}" data-node="{_e(node.id)}"><title>{_e(title)}</title>',
        f'<rect class="box" x="{_n(x)}" y="{_n(top)}" width="{_n(width)}" height="{_n(height)}" rx="{_n(rx)}"/>',
    ]
    if node.kind == "topic":
        parts.append(f'<text x="{_n(centre)}" y="{_n(top + 17)}" text-anchor="middle">{_e(node.label)}</text>')
    else:
        parts.append(
            f'<text class="name" x="{_n(centre)}" y="{_n(top + PAD_TOP + 13)}" text-anchor="middle">'
            f"{_e(node.label)}</text>"
        )
        for j, badge in enumerate(node.badges):
            parts.append(_badge(badge, centre, top + PAD_TOP + NAME_ROW + j * BADGE_ROW))
    parts.append("</g>")
    return "".join(parts)


def _badge(badge: Badge, centre: float, top: float) -> str:
    width = _width(plain(badge.text), SMALL_CHAR) + 12
    return (
        f'<g class="badge {_e(badge.kind)}"><rect x="{_n(centre - width / 2)}" y="{_n(top)}" width="{_n(width)}" '
        f'height="{_n(BADGE_HEIGHT)}" rx="7"/>'
        f'<text x="{_n(centre)}" y="{_n(top + 11)}" text-anchor="middle">{_e(badge.text)}</text></g>'
    )
