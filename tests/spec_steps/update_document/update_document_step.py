# flow-context.txt, "Streams" (Python): ctx.streams['documents'].update then .get.
from motia import step, http, Stream
from time import time

# "Streams must be declared ... to be accessible via ctx.streams": in Python a
# stream is declared with Stream(name).
documents_stream = Stream("documents")


async def handler(input, ctx):
    doc_id = input.request.path_params['id']
    updates = input.request.body

    # Access a stream
    documents = ctx.streams['documents']

    # Update the document
    await documents.update('workspace-1', doc_id, [
        {'type': 'set', 'path': 'content', 'value': updates['content']},
        {'type': 'set', 'path': 'updatedAt', 'value': int(time() * 1000)}
    ])

    # Get the updated document
    doc = await documents.get('workspace-1', doc_id)

    return {'status': 200, 'body': doc}


default = step({
    'name': 'update-document',
    'triggers': [http('PUT', '/documents/{id}')]
}, handler)
