"""``docs/settings.md`` documents every ``MOTIA`` setting, and only real ones, so it cannot drift from ``conf.py``."""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from typing import Any

from motia_django.conf import MotiaSettings

from .conftest import ROOT

ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*`([^`]*)`\s*\|")
#: Defaults the table states in words, not as the literal value.
DESCRIBED = {"EXPOSE_ERRORS": "DEBUG"}


def documented() -> list[tuple[str, str]]:
    """(key, default as written) for every table row of docs/settings.md."""
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    return [(match.group(1), match.group(2)) for line in text.splitlines() if (match := ROW.match(line))]


def _comparable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def test_every_setting_is_documented_once() -> None:
    keys = [key for key, _ in documented()]
    settings = {field.name for field in fields(MotiaSettings)}
    assert sorted(settings - set(keys)) == [], "settings missing from docs/settings.md"
    assert sorted(set(keys) - settings) == [], "docs/settings.md lists settings that do not exist"
    assert sorted(key for key in set(keys) if keys.count(key) > 1) == [], "settings listed twice"


def test_documented_defaults_are_the_real_ones() -> None:
    defaults = {field.name: field.default for field in fields(MotiaSettings)}
    wrong = {}
    for key, written in documented():
        if DESCRIBED.get(key) == written:
            continue
        if _comparable(ast.literal_eval(written)) != _comparable(defaults[key]):
            wrong[key] = (written, defaults[key])
    assert wrong == {}
