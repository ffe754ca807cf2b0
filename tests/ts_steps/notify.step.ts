// A TypeScript queue step in the builder form, using the module-level API.
import { logger, queue, stateManager, step } from 'motia'
import { z } from 'zod'

export default step({
  name: 'TsNotify',
  triggers: [queue('ts-ticket.triaged', { input: z.object({ id: z.string() }) })],
  flows: ['ts-support'],
}).handle(async (data: { id: string }, ctx: any) => {
  const ticket = await stateManager.get('ts-tickets', data.id)
  await stateManager.set('ts-notified', data.id, { ...ticket, notifiedBy: 'typescript', notifyTrace: ctx.traceId,
                                                   trigger: ctx.trigger })
  logger.info('notified', { id: data.id })
})
