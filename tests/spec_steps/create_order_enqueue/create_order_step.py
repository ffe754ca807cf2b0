# flow-context.txt, "Enqueue" (Python): two topics, one with a messageGroupId (FIFO).
from motia import step, http


# -- stand-in for a helper the spec calls but does not define ------------------------
async def create_order(body):
    return {
        'id': f"order-{body['sku']}",
        'amount': body['amount'],
        'email': body['email'],
        'customerId': body['customerId'],
    }
# --------------------------------------------------------------------------------------


async def handler(input, ctx):
    order = await create_order(input.request.body)

    # Enqueue to order-created topic
    await ctx.enqueue({
        'topic': 'order-created',
        'data': {'orderId': order['id'], 'amount': order['amount']}
    })

    # Enqueue with message group ID (for FIFO)
    await ctx.enqueue({
        'topic': 'send-email',
        'data': {'to': order['email'], 'template': 'order-confirmation'},
        'messageGroupId': f"customer-{order['customerId']}"
    })

    return {'status': 201, 'body': order}


default = step({
    'name': 'create-order',
    'triggers': [http('POST', '/orders')],
    'enqueues': ['order-created', 'send-email']
}, handler)
