"""Cron steps that only run while a test starts a beat (tests/test_cron.py): each form, a condition, failures."""

from motia import cron, step


async def tick(input, ctx):
    """Nothing to do: the execution record and the tick row are what the tests read."""


async def observe(input, ctx):
    """Record what the handler sees, through a zero-argument ``ctx.match`` handler."""

    async def on_cron():
        await ctx.state.set("cron-seen", ctx.trace_id, {
            "input": input, "type": ctx.trigger.type, "expression": ctx.trigger.expression,
            "is_cron": ctx.is_cron(), "data": ctx.get_data(),
        })

    await ctx.match({"cron": on_cron})


async def never(input, ctx):
    raise AssertionError("the condition is false, so this never runs")


async def fail(input, ctx):
    raise RuntimeError("planned cron failure")


every_second = step({"name": "cron-every-second", "triggers": [cron("*/1 * * * * *")]}, tick)
seven_fields = step({"name": "cron-seven-fields", "triggers": [cron("*/2 * * * * * 2024-2099")]}, observe)
conditional = step({"name": "cron-conditional",
                    "triggers": [cron("*/1 * * * * *", condition=lambda input, ctx: input is not None)]}, never)
failing = step({"name": "cron-failing", "triggers": [cron("*/2 * * * * *")],
                "infrastructure": {"queue": {"maxRetries": 1, "backoffType": "fixed", "backoffDelayMs": 200}}}, fail)
every_minute = step({"name": "cron-every-minute", "triggers": [cron("* * * * *")]}, tick)
