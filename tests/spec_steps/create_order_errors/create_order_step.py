# handlers.txt, "Permanent errors" (Python): business-rule 400s, a permanent error
# sent to 'order-failed', and transient errors re-raised.
from motia import step, http


# -- stand-in for a helper the spec calls but does not define ------------------------
class OrderError(Exception):
    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


async def process_order(order):
    if order.get('product') == 'unknown':
        raise OrderError('Product unknown does not exist', code='INVALID_PRODUCT')
    if order.get('product') == 'flaky':
        raise OrderError('Inventory service timed out', code='TIMEOUT')
    return {'orderId': order['orderId'], 'status': 'created'}
# --------------------------------------------------------------------------------------


async def handler(input, ctx):
    order = input.request.body

    # Validate business rules
    if order['amount'] > 10000:
        ctx.logger.warning('Order exceeds limit', extra={'order': order})
        return {
            'status': 400,
            'body': {'error': 'Order amount exceeds maximum limit'}
        }

    try:
        result = await process_order(order)
        return {'status': 201, 'body': result}
    except Exception as error:
        # Check if error is permanent
        if getattr(error, 'code', None) == 'INVALID_PRODUCT':
            ctx.logger.error('Invalid product in order',
                             extra={'order': order, 'error': str(error)})

            # Don't retry, send to error queue
            await ctx.enqueue({
                'topic': 'order-failed',
                'data': {'order': order, 'error': str(error)}
            })

            return {
                'status': 400,
                'body': {'error': 'Invalid product'}
            }

        # Transient error, let it retry
        raise


default = step({
    'name': 'create-order',
    'triggers': [http('POST', '/orders')],
    'enqueues': ['order-failed']
}, handler)
