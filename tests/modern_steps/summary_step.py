"""``ctx.match`` with sync branches that read a stream through the module-level ``Stream``."""

from motia import ApiResponse, Stream, http, logger, queue, stateManager

greetings: Stream[dict] = Stream("m103-greetings")

config = {
    "name": "m103-summary",
    "triggers": [http("GET", "/m103/summary"), queue("m103.summarize")],
    "enqueues": ["m103.summarize"],
    "flows": ["m103"],
}


async def handler(input, ctx):
    def on_http(request):
        names = greetings.get_group("default")
        logger.info("m103 summary", {"count": len(names)})
        return ApiResponse(status=200, body={"count": len(names), "names": sorted(g["name"] for g in names)})

    def on_queue(data):
        stateManager.set("m103-summaries", data["key"], {"count": len(greetings.get_group("default"))})

    return await ctx.match({"http": on_http, "queue": on_queue})
