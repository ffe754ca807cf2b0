"""The flow graph: per flow, its steps and the topics between them, built from the registry.

One model feeds the workbench's SVG and ``motia_discover --graph`` (Mermaid, DOT),
so the picture and the text always agree.  Pure Python: no Django needed.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ..registry import Registry
from ..steps.definition import StepDefinition
from ..steps.triggers import ApiTrigger, CronTrigger, EventTrigger, QueueTrigger, StreamTrigger, Trigger

__all__ = [
    "UNGROUPED", "Badge", "Edge", "Flow", "FlowGraph", "Node", "build_graph", "plain", "to_dot", "to_mermaid",
    "trigger_badge",
]

#: The flow of steps that name none.
UNGROUPED = "ungrouped"

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\s]+")


def plain(text: str) -> str:
    """One line of printable text: control characters (invalid in XML, breaking in Mermaid/DOT) become spaces."""
    return _UNPRINTABLE.sub(" ", text)


@dataclass(frozen=True)
class Badge:
    """What triggers a step, as shown on its node: ``kind`` picks the colour, ``text`` is e.g. ``GET /todos``."""

    kind: str
    text: str


@dataclass(frozen=True)
class Node:
    """A step (``step:<name>``) or a topic (``topic:<topic>``)."""

    id: str
    kind: str
    label: str
    badges: tuple[Badge, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class Edge:
    """Step to topic (an enqueue) or topic to step (a subscription); virtual ones are only declared."""

    source: str
    target: str
    label: str | None = None
    virtual: bool = False
    conditional: bool = False

    @property
    def id(self) -> str:
        return f"{self.source}->{self.target}"

    @property
    def text(self) -> str | None:
        """What is written on the edge: its label, and "conditional" for conditional enqueues."""
        if self.conditional:
            return f"{self.label} (conditional)" if self.label else "conditional"
        return self.label


@dataclass(frozen=True)
class Flow:
    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    @property
    def steps(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "step"]

    @property
    def topics(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "topic"]


@dataclass(frozen=True)
class FlowGraph:
    """Every flow, by name, with the ungrouped steps last; a step in several flows appears in each."""

    flows: tuple[Flow, ...]

    def flow(self, name: str) -> Flow | None:
        return next((f for f in self.flows if f.name == name), None)


def build_graph(registry: Registry) -> FlowGraph:
    members: dict[str, list[StepDefinition]] = {}
    for step in registry.steps.values():
        for name in dict.fromkeys(step.config.flows) or (UNGROUPED,):
            members.setdefault(name, []).append(step)
    names = sorted(n for n in members if n != UNGROUPED) + [n for n in members if n == UNGROUPED]
    return FlowGraph(tuple(_flow(name, members[name]) for name in names))


def trigger_badge(trigger: Trigger) -> Badge:
    """The badge of one trigger; `` (if)`` marks a trigger with a condition, as ``motia_discover`` does."""
    if isinstance(trigger, ApiTrigger):
        text = f"{trigger.method} {trigger.path}"
    elif isinstance(trigger, QueueTrigger | EventTrigger):
        text = "queue " + ", ".join(trigger.topics)
    elif isinstance(trigger, CronTrigger):
        text = f"cron {trigger.expression}"
    elif isinstance(trigger, StreamTrigger):
        text = f"stream {trigger.stream_name}"
    else:
        text = "state"
    return Badge(str(trigger.kind), text + (" (if)" if trigger.condition is not None else ""))


def _flow(name: str, steps: list[StepDefinition]) -> Flow:
    nodes: dict[str, Node] = {}
    edges: dict[tuple[str, str], Edge] = {}

    def topic(value: str) -> str:
        node_id = f"topic:{value}"
        nodes.setdefault(node_id, Node(node_id, "topic", value))
        return node_id

    def add(edge: Edge) -> None:
        """One edge per pair of nodes: a real edge wins over a virtual one declared alongside it."""
        known = edges.get((edge.source, edge.target))
        if known is None or (known.virtual and not edge.virtual):
            edges[(edge.source, edge.target)] = edge

    for step in steps:
        config = step.config
        nodes[f"step:{step.name}"] = Node(
            f"step:{step.name}", "step", step.name, tuple(trigger_badge(t) for t in config.triggers), config.description
        )
    for step in steps:
        config, step_id = step.config, f"step:{step.name}"
        for virtual, enqueues in ((False, config.enqueues), (True, config.virtual_enqueues)):
            for enqueue in enqueues:
                add(Edge(step_id, topic(enqueue.topic), enqueue.label, virtual, enqueue.conditional))
        for trigger in config.triggers:
            if isinstance(trigger, QueueTrigger | EventTrigger):
                for value in trigger.topics:
                    add(Edge(topic(value), step_id))
        for value in config.virtual_subscribes:
            add(Edge(topic(value), step_id, virtual=True))
    return Flow(name, tuple(nodes.values()), tuple(edges.values()))


# -- text formats --------------------------------------------------------------------------------

_MERMAID_ESCAPES = {c: f"#{ord(c)};" for c in '"#&<>|`\\'}


def _mermaid(text: str) -> str:
    """Mermaid's entity codes (``#34;``) for what could end a quoted label or be read as HTML, markdown or an escape."""
    return "".join(_MERMAID_ESCAPES.get(c, c) for c in plain(text))


