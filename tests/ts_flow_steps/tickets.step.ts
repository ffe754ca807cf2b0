// An all-TypeScript ticket flow: open (HTTP, zod body) and list (HTTP, from state).
import { http, step } from 'motia'
import { z } from 'zod'

const ticket = z.object({ title: z.string().min(1), customer: z.string().email() })

export const openTicket = step(
  {
    name: 'TsfOpenTicket',
    triggers: [http('POST', '/tsf/tickets', { bodySchema: ticket })],
    enqueues: ['tsf-ticket.opened'],
    flows: ['tsf-tickets'],
  },
  async (request: { body: z.infer<typeof ticket> }, { enqueue, state, traceId }: any) => {
    const id = `TSF-${request.body.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`
    await state.set('tsf-tickets', id, { id, ...request.body, status: 'open', traceId })
    await enqueue({ topic: 'tsf-ticket.opened', data: { id } })
    return { status: 201, body: { id } }
  },
)

export const listTickets = step(
  { name: 'TsfListTickets', triggers: [http('GET', '/tsf/tickets')], flows: ['tsf-tickets'] },
  async (_request: unknown, { state }: any) => {
    const tickets = await state.list('tsf-tickets')
    tickets.sort((a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id))
    return { status: 200, body: { tickets } }
  },
)
