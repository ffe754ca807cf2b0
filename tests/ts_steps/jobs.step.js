// A JavaScript HTTP step that starts the background jobs of tests/test_tsjs_steps.py.
import { http } from 'motia'

export const config = {
  name: 'TsStartJob',
  triggers: [http('POST', '/ts/jobs')],
  enqueues: ['ts-fail', 'ts-crash'],
}

export async function handler(req, { enqueue }) {
  await enqueue({ topic: `ts-${req.body.kind}`, data: { job: req.body.job } })
  return { status: 202, body: { queued: req.body.job } }
}
