"""A subscriber every process of a rolling deploy knows."""

from motia import queue, step


def handler(data, ctx):
    ctx.state.update("rolling", f"veteran-{data['n']}", [{"type": "increment", "path": "runs", "value": 1}])


config = {"name": "rolling-veteran", "triggers": [queue("t.rolling")]}
veteran = step(config, handler)
