// HTTP middleware written in TypeScript: Motia's (req, ctx, next) form, on the trigger and on the config.
import { http, step } from 'motia'

const requireKey = async (req: any, ctx: any, next: () => Promise<any>) => {
  if (req.headers['x-api-key'] !== 'open-sesame') return { status: 401, body: { error: 'an API key is required' } }
  ctx.caller = 'key holder'
  ctx.seen.push('trigger')  // after the config's middleware
  const response = await next()
  return { ...response, headers: { ...(response.headers ?? {}), 'x-guarded': 'yes' } }
}

const outer = async (req: any, ctx: any, next: (req?: any) => Promise<any>) => {
  ctx.seen = ['config']
  return next({ ...req, queryParams: { ...req.queryParams, rewritten: 'by config middleware' } })
}

export default step({
  name: 'TsGuarded',
  middleware: [outer],
  triggers: [http('GET', '/ts/guarded', { middleware: [requireKey] })],
  flows: ['ts-support'],
}, async (req: any, ctx: any) => ({
  status: 200,
  body: { caller: ctx.caller, seen: ctx.seen, rewritten: req.queryParams.rewritten },
}))
