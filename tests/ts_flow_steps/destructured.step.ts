// `export const { config, handler } = step(config, handler)`.
import { http, step } from 'motia'

export const { config, handler } = step(
  { name: 'TsfFormDestructured', triggers: [http('GET', '/tsf/forms/destructured')] },
  async () => ({ status: 200, body: { form: 'destructured' } }),
)
