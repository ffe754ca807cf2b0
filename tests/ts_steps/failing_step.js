// A JavaScript queue step that always throws: retried, then a dead letter carrying the JS stack.
export const config = {
  name: 'TsAlwaysFails',
  triggers: [{ type: 'queue', topic: 'ts-fail', config: { maxRetries: 2, backoffDelayMs: 100, backoffType: 'fixed' } }],
}

function chargeCard(job) {
  throw new Error(`card declined for ${job}`)
}

export const handler = async (data) => {
  chargeCard(data.job)
}
