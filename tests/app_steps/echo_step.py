"""Echoes what the handler saw, in both spellings the spec uses."""

from motia import ApiResponse, FlowContext, http, step


async def echo(input, ctx: FlowContext) -> ApiResponse:
    body = input.request.body
    return ApiResponse(
        status=200,
        body={
            "body": body if not isinstance(body, bytes) else body.decode(),
            "same_body": input.body == body,
            "path_params": input.request.path_params,
            "query_params": input.query_params,
            "header": input.headers.get("X-Custom"),
            "header_lower": input.request.headers.get("x-custom"),
            "method": input.method,
            "trace_id": ctx.trace_id,
            "trigger": {"type": ctx.trigger.type, "method": ctx.trigger.method, "path": ctx.trigger.path,
                        "index": ctx.trigger.index, "is_api": ctx.is_api(), "equals_api": ctx.trigger.type == "api"},
            "data": ctx.get_data() if not isinstance(ctx.get_data(), bytes) else "raw",
        },
        headers={"X-Echo": "yes"},
    )


echo_step = step(
    {
        "name": "echo",
        "triggers": [http("POST", "/echo/:a/{b}"), http("GET", "/echo/:a/{b}"),
                     http("PUT", "/echo/:a/{b}", content_types=["*/*"])],
    },
    echo,
)
