"""Steps the logging tests drive (loaded only through ``MOTIA_TEST_EXTRA_STEPS``): one HTTP step that
logs and enqueues, one queue step that logs what it got."""

from motia import http, queue, step


def say(req, ctx):
    word = req.query_params.get("word", "")
    ctx.logger.info(f"logx said {word}", {"word": word})
    ctx.enqueue({"topic": "logx.heard", "data": {"word": word}})
    return {"status": 200, "body": {"word": word}}


def hear(data, ctx):
    ctx.logger.info(f"logx heard {data['word']}")


sayer = step({"name": "logx-say", "triggers": [http("GET", "/logx/say")], "enqueues": ["logx.heard"]}, say)
hearer = step({"name": "logx-hear", "triggers": [queue("logx.heard")]}, hear)
