# handlers.txt, "Pattern matching" (Python): one handler for http, queue and state
# triggers, dispatched with ctx.match.  The handler is defined before ``step``
# because the spec's inline ``async def`` is not valid Python.
from motia import step, http, queue, state


async def handler(input, ctx):
    async def handle_http(req):
        user = req.request.body
        await send_notification(user, ctx)
        return {
            'status': 200,
            'body': {'sent': True, 'userId': user['userId']}
        }

    async def handle_queue(user):
        await send_notification(user, ctx)

    async def handle_state(state_input):
        if state_input.get('new_value', {}).get('status') == 'active':
            user = state_input['new_value']
            await send_notification(user, ctx)

    return await ctx.match({
        'http': handle_http,
        'queue': handle_queue,
        'state': handle_state
    })


default = step({
    'name': 'notify-user',
    'triggers': [
        http('POST', '/notify'),
        queue('notifications'),
        state()
    ],
    'enqueues': ['email-queue']
}, handler)


async def send_notification(user, ctx):
    await ctx.enqueue({
        'topic': 'email-queue',
        'data': {
            'to': user['email'],
            'template': 'notification',
            'userId': user['userId']
        }
    })
