"""A handler that blocks the signals of timeouts (the alarm, Celery's soft time limit), so only the
worker's hard time limit can stop it."""

import signal
import time

from motia import queue, step


def stuck(data, ctx):
    ctx.state.update("blocked-runs", data["id"], [{"type": "increment", "path": "runs", "value": 1}])
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGUSR1})
    time.sleep(600)


consumer = step({"name": "blocked", "triggers": [queue("t.blocked", config={"max_retries": 1})],
                 "infrastructure": {"handler": {"timeout": 1}}}, stuck)
