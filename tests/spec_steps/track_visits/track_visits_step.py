# flow-context.txt, "State" (Python): a visit counter in ctx.state.
from motia import step, http
from time import time


async def handler(input, ctx):
    page_id = input.request.path_params['pageId']
    scope = 'page-visits'

    # Get current count
    current = await ctx.state.get(scope, page_id)
    count = (current.get('count', 0) if current else 0) + 1

    # Update count
    await ctx.state.set(scope, page_id, {
        'count': count,
        'lastVisit': int(time() * 1000)
    })

    return {'status': 200, 'body': {'pageId': page_id, 'visits': count}}


default = step({
    'name': 'track-visits',
    'triggers': [http('GET', '/page/{pageId}')]
}, handler)
