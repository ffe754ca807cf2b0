"""Queue triggers with one-argument handlers, sync and async; the condition keeps ``(input, ctx)``."""

from motia import logger, queue, stateManager, step


def remember(input):
    stateManager.set("m103-seen", input["name"], {"name": input["name"], "via": "sync"})
    logger.info("m103 seen", {"name": input["name"]})


async def remember_async(input):
    await stateManager.set("m103-seen-async", input["name"], {"name": input["name"]})
    logger.debug("m103 seen async", {"name": input["name"]})


def not_skipped(input, ctx) -> bool:
    return input["name"] != "skip" and ctx.is_queue()


seen = step({"name": "m103-on-greeted", "triggers": [queue("m103.greeted")], "flows": ["m103"]}, remember)
seen_async = step({"name": "m103-on-greeted-async", "triggers": [queue("m103.greeted", condition=not_skipped)],
                   "flows": ["m103"]}, remember_async)