def to_mermaid(graph: FlowGraph) -> str:
    """A Mermaid flowchart, one subgraph per flow; topics are stadiums, virtual edges dotted."""
    lines = ["flowchart LR"]
    topics: list[str] = []
    for f, flow in enumerate(graph.flows):
        ids = {node.id: f"f{f}n{i}" for i, node in enumerate(flow.nodes)}
        lines += [f'  subgraph f{f}["{_mermaid(flow.name)}"]', "    direction LR"]
        for node in flow.nodes:
            text = "<br/>".join([_mermaid(node.label), *(_mermaid(b.text) for b in node.badges)])
            lines.append(f'    {ids[node.id]}(["{text}"])' if node.kind == "topic" else f'    {ids[node.id]}["{text}"]')
            if node.kind == "topic":
                topics.append(ids[node.id])
        for edge in flow.edges:
            arrow = "-.->" if edge.virtual else "-->"
            label = f'|"{_mermaid(edge.text)}"|' if edge.text else ""
            lines.append(f"    {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
        lines.append("  end")
    if topics:
        lines += ["  classDef topic fill:#f3e5f5,stroke:#8e24aa", f"  class {','.join(topics)} topic"]
    return "\n".join(lines) + "\n"


def _dot(text: str) -> str:
    """An HTML-like DOT label: unlike a quoted string, no backslash can escape its end."""
    return html.escape(plain(text), quote=False)


def to_dot(graph: FlowGraph) -> str:
    """A Graphviz digraph, one cluster per flow; node ids are generated, every label is an HTML-like string."""
    lines = ["digraph motia {", "  rankdir=LR;", '  node [shape=box, style=rounded, fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=10];']
    for f, flow in enumerate(graph.flows):
        ids = {node.id: f"f{f}n{i}" for i, node in enumerate(flow.nodes)}
        lines += [f"  subgraph cluster_{f} {{", f"    label=<{_dot(flow.name)}>;"]
        for node in flow.nodes:
            name = _dot(node.label) if node.kind == "topic" else f"<B>{_dot(node.label)}</B>"
            text = "<BR/>".join([name, *(_dot(b.text) for b in node.badges)])
            shape = ", shape=ellipse" if node.kind == "topic" else ""
            lines.append(f"    {ids[node.id]} [label=<{text}>{shape}];")
        for edge in flow.edges:
            attrs = [f"label=<{_dot(edge.text)}>"] if edge.text else []
            attrs += ["style=dashed"] if edge.virtual else []
            suffix = f" [{', '.join(attrs)}]" if attrs else ""
            lines.append(f"    {ids[edge.source]} -> {ids[edge.target]}{suffix};")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"
