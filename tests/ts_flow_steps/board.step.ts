// A TypeScript step writing a stream: `new Stream(name)` for sets, `ctx.streams.<name>` for deletes.
import { http, step, Stream } from 'motia'

const board = new Stream('tsf-board')

export default step(
  { name: 'TsfBoard', triggers: [http('PUT', '/tsf/board/:id'), http('DELETE', '/tsf/board/:id')] },
  async (request: { method: string; body: { title: string }; pathParams: { id: string } }, ctx: any) => {
    const id = request.pathParams.id
    if (request.method === 'DELETE') {
      await ctx.streams['tsf-board'].delete('lane', id)
      return { status: 204 }
    }
    return { status: 200, body: await board.set('lane', id, request.body) }
  },
)
