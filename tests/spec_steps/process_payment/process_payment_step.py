# flow-context.txt, "Logger" (Python): structured logging with extra=.
# The spec shows no import line for this example; the one below is the minimum.
from motia import step, http


# -- stand-in for a helper the spec calls but does not define ------------------------
async def charge_card(body):
    if body.get('card') == 'declined':
        raise RuntimeError('Card declined')
    return {'id': 'txn_123', 'amount': body['amount'], 'currency': body['currency']}
# --------------------------------------------------------------------------------------


async def handler(input, ctx):
    ctx.logger.info('Processing payment', extra={
        'amount': input.request.body['amount'],
        'currency': input.request.body['currency']
    })

    try:
        result = await charge_card(input.request.body)
        ctx.logger.info('Payment successful',
                        extra={'transactionId': result['id']})
        return {'status': 200, 'body': result}
    except Exception as error:
        ctx.logger.error('Payment failed', extra={'error': str(error)})
        return {'status': 500, 'body': {'error': 'Payment processing failed'}}


default = step({
    'name': 'process-payment',
    'triggers': [http('POST', '/payments')]
}, handler)
