// A TypeScript queue step whose first attempt hangs until the test kills its Node worker.
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { queue, step } from 'motia'

export const { config, handler } = step(
  {
    name: 'TsSurvivesCrash',
    triggers: [queue('ts-crash', { config: { maxRetries: 3, backoffDelayMs: 200, backoffType: 'fixed' } })],
  },
  async (data: { job: string }, { state }: any) => {
    const mark = join(process.env.MOTIA_TEST_TS_MARKS as string, `${data.job}.pid`)
    if (!existsSync(mark)) {
      writeFileSync(mark, String(process.pid))
      await new Promise((resolve) => setTimeout(resolve, 60_000))
    }
    await state.set('ts-crash', data.job, { completedBy: process.pid })
  },
)
