"""Server-sent events written chunk by chunk with input.response."""

import asyncio
import json

from motia import http, step


async def stream_data(input, ctx):
    response = input.response
    await response.status(200)
    await response.headers({"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    count = int(input.request.query_params.get("n", "3"))
    for i in range(count):
        chunk = json.dumps({"index": i, "data": f"chunk-{i}"})
        if i % 2:
            response.stream.write(f"data: {chunk}\n\n")
        else:
            await response.writer.send_message_async(f"data: {chunk}\n\n")
        await asyncio.sleep(0.3)
    response.close()


default = step({"name": "stream-data", "triggers": [http("GET", "/stream")]}, stream_data)
