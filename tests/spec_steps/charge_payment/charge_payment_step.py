# handlers.txt, "Idempotency" (Python): ctx.state as an idempotency record.
from motia import step, queue
from time import time


# -- stand-in for a helper the spec calls but does not define ------------------------
CHARGES = []


async def charge_card(payment, idempotency_key=None):
    if payment.get('card') == 'declined':
        raise RuntimeError('Card network unavailable')
    CHARGES.append(idempotency_key)
    return {'id': f'ch_{len(CHARGES)}', 'amount': payment['amount']}
# --------------------------------------------------------------------------------------


async def handler(payment, ctx):
    idempotency_key = f"payment-{payment['orderId']}-{payment['timestamp']}"

    # Check if already processed
    existing = await ctx.state.get('payment-processing', idempotency_key)
    if existing and existing.get('status') == 'completed':
        ctx.logger.info('Payment already processed',
                        extra={'idempotencyKey': idempotency_key})
        return

    # Mark as processing
    await ctx.state.set('payment-processing', idempotency_key, {
        'status': 'processing',
        'startedAt': int(time() * 1000)
    })

    try:
        # Process payment with idempotency key
        result = await charge_card(payment, idempotency_key=idempotency_key)

        # Mark as completed
        await ctx.state.set('payment-processing', idempotency_key, {
            'status': 'completed',
            'result': result,
            'completedAt': int(time() * 1000)
        })

        ctx.logger.info('Payment processed', extra={'result': result})
    except Exception as error:
        # Clear processing state on error for retry
        await ctx.state.delete('payment-processing', idempotency_key)
        raise


default = step({
    'name': 'charge-payment',
    'triggers': [queue('payments')]
}, handler)
