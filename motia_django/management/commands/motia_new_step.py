"""``manage.py motia_new_step NAME --http POST /path``: write a new step file from a template.

One trigger per new file (``--http METHOD PATH``, ``--queue TOPIC`` or ``--cron
EXPRESSION``), checked the way discovery checks it, so the file written loads
as it is; an existing file is never overwritten.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...conf import motia_settings
from ...cron.expression import CronExpression, InvalidCronExpression
from ...registry import get_registry
from ...steps.triggers import http, queue

__all__ = ["Command", "render_step"]

STEP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,99}$")

# Formatted twice: below, once per kind of trigger, then by ``render_step`` with the step's name and
# trigger arguments (hence the doubled and quadrupled braces).
STEP_FILE = '''"""The {{name}} step: {purpose}."""

{imports}
config = {{{{
    "name": {{name_literal}},
    "description": "",
    "flows": [],
    "triggers": [{trigger}],
    "enqueues": [],
}}}}


{{async_}}def handler({signature}:
    {body}
'''

TEMPLATES = {
    "http": STEP_FILE.format(
        purpose="answers HTTP requests", imports="from motia import ApiRequest, ApiResponse, FlowContext, http\n",
        trigger="http({method}, {path})", signature="req: ApiRequest, ctx: FlowContext) -> ApiResponse",
        body='ctx.logger.info("called", {{"path_params": req.path_params}})\n'
             '    return ApiResponse(status=200, body={{"ok": True}})'),
    "queue": STEP_FILE.format(
        purpose="handles each message of its topic",
        imports="from typing import Any\n\nfrom motia import FlowContext, queue\n",
        trigger="queue({topic})", signature="data: Any, ctx: FlowContext) -> None",
        body='ctx.logger.info("received a message", {{"data": data}})'),
    "cron": STEP_FILE.format(
        purpose="runs on its schedule", imports="from typing import Any\n\nfrom motia import FlowContext, cron\n",
        trigger="cron({expression})", signature="input: Any, ctx: FlowContext) -> None",
        body='ctx.logger.info("ran")'),
}


def render_step(name: str, *, is_async: bool, method: str | None = None, path: str | None = None,
                topic: str | None = None, expression: str | None = None) -> str:
    """The source of the new step file; raises ``CommandError`` for a name or trigger discovery would refuse."""
    if not STEP_NAME.match(name):
        raise CommandError(f"step name {name!r} must start with a letter and hold only letters, digits, '-' and '_'")
    common = {"name": name, "name_literal": json.dumps(name), "async_": "async " if is_async else ""}
    try:
        if method is not None and path is not None:
            trigger = http(method, path)
            return TEMPLATES["http"].format(method=json.dumps(trigger.method), path=json.dumps(trigger.path), **common)
        if topic is not None:
            if not re.fullmatch(r"[A-Za-z0-9._:\-]+", topic):
                raise CommandError(f"topic {topic!r} may hold only letters, digits, '.', '_', ':' and '-'")
            return TEMPLATES["queue"].format(topic=json.dumps(queue(topic).topic), **common)
        if expression is not None:
            CronExpression.parse(expression)
            return TEMPLATES["cron"].format(expression=json.dumps(expression), **common)
    except InvalidCronExpression as exc:
        raise CommandError(f"invalid cron expression: {exc}") from exc
    except ValueError as exc:  # the trigger model's own check (pydantic's ValidationError is one)
        raise CommandError(_first_error(exc)) from exc
    raise CommandError("give one trigger: --http METHOD PATH, --queue TOPIC or --cron EXPRESSION")


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(str(error["msg"]).removeprefix("Value error, ") for error in errors())
    return str(exc)


class Command(BaseCommand):
    help = "Write a new step file (HTTP, queue or cron trigger) into the first STEPS_DIRS folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the step's name, e.g. create-order (the file is create_order_step.py)")
        kind = parser.add_mutually_exclusive_group(required=True)
        kind.add_argument("--http", nargs=2, metavar=("METHOD", "PATH"), help="an HTTP trigger, e.g. POST /orders")
        kind.add_argument("--queue", metavar="TOPIC", help="a queue trigger on TOPIC")
        kind.add_argument("--cron", metavar="EXPRESSION", help='a cron trigger, e.g. "0 * * * *"')
        parser.add_argument("--dir", help="folder to write into (relative: below the first STEPS_DIRS folder)")
        parser.add_argument("--async", dest="is_async", action="store_true", help="an async handler")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"]
        method, path = options["http"] or (None, None)
        source = render_step(name, is_async=options["is_async"], method=method, path=path,
                             topic=options["queue"], expression=options["cron"])
        if name in get_registry().steps:
            raise CommandError(f"a step named {name!r} exists already")
        target = self._folder(options["dir"]) / f"{name.lower().replace('-', '_')}_step.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with target.open("x", encoding="utf-8") as file:
                file.write(source)
        except FileExistsError:
            raise CommandError(f"{target} exists already; not overwriting it") from None
        self.stdout.write(self.style.SUCCESS(f"wrote {target}"))

    def _folder(self, option: str | None) -> Path:
        roots = motia_settings().steps_paths
        if not roots:
            raise CommandError("MOTIA['STEPS_DIRS'] is empty: there is no folder to write the step into")
        folder = roots[0] if option is None else roots[0] / option
        resolved = folder.resolve()
        if not any(resolved.is_relative_to(root.resolve()) for root in roots):
            self.stderr.write(self.style.WARNING(f"{folder} is outside STEPS_DIRS: discovery will not load it"))
        return folder
