// `step(config).handle(handler)`, in JavaScript.
import { http, step } from 'motia'

export const builder = step({ name: 'TsfFormBuilder', triggers: [http('GET', '/tsf/forms/builder')] })
  .handle(async (request) => ({ status: 200, body: { form: 'builder', query: request.queryParams } }))
