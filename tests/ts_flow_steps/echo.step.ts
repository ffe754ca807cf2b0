// `export default step(config, handler)` with two triggers: ctx.getData() and ctx.is.* for each.
import { http, queue, step } from 'motia'
import { z } from 'zod'

const payload = z.object({ word: z.string() })

export default step(
  {
    name: 'TsfEcho',
    triggers: [http('POST', '/tsf/echo', { bodySchema: payload }), queue('tsf-echo', { input: payload })],
    enqueues: ['tsf-echo'],
  },
  async (input: unknown, ctx: any) => {
    const seen = {
      data: ctx.getData(),
      isHttp: ctx.is.http(input), isQueue: ctx.is.queue(input), isCron: ctx.is.cron(input),
      isState: ctx.is.state(input), isStream: ctx.is.stream(input),
    }
    if (ctx.is.queue(input)) {
      await ctx.state.set('tsf-echo', seen.data.word, seen)
      return
    }
    await ctx.enqueue({ topic: 'tsf-echo', data: seen.data })
    return { status: 200, body: seen }
  },
)
