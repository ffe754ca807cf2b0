// A TypeScript FIFO queue step: each message group in order, one message at a time.
import { http, queue, step } from 'motia'

export const publisher = step(
  { name: 'TsfFifoPublisher', triggers: [http('POST', '/tsf/fifo')], enqueues: ['tsf-fifo'] },
  async (request: { body: { groups: number; perGroup: number } }, { enqueue }: any) => {
    for (let group = 0; group < request.body.groups; group++) {
      for (let seq = 0; seq < request.body.perGroup; seq++) {
        await enqueue({ topic: 'tsf-fifo', data: { group, seq }, messageGroupId: `tsf-g${group}` })
      }
    }
    return { status: 202, body: {} }
  },
)

export const consumer = step(
  {
    name: 'TsfFifoConsumer',
    triggers: [queue('tsf-fifo')],
    infrastructure: { queue: { type: 'fifo', maxRetries: 2 } },
  },
  async (data: { group: number; seq: number }, { state }: any) => {
    const start = Date.now() / 1000
    await new Promise((resolve) => setTimeout(resolve, 5))
    await state.set('tsf-fifo-log', `${data.group}-${String(data.seq).padStart(4, '0')}`,
                    { ...data, start, end: Date.now() / 1000, pid: process.pid })
  },
)
