# handlers.txt, "Type guards" (Python): ctx.get_data() and ctx.is_api()/is_queue().
# The spec shows no import line for this example; the one below is the minimum.
from motia import step, http, queue


# -- stand-in for a helper the spec calls but does not define ------------------------
async def process_data(data):
    return {'processed': data}
# --------------------------------------------------------------------------------------


async def handler(input, ctx):
    # Extract data regardless of trigger type
    data = ctx.get_data()

    # Process the data
    result = await process_data(data)

    # Respond differently based on trigger
    if ctx.is_api():
        return {
            'status': 200,
            'body': result,
            'headers': {'X-Request-Id': ctx.trace_id}
        }

    if ctx.is_queue():
        ctx.logger.info('Queue processing complete', extra={'result': result})


default = step({
    'name': 'flexible-handler',
    'triggers': [
        http('POST', '/process'),
        queue('process-queue')
    ]
}, handler)
