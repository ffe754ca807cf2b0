# flow-context.txt, "Type guards" (Python): ctx.is_api() / ctx.is_queue().
# The spec shows no import line for this example; the one below is the minimum.
from motia import step, http, queue


# -- stand-in for a helper the spec calls but does not define ------------------------
QUEUE_MESSAGES = []


async def process_queue_message(message):
    QUEUE_MESSAGES.append(message)
# --------------------------------------------------------------------------------------


async def handler(input, ctx):
    if ctx.is_api():
        # Input is MotiaHttpArgs
        body = input.request.body
        return {'status': 200, 'body': {'received': True}}

    if ctx.is_queue():
        # Input is queue data
        await process_queue_message(input)


default = step({
    'name': 'multi-trigger-step',
    'triggers': [
        http('POST', '/items'),
        queue('items')
    ]
}, handler)
