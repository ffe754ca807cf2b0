"""Cron expressions in the three forms steps use.

* 5 fields: ``minute hour day month weekday`` (``"0 9 * * *"``)
* 6 fields: a leading seconds field (``"*/5 * * * * *"``)
* 7 fields: leading seconds and a trailing year (``"0 */5 * * * * *"``)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter

__all__ = ["CronExpression", "InvalidCronExpression"]

_FIELD_NAMES = {
    5: ("minute", "hour", "day of month", "month", "day of week"),
    6: ("second", "minute", "hour", "day of month", "month", "day of week"),
    7: ("second", "minute", "hour", "day of month", "month", "day of week", "year"),
}


class InvalidCronExpression(ValueError):
    """The expression has the wrong number of fields or a field out of range."""


@dataclass(frozen=True)
class CronExpression:
    text: str

    @property
    def fields(self) -> list[str]:
        return self.text.split()

    @property
    def has_seconds(self) -> bool:
        return len(self.fields) >= 6

    @classmethod
    def parse(cls, text: str) -> CronExpression:
        """Check ``text`` field by field (an error names the field); the same text is checked once."""
        if not isinstance(text, str):
            raise InvalidCronExpression(f"a cron expression must be a string, not {type(text).__name__}")
        return _parse(text)

    @classmethod
    def _parse(cls, text: str) -> CronExpression:
        parts = text.split()
        names = _FIELD_NAMES.get(len(parts))
        if names is None:
            raise InvalidCronExpression(
                f"{text!r} has {len(parts)} fields; expected 5 (minute hour day month weekday), "
                "6 (with leading seconds) or 7 (with leading seconds and trailing year)"
            )
        for index, name in enumerate(names):
            probe = ["*"] * len(parts)
            probe[index] = parts[index]
            if not croniter.is_valid(" ".join(probe), second_at_beginning=len(parts) >= 6):
                raise InvalidCronExpression(f"{text!r}: invalid {name} field {parts[index]!r}")
        expression = cls(" ".join(parts))
        if not croniter.is_valid(expression.text, second_at_beginning=expression.has_seconds):
            raise InvalidCronExpression(f"{text!r} is not a valid cron expression")
        return expression

    @property
    def minute_fields(self) -> list[str]:
        """The five fields a minute-precision crontab knows (seconds and year left out)."""
        return self.fields[1:6] if self.has_seconds else self.fields

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after ``moment`` (timezone taken from ``moment``)."""
        tick: datetime = croniter(self.text, moment, second_at_beginning=self.has_seconds).get_next(datetime)
        return tick

    def latest_at_or_before(self, moment: datetime) -> datetime:
        """The last tick at or before ``moment`` (croniter's ``get_prev`` is strictly before)."""
        start = moment + timedelta(microseconds=1)
        tick: datetime = croniter(self.text, start, second_at_beginning=self.has_seconds).get_prev(datetime)
        return tick


_parse = functools.lru_cache(maxsize=4096)(CronExpression._parse)
