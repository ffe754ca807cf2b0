"""``manage.py motia_health``: is the runtime healthy? A table (or ``--json``) and an exit code.

Exit code 0: every check ok; 2: some warn and none fail; 1: some check failed.
"""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ...health.checks import CHECKS, CheckResult, Status, Thresholds, overall, run_checks

EXIT_CODES = {Status.OK: 0, Status.FAIL: 1, Status.WARN: 2}

_OPTION_HELP = {
    "timeout": "seconds each check may take",
    "outbox_warn": "outbox rows that warn",
    "outbox_fail": "outbox rows that fail",
    "outbox_age_warn": "age in seconds of the oldest outbox row that warns",
    "outbox_age_fail": "age in seconds of the oldest outbox row that fails",
    "dead_letters_warn": "stored dead letters that warn (0: never)",
    "dead_letters_fail": "stored dead letters that fail (0: never)",
    "beat_lateness_fail": "seconds past a cron tick's time without the tick recorded that fail",
    "workers_min": "workers that must answer a ping",
}


class Command(BaseCommand):
    help = "Check the database, migrations, broker, outbox, dead letters, beat and workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the results as JSON")
        parser.add_argument("--skip", action="append", default=[], choices=sorted(CHECKS), metavar="CHECK",
                            help=f"leave a check out (repeatable): {', '.join(CHECKS)}")
        defaults = Thresholds()
        for field in fields(Thresholds):
            default = getattr(defaults, field.name)
            parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(default), default=default,
                                help=f"{_OPTION_HELP[field.name]} (default {default})")

    def handle(self, *args: Any, **options: Any) -> None:
        limits = Thresholds(**{field.name: options[field.name] for field in fields(Thresholds)})
        results = run_checks([name for name in CHECKS if name not in options["skip"]], limits)
        status = overall(results)
        if options["json"]:
            self.stdout.write(json.dumps({"status": status.value, "checks": [
                {"name": r.name, "status": r.status.value, "detail": r.detail, "value": r.value} for r in results
            ]}, indent=2))
        else:
            self._table(results, status)
        sys.exit(EXIT_CODES[status])

    def _table(self, results: list[CheckResult], status: Status) -> None:
        style = {Status.OK: self.style.SUCCESS, Status.WARN: self.style.WARNING, Status.FAIL: self.style.ERROR}
        width = max(len(r.name) for r in results) if results else 5
        for result in results:
            mark = style[result.status](f"{result.status.value:<4}")
            self.stdout.write(f"{result.name:<{width}}  {mark}  {result.detail}")
        self.stdout.write(style[status](f"overall: {status.value}"))
