"""Server-sent events that echo the request body, read as a stream of chunks."""

from __future__ import annotations

import json
from typing import Any

from motia import FlowContext, http, step


async def echo_upload(input: Any, ctx: FlowContext[Any]) -> None:
    response = input.response
    await response.status(200)
    await response.headers({"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    received: list[bytes] = []
    async for chunk in input.request.request_body.stream:
        received.append(chunk)
        event = {"index": len(received) - 1, "size": len(chunk), "text": chunk.decode("latin-1")}
        await response.writer.send_message_async(f"data: {json.dumps(event)}\n\n")
    whole = await input.request.request_body.read_all()
    done = {"bytes": len(whole), "chunks": len(received), "whole_matches": whole == b"".join(received)}
    await response.writer.send_message_async(f"event: done\ndata: {json.dumps(done)}\n\n")
    response.close()


default = step({"name": "compat-http-echo-upload",
                "triggers": [http("POST", "/compat-http/echo-upload", content_types=["application/octet-stream"])]},
               echo_upload)
