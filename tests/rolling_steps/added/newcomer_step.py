"""A second subscriber of the same topic that only the processes of the new release know."""

from motia import queue, step


def handler(data, ctx):
    ctx.state.update("rolling", f"newcomer-{data['n']}", [{"type": "increment", "path": "runs", "value": 1}])


newcomer = step({"name": "rolling-newcomer", "triggers": [queue("t.rolling")]}, handler)
