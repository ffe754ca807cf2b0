"""Flows: the graph model, its Mermaid and DOT text, the server-side SVG, the workbench page, ``--graph``."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from motia import Enqueue, cron, http, queue, state, stream
from motia_django.registry import Registry, get_registry
from motia_django.steps.definition import StepDefinition
from motia_django.workbench.graph import UNGROUPED, Flow, FlowGraph, build_graph, to_dot, to_mermaid
from motia_django.workbench.svg import render_svg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NS = "{http://www.w3.org/2000/svg}"
TRICKY = 'Tricky <b>"quoted"</b> & \\'


@pytest.fixture(scope="module")
def graph() -> FlowGraph:
    registry = Registry.discover([HERE / "graph_steps"])
    assert registry.errors == []
    return build_graph(registry)


def flow(graph: FlowGraph, name: str) -> Flow:
    found = graph.flow(name)
    assert found is not None, name
    return found


def edges(graph: FlowGraph, name: str) -> dict[str, Any]:
    return {e.id: e for e in flow(graph, name).edges}


async def _handler(*args: Any) -> None:
    return None


# -- the model ----------------------------------------------------------------------------------


def test_flows_by_name_and_ungrouped_last(graph: FlowGraph) -> None:
    assert [f.name for f in graph.flows] == ["billing", "checkout", UNGROUPED]
    assert "step:ChargeCard" in {n.id for n in flow(graph, "billing").nodes}
    assert "step:ChargeCard" in {n.id for n in flow(graph, "checkout").nodes}
    assert {n.label for n in flow(graph, UNGROUPED).steps} == {"DailyReport", TRICKY}


def test_step_nodes_show_their_triggers(graph: FlowGraph) -> None:
    nodes = {n.id: n for n in flow(graph, "checkout").nodes}
    assert [b.text for b in nodes["step:PlaceOrder"].badges] == ["POST /checkout"]
    assert [b.text for b in nodes["step:ChargeCard"].badges] == ["queue order.placed"]
    assert [(b.kind, b.text) for b in nodes["step:EmailCustomer"].badges] == [("state", "state"),
                                                                              ("stream", "stream orders")]
    assert nodes["step:EmailCustomer"].description == "Mails the customer once a human decided"
    assert nodes["topic:manual.review"].kind == "topic" and nodes["topic:manual.review"].badges == ()
    [daily] = [n for n in flow(graph, UNGROUPED).steps if n.label == "DailyReport"]
    assert [b.text for b in daily.badges] == ["cron 0 9 * * *"]


def test_edges_for_enqueues_and_subscriptions(graph: FlowGraph) -> None:
    checkout = edges(graph, "checkout")
    assert set(checkout) == {
        "step:PlaceOrder->topic:order.placed", "step:PlaceOrder->topic:fraud.suspected",
        "topic:order.placed->step:ChargeCard", "step:ChargeCard->topic:payment.done",
        "step:ChargeCard->topic:payment.failed", "topic:fraud.suspected->step:FraudReview",
        "step:FraudReview->topic:manual.review", "topic:manual.review->step:EmailCustomer",
    }
    placed = checkout["step:PlaceOrder->topic:order.placed"]
    assert (placed.text, placed.virtual, placed.conditional) == ("Order placed", False, False)
    assert checkout["step:PlaceOrder->topic:fraud.suspected"].text == "Looks risky (conditional)"
    assert checkout["step:ChargeCard->topic:payment.failed"].text == "conditional"
    assert checkout["topic:order.placed->step:ChargeCard"].text is None


def test_virtual_edges(graph: FlowGraph) -> None:
    checkout = edges(graph, "checkout")
    assert checkout["step:FraudReview->topic:manual.review"].virtual
    assert checkout["step:FraudReview->topic:manual.review"].text == "by a human"
    assert checkout["topic:manual.review->step:EmailCustomer"].virtual
    assert [e.id for e in checkout.values() if e.virtual] == [
        "step:FraudReview->topic:manual.review", "topic:manual.review->step:EmailCustomer"]


def test_a_cycle_keeps_both_directions(graph: FlowGraph) -> None:
    billing = edges(graph, "billing")
    assert "step:RetryPayment->topic:payment.failed" in billing
    assert "topic:payment.failed->step:RetryPayment" in billing


def test_a_real_edge_wins_over_the_same_virtual_one() -> None:
    step = StepDefinition({"name": "both", "triggers": [http("GET", "/both")], "enqueues": ["x"],
                           "virtual_enqueues": ["x", "y"]}, _handler)
    [only] = build_graph(Registry([step])).flows
    assert only.name == UNGROUPED
    assert [(e.id, e.virtual) for e in only.edges] == [("step:both->topic:x", False), ("step:both->topic:y", True)]


def test_the_example_app() -> None:
    example = build_graph(get_registry())
    orders = edges(example, "orders")
    assert {"step:CreateOrder->topic:order.created", "topic:order.created->step:ProcessOrder",
            "step:ProcessOrder->topic:order.priced", "topic:order.priced->step:CompleteOrder"} == set(orders)
    assert "step:GetOrder" in {n.id for n in flow(example, "orders").nodes}
    ungrouped = {n.label: n for n in flow(example, UNGROUPED).nodes}
    assert [b.text for b in ungrouped["protected-route"].badges] == ["GET /protected (if)"]
    assert [b.text for b in ungrouped["multi"].badges] == ["POST /multi", "queue multi.in"]
    multi = edges(example, UNGROUPED)
    assert multi["step:multi->topic:multi.in"].virtual and not multi["topic:multi.in->step:multi"].virtual


# -- Mermaid and DOT ----------------------------------------------------------------------------

MERMAID_NODE = re.compile(r'^ {4}f\d+n\d+(\["[^"]*"\]|\(\["[^"]*"\]\))$')
MERMAID_EDGE = re.compile(r'^ {4}f\d+n\d+ (-->|-\.->)(\|"[^"]*"\|)? f\d+n\d+$')


def test_mermaid(graph: FlowGraph) -> None:
    text = to_mermaid(graph)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert [line for line in lines if line.startswith("  subgraph")] == [
        '  subgraph f0["billing"]', '  subgraph f1["checkout"]', '  subgraph f2["ungrouped"]']
    assert lines.count("  end") == 3
    body = [line for line in lines if line.startswith("    ") and line != "    direction LR"]
    assert body and all(MERMAID_NODE.match(line) or MERMAID_EDGE.match(line) for line in body), body
    assert '-->|"Looks risky (conditional)"|' in text and '-.->|"by a human"|' in text
    assert len([line for line in body if "-.->" in line]) == 2
    tricky = "Tricky #60;b#62;#34;quoted#34;#60;/b#62; #38; #92;"
    assert f'["{tricky}<br/>queue odd #34;topic#34; #60;#38;#62;#124;#35;<br/>GET /tricky"]' in text


class Dot:
    """A small DOT reader: enough to check the grammar, and that every HTML-like label is well-formed XML."""

    TOKEN = re.compile(
        r'\s*(?:(?P<id>[A-Za-z_][A-Za-z_0-9]*|-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*")|(?P<op>->|[{}\[\];=,<]))'
    )

    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0
        self.nodes: dict[str, dict[str, str]] = {}
        self.edges: list[tuple[str, str, dict[str, str]]] = []
        self.clusters: list[str] = []
        assert self.next() == "digraph" and self.next() == "motia" and self.next() == "{"
        self.statements()
        assert self.text[self.at:].strip() == ""

    def next(self) -> str:
        match = self.TOKEN.match(self.text, self.at)
        assert match, f"bad DOT at {self.text[self.at:self.at + 40]!r}"
        self.at = match.end()
        if match.group("op") != "<":
            return match.group(0).strip()
        depth, start = 1, self.at
        while depth:
            depth += {"<": 1, ">": -1}.get(self.text[self.at], 0)
            self.at += 1
        return "<" + self.text[start:self.at]

    def statements(self) -> None:
        while (token := self.next()) != "}":
            if token == "subgraph":
                name = self.next()
                assert name.startswith("cluster_") and self.next() == "{"
                self.clusters.append(name)
                self.statements()
                continue
            following = self.next()
            if token in ("node", "edge"):
                assert following == "["
                self.attributes()
                assert self.next() == ";"
            elif following == "=":
                self.value(self.next())
                assert self.next() == ";"
            elif following == "->":
                target = self.next()
                after = self.next()
                self.edges.append((token, target, self.attributes() if after == "[" else {}))
                assert (self.next() if after == "[" else after) == ";"
            else:
                assert following == "[", token
                self.nodes[token] = self.attributes()
                assert self.next() == ";"

    def attributes(self) -> dict[str, str]:
        found = {}
        while (key := self.next()) != "]":
            if key == ",":
                continue
            assert self.next() == "="
            found[key] = self.value(self.next())
        return found

    @staticmethod
    def value(token: str) -> str:
        """The text of an HTML-like label (parsed as XML, so bad escaping fails), or the plain value."""
        if token.startswith("<"):
            element = ET.fromstring(f"<label>{token[1:-1]}</label>")
            return "\n".join(t for t in element.itertext())
        return token.strip('"')


def test_dot(graph: FlowGraph) -> None:
    dot = Dot(to_dot(graph))
    assert dot.clusters == ["cluster_0", "cluster_1", "cluster_2"]
    assert len(dot.nodes) == sum(len(f.nodes) for f in graph.flows)
    assert len(dot.edges) == sum(len(f.edges) for f in graph.flows)
    assert all(a in dot.nodes and b in dot.nodes for a, b, _ in dot.edges)
    labels = {attrs["label"]: attrs for attrs in dot.nodes.values()}
    assert f"{TRICKY}\nqueue odd \"topic\" <&>|#\nGET /tricky" in labels
    assert labels["manual.review"]["shape"] == "ellipse"
    assert "PlaceOrder\nPOST /checkout" in labels
    dashed = [attrs for _, _, attrs in dot.edges if attrs.get("style") == "dashed"]
    assert len(dashed) == 2 and {"label": "by a human", "style": "dashed"} in dashed
    assert {"label": "Looks risky (conditional)"} in [attrs for _, _, attrs in dot.edges]
    assert {"label": 'say "hi" <now> & | then \\'} in [attrs for _, _, attrs in dot.edges]


# -- SVG ----------------------------------------------------------------------------------------

Rect = tuple[float, float, float, float]


def parse_svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == f"{NS}svg"
    return root


def rectangle(rect: ET.Element | None) -> Rect:
    assert rect is not None
    x, y, width, height = (float(rect.get(k, "")) for k in ("x", "y", "width", "height"))
    return x, y, width, height


def boxes(root: ET.Element) -> dict[str, Rect]:
    return {g.get("data-node", ""): rectangle(g.find(f"{NS}rect[@class='box']"))
            for g in root.iter(f"{NS}g") if g.get("data-node")}


def overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def assert_readable(root: ET.Element, flow: Flow) -> None:
    """Every node drawn once, inside the picture, no two boxes overlapping, no edge label on a box."""
    placed = boxes(root)
    assert set(placed) == {n.id for n in flow.nodes}
    width, height = float(root.get("width", "")), float(root.get("height", ""))
    for x, y, w, h in placed.values():
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
    for (a, ra), (b, rb) in combinations(placed.items(), 2):
        assert not overlap(ra, rb), (a, b)
    for group in root.iter(f"{NS}g"):
        if "edge-label" in (group.get("class") or "").split():
            label = rectangle(group.find(f"{NS}rect"))
            assert not any(overlap(label, box) for box in placed.values()), group.get("data-edge")


def edge_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-edge", ""): g for g in root.iter(f"{NS}g") if (g.get("class") or "").split()[:1] == ["edge"]}


def test_svg_draws_every_node_and_edge(graph: FlowGraph) -> None:
    for number, item in enumerate(graph.flows):
        root = parse_svg(render_svg(item, id_prefix=f"f{number}"))
        assert root.get("data-flow") == item.name
        assert_readable(root, item)
        assert set(edge_groups(root)) == {e.id for e in item.edges}
        marker = root.find(f".//{NS}marker")
        assert marker is not None and marker.get("id") == f"f{number}-arrow"


def test_svg_virtual_conditional_and_labels(graph: FlowGraph) -> None:
    root = parse_svg(render_svg(flow(graph, "checkout")))
    drawn = edge_groups(root)
    virtual = drawn["step:FraudReview->topic:manual.review"]
    assert "virtual" in (virtual.get("class") or "").split()
    path = virtual.find(f"{NS}path")
    assert path is not None and path.get("stroke-dasharray") and path.get("marker-end")
    plain = drawn["topic:order.placed->step:ChargeCard"].find(f"{NS}path")
    assert plain is not None and plain.get("stroke-dasharray") is None
    assert "conditional" in (drawn["step:PlaceOrder->topic:fraud.suspected"].get("class") or "").split()
    labels = {g.get("data-edge"): "".join(g.itertext()) for g in root.iter(f"{NS}g")
              if "edge-label" in (g.get("class") or "").split()}
    assert labels == {
        "step:PlaceOrder->topic:order.placed": "Order placed",
        "step:PlaceOrder->topic:fraud.suspected": "Looks risky (conditional)",
        "step:ChargeCard->topic:payment.failed": "conditional",
        "step:FraudReview->topic:manual.review": "by a human",
    }
    email = next(g for g in root.iter(f"{NS}g") if g.get("data-node") == "step:EmailCustomer")
    assert [g.get("class") for g in email.findall(f"{NS}g")] == ["badge state", "badge stream"]
    title = email.find(f"{NS}title")
    assert title is not None and title.text == "EmailCustomer — Mails the customer once a human decided"


def test_svg_escapes_text(graph: FlowGraph) -> None:
    text = render_svg(flow(graph, UNGROUPED))
    assert "<b>" not in text
    root = parse_svg(text)
    tricky = next(g for g in root.iter(f"{NS}g") if g.get("data-node") == f"step:{TRICKY}")
    assert [t.text for t in tricky.iter(f"{NS}text")] == [TRICKY, 'queue odd "topic" <&>|#', "GET /tricky"]


def test_svg_cycle_is_drawn_back(graph: FlowGraph) -> None:
    root = parse_svg(render_svg(flow(graph, "billing")))
    classes = {key: (g.get("class") or "").split() for key, g in edge_groups(root).items()}
    assert sum("back" in c for c in classes.values()) == 1
    assert "step:RetryPayment->topic:payment.failed" in classes and "topic:payment.failed->step:RetryPayment" in classes


def test_svg_ignores_control_characters() -> None:
    step = StepDefinition({"name": "bell\x07and\nnewline", "triggers": [http("GET", "/bell")]}, _handler)
    root = parse_svg(render_svg(build_graph(Registry([step])).flows[0]))
    assert "bell and newline" in "".join(root.itertext())


def generated_registry(count: int = 200, seed: int = 7) -> Registry:
    """One flow of ``count`` steps like a large app's: HTTP entry points, queue pipelines fanning out,
    labelled, conditional and virtual enqueues, a few cycles, and cron, state and stream steps."""
    rnd = random.Random(seed)
    steps = []
    for i in range(count):
        config: dict[str, Any] = {
            "name": f"step-{i:03d}", "flows": ["big"],
            "enqueues": [Enqueue(f"t{i}", label=f"out {i}" if i % 4 == 0 else None, conditional=i % 7 == 0)],
        }
        if i < 30:
            config["triggers"] = [http("POST", f"/s{i}")]
        elif i >= count - 10:
            config["triggers"] = [(cron("0 9 * * *"), state(), stream("things"))[i % 3]]
        else:
            source = rnd.randrange(max(0, i - 40), i)
            config["triggers"] = [queue(f"t{source}")]
            if i % 25 == 0:
                config["enqueues"].append(Enqueue(f"t{source}"))  # back to the topic it came from
        if i % 10 == 0:
            config["virtual_enqueues"] = [Enqueue(f"t{rnd.randrange(count)}")]
        steps.append(StepDefinition(config, _handler))
    return Registry(steps)


def test_200_steps_render_quickly_without_overlaps() -> None:
    [big] = build_graph(generated_registry()).flows
    assert len(big.steps) == 200
    started = time.perf_counter()
    text = render_svg(big)
    elapsed = time.perf_counter() - started
    print(f"200-step flow ({len(big.nodes)} nodes, {len(big.edges)} edges) rendered in {elapsed * 1000:.0f} ms")
    assert elapsed < 1.0
    root = parse_svg(text)
    assert_readable(root, big)
    assert len(edge_groups(root)) == len(big.edges)


def test_a_tangle_of_cycles_still_renders() -> None:
    """200 steps on 100 topics picked at random: cycles everywhere, long edges; bounded, not hanging."""
    rnd = random.Random(1)
    steps = [
        StepDefinition({"name": f"s{i}", "flows": ["tangle"],
                        "triggers": [queue(f"t{rnd.randrange(100)}") for _ in range(3)],
                        "enqueues": [f"t{rnd.randrange(100)}" for _ in range(3)]}, _handler)
        for i in range(200)
    ]
    [tangle] = build_graph(Registry(steps)).flows
    started = time.perf_counter()
    text = render_svg(tangle)
    assert time.perf_counter() - started < 10
    assert len(boxes(parse_svg(text))) == len(tangle.nodes)


# -- the page and the command ---------------------------------------------------------------------


@pytest.mark.django_db
def test_flows_page_is_staff_only(client: Client) -> None:
    response = client.get("/admin/motia/flows/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    User.objects.create_user("plain", password="pw")
    client.login(username="plain", password="pw")
    response = client.get("/admin/motia/flows/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_flows_page_shows_each_flow_as_svg(admin_client: Client) -> None:
    page = admin_client.get("/admin/motia/flows/").content.decode()
    example = build_graph(get_registry())
    svgs = re.findall(r"<svg [^>]*class=\"motia-flow\".*?</svg>", page, re.S)
    assert len(svgs) == len(example.flows)
    for text, item in zip(svgs, example.flows, strict=True):
        root = parse_svg(text)
        assert root.get("data-flow") == item.name
        assert len(boxes(root)) == len(item.nodes)
    assert 'data-node="step:CreateOrder"' in page and 'data-edge="step:CreateOrder-&gt;topic:order.created"' in page
    assert '<option value="orders">orders</option>' in page
    assert 'href="/admin/motia/flows/" class="current"' in page
    assert "<script" not in page.split('id="content"')[-1]


@pytest.mark.django_db
def test_flows_page_selects_one_flow(admin_client: Client) -> None:
    page = admin_client.get("/admin/motia/flows/?flow=orders").content.decode()
    assert re.findall(r'<section class="motia-flow-section" id="[^"]+" data-flow="([^"]+)"', page) == ["orders"]
    assert '<option value="orders" selected>' in page
    missing = admin_client.get("/admin/motia/flows/?flow=nope").content.decode()
    assert "No flow named" in missing and 'class="motia-flow"' not in missing


@pytest.mark.django_db
def test_admin_index_links_flows(admin_client: Client) -> None:
    assert 'href="/admin/motia/flows/"' in admin_client.get("/admin/").content.decode()


def _discover(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings", "MOTIA_STEPS_DIR": str(HERE / "graph_steps")}
    env.pop("TEST_DATABASE_URL", None)
    return subprocess.run([sys.executable, "manage.py", "motia_discover", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_motia_discover_graph_mermaid(graph: FlowGraph) -> None:
    result = _discover("--graph", "mermaid")
    assert result.returncode == 0, result.stderr
    assert result.stdout == to_mermaid(graph)


def test_motia_discover_graph_dot(graph: FlowGraph) -> None:
    result = _discover("--graph", "dot", "--check")
    assert result.returncode == 0, result.stderr
    assert result.stdout == to_dot(graph)
    assert _discover("--graph", "svg").returncode == 2
