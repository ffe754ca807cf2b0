from motia import cron, step


async def tick(_input, ctx):
    return None


tick_step = step({"name": "tick", "triggers": [cron("0 25 * * *")]}, tick)
