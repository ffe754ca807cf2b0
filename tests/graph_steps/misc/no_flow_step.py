"""Steps naming no flow, and names that need escaping in every format."""

from motia import Enqueue, cron, http, queue, step


async def handler(data, ctx):
    return None


report = step({"name": "DailyReport", "triggers": [cron("0 9 * * *")], "enqueues": ['odd "topic" <&>|#']}, handler)
tricky = step(
    {
        "name": 'Tricky <b>"quoted"</b> & \\',
        "triggers": [queue('odd "topic" <&>|#'), http("GET", "/tricky")],
        "enqueues": [Enqueue("done", label='say "hi" <now> & | then \\')],
    },
    handler,
)
