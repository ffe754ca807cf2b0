"""Counts the deliveries of each message, for transactions that commit long after they enqueue."""

from motia import queue, step


def count(data, ctx):
    ctx.state.update("late-commit", data["id"], [{"type": "increment", "path": "runs", "value": 1}])


consumer = step({"name": "late-commit", "triggers": [queue("t.late-commit")], "enqueues": []}, count)
