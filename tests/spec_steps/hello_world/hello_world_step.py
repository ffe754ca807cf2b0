# handlers.txt, "Basic handler" (Python).
# The spec writes ``async def`` inside the ``step(...)`` call, which is not valid
# Python: the handler is defined first and passed to ``step`` instead.
from motia import step, http


async def handler(input, ctx):
    ctx.logger.info('Hello handler invoked')
    return {
        'status': 200,
        'body': {'message': 'Hello, World!'}
    }


default = step({
    'name': 'hello-world',
    'triggers': [http('GET', '/hello')]
}, handler)
