// Triage: one step with a queue, a cron and an HTTP trigger, dispatched with ctx.match.
import { cron, http, queue, step } from 'motia'

const team = (ticket: { customer: string }) => (ticket.customer.endsWith('@vip.example') ? 'priority' : 'desk')

export default step(
  {
    name: 'TsfTriage',
    triggers: [queue('tsf-ticket.opened'), cron('0 * * * *'), http('POST', '/tsf/triage/:id')],
    flows: ['tsf-tickets'],
  },
  async (_input: unknown, ctx: any) => {
    const triage = async (id: string, by: string) => {
      const ticket = await ctx.state.get('tsf-tickets', id)
      if (!ticket) return undefined
      const triaged = { ...ticket, status: 'triaged', team: team(ticket), triagedBy: by }
      await ctx.state.set('tsf-tickets', id, triaged)
      return triaged
    }
    return ctx.match({
      queue: async (message: { id: string }) => {
        if (message.id.includes('held')) return  // left open, for the sweep
        await triage(message.id, 'queue')
      },
      cron: async () => {
        const open = (await ctx.state.list('tsf-tickets')).filter((t: { status: string }) => t.status === 'open')
        for (const ticket of open) await triage(ticket.id, 'cron')
        ctx.logger.info('sweep done', { swept: open.length })
      },
      http: async (request: { pathParams: { id: string } }) => {
        const triaged = await triage(request.pathParams.id, 'http')
        return triaged ? { status: 200, body: triaged } : { status: 404, body: { error: 'no such ticket' } }
      },
    })
  },
)
