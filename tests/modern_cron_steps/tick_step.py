"""Cron handlers: zero arguments (module-level API) and a multi-trigger step's ``fn(ctx)``.

Loaded only where ``MOTIA_TEST_EXTRA_STEPS`` names this folder (tests/settings.py), so the shared
test app's cron entries stay those ``tests/test_cron.py`` counts.
"""

from motia import cron, logger, stateManager

config = {"name": "m103-tick", "triggers": [cron("0 0 1 1 *")], "flows": ["m103"]}


def handler():
    stateManager.set("m103-cron", "zero-args", {"ran": True})
    logger.info("m103 tick")

