# flow-context.txt, "Get data" (Python): ctx.get_data() for HTTP body and queue message.
from motia import step, http, queue


# -- stand-in for a helper the spec calls but does not define ------------------------
PROCESSED = []


async def process_order(order_data):
    PROCESSED.append(order_data)
# --------------------------------------------------------------------------------------


async def handler(input, ctx):
    # Extract data from both HTTP body and queue message
    order_data = ctx.get_data()
    await process_order(order_data)

    if ctx.is_api():
        return {'status': 200, 'body': {'success': True}}


default = step({
    'name': 'process-order',
    'triggers': [
        http('POST', '/orders'),
        queue('orders')
    ]
}, handler)
