# flow-context.txt, "Pattern matching" (Python): http, queue and a zero-argument cron handler.
# The spec shows no import line for this example; the one below is the minimum.
from motia import step, http, queue, cron


# -- stand-ins for helpers the spec calls but does not define ------------------------
SYNCED = []


async def sync_user(user_id):
    SYNCED.append(user_id)


async def sync_all_users():
    SYNCED.append('*')
# --------------------------------------------------------------------------------------


async def handler(input, ctx):
    async def handle_http(req):
        user_id = req.request.path_params['id']
        await sync_user(user_id)
        return {'status': 200, 'body': {'synced': user_id}}

    async def handle_queue(data):
        await sync_user(data['userId'])

    async def handle_cron():
        await sync_all_users()

    return await ctx.match({
        'http': handle_http,
        'queue': handle_queue,
        'cron': handle_cron
    })


default = step({
    'name': 'sync-user',
    'triggers': [
        http('POST', '/users/{id}/sync'),
        queue('user-sync'),
        cron('0 2 * * *')  # Daily at 2 AM
    ]
}, handler)
