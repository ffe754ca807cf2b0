"""``manage.py motia_dlq list|replay|purge``: dead letters from a shell."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from ...models import DeadLetter
from ...queues.dead_letters import replay_many


class Command(BaseCommand):
    help = "List, replay or purge dead letters."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (("list", "show dead letters"), ("replay", "deliver them again"),
                           ("purge", "delete them")):
            action = sub.add_parser(name, help=text)
            action.add_argument("ids", nargs="*", type=int, help="dead letter ids (default: all matching)")
            action.add_argument("--step", help="only this step")
            action.add_argument("--topic", help="only this topic")
            action.add_argument("--error", help="only errors of this type (e.g. InvalidInput)")
        sub.choices["list"].add_argument("--limit", type=int, default=50)
        sub.choices["purge"].add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def _selection(self, options: dict[str, Any]) -> QuerySet[DeadLetter]:
        letters = DeadLetter.objects.order_by("id")
        if options["ids"]:
            letters = letters.filter(id__in=options["ids"])
        for option, field in (("step", "step"), ("topic", "topic"), ("error", "error_type")):
            if options[option]:
                letters = letters.filter(**{field: options[option]})
        return letters

    def handle(self, *args: Any, **options: Any) -> None:
        letters = self._selection(options)
        getattr(self, f"_{options['action']}")(letters, options)

    def _list(self, letters: QuerySet[DeadLetter], options: dict[str, Any]) -> None:
        total = letters.count()
        for letter in letters[: options["limit"]]:
            self.stdout.write(
                f"{letter.id:>6}  {letter.failed_at:%Y-%m-%d %H:%M:%S}  {letter.step}  {letter.topic or '-'}  "
                f"attempts={letter.attempts}  trace={letter.trace_id}  {letter.error[:120]}"
            )
        self.stdout.write(f"{total} dead letter(s)")

    def _replay(self, letters: QuerySet[DeadLetter], options: dict[str, Any]) -> None:
        replayed, refused = replay_many(letters)
        for letter_id, reason in refused.items():
            self.stderr.write(self.style.ERROR(f"{letter_id}: {reason}"))
        self.stdout.write(self.style.SUCCESS(f"replayed {len(replayed)} dead letter(s)"))
        if refused:
            raise CommandError(f"{len(refused)} dead letter(s) could not be replayed")

    def _purge(self, letters: QuerySet[DeadLetter], options: dict[str, Any]) -> None:
        count = letters.count()
        if not options["yes"] and input(f"Delete {count} dead letter(s)? [y/N] ").strip().lower() != "y":
            raise CommandError("nothing deleted")
        letters.delete()
        self.stdout.write(self.style.SUCCESS(f"deleted {count} dead letter(s)"))
