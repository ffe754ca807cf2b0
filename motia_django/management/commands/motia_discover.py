"""``manage.py motia_discover``: list the steps, their triggers and any problems."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...registry import Registry, get_registry
from ...workbench.graph import build_graph, to_dot, to_mermaid

__all__ = ["Command", "steps_table"]


class Command(BaseCommand):
    help = "Discover step files and print the steps, their triggers, enqueues and flows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the registry as JSON")
        parser.add_argument("--check", action="store_true", help="exit non-zero when discovery finds errors")
        parser.add_argument("--no-sync", action="store_true", help="leave the cron entries of django-celery-beat alone")
        parser.add_argument("--graph", choices=["mermaid", "dot"],
                            help="print only the flow graph, as Mermaid or DOT text (cron entries are left alone)")

    def handle(self, *args: Any, **options: Any) -> None:
        registry = get_registry()  # discovered when the app started
        if options["graph"]:  # the graph alone on stdout, to pipe into mermaid or dot
            graph = build_graph(registry)
            self.stdout.write(to_mermaid(graph) if options["graph"] == "mermaid" else to_dot(graph), ending="")
            for error in registry.errors:
                self.stderr.write(self.style.ERROR(f"error: {error}"))
            if registry.errors and options["check"]:
                raise CommandError(f"{len(registry.errors)} discovery error(s)")
            return
        if options["json"]:
            self.stdout.write(json.dumps(registry.as_json(), indent=2))
        else:
            self._table(registry)
        if not options["no_sync"]:
            from ...cron.sync import sync_for_command

            (self.stderr if options["json"] else self.stdout).write(sync_for_command(registry))
        if registry.errors and options["check"]:
            raise CommandError(f"{len(registry.errors)} discovery error(s)")

    def _table(self, registry: Registry) -> None:
        header, *lines = steps_table(registry)
        self.stdout.write(self.style.MIGRATE_HEADING(header))
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(f"\n{len(registry.steps)} step(s)")
        for warning in registry.warnings:
            self.stdout.write(self.style.WARNING(f"warning: {warning}"))
        for error in registry.errors:
            self.stderr.write(self.style.ERROR(f"error: {error}"))


def steps_table(registry: Registry) -> list[str]:
    """The steps as aligned text lines, the header first (also ``motia_dev``'s summary)."""
    rows = [("STEP", "FILE", "TRIGGERS", "ENQUEUES", "FLOWS")]
    for item in registry.as_json()["steps"]:
        rows.append(
            (
                item["name"],
                _short(item["file"]),
                ", ".join(_describe(t) for t in item["triggers"]) or "noop",  # a 0.x noop step has none
                ", ".join(e["topic"] for e in item["enqueues"]) or "-",
                ", ".join(item["flows"]) or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def _short(path: str | None) -> str:
    from pathlib import Path

    if not path:
        return "?"
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def _describe(trigger: dict[str, Any]) -> str:
    kind = trigger["type"]
    if kind == "http":
        text = f"{trigger['method']} {trigger['path']}"
    elif kind == "queue":
        text = "queue " + "|".join(trigger["topics"])
    elif kind == "cron":
        text = f"cron {trigger['expression']}"
    elif kind == "stream":
        text = f"stream {trigger['stream']}"
    else:
        text = kind
    return text + (" (if)" if trigger.get("conditional") else "")
