// A TypeScript HTTP step: zod body validation, state, enqueue to a Python queue step.
import { http, step } from 'motia'
import { z } from 'zod'

import { ticketId } from './support/ids'

const body = z.object({ title: z.string().min(1), priority: z.enum(['low', 'high']).optional() })

export const config = {
  name: 'TsCreateTicket',
  description: 'Opens a ticket (TypeScript)',
  triggers: [http('POST', '/ts/tickets', { bodySchema: body })],
  enqueues: ['ts-ticket.created'],
  flows: ['ts-support'],
}

export const handler = async (request: { body: z.infer<typeof body> }, { enqueue, logger, state, traceId }: any) => {
  const id = ticketId(request.body.title)
  await state.set('ts-tickets', id, { title: request.body.title, priority: request.body.priority ?? 'low' })
  await enqueue({ topic: 'ts-ticket.created', data: { id } })
  logger.info('ticket opened', { id })
  return { status: 201, body: { id, traceId } }
}
