# handlers.txt, "Streaming responses" (Python): input.response written chunk by chunk.
from motia import step, http
import asyncio
import json


async def handler(input, ctx):
    response = input.response

    # Set response headers
    await response.status(200)
    await response.headers({'Content-Type': 'application/json'})

    # Stream data chunks
    for i in range(10):
        chunk = json.dumps({'index': i, 'data': f'chunk-{i}'})
        await response.writer.send_message_async(chunk + '\n')
        await asyncio.sleep(0.1)

    # Close the stream
    response.close()


default = step({
    'name': 'stream-data',
    'triggers': [http('GET', '/stream')]
}, handler)
