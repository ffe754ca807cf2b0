// The `motia` package as step files see it under motia-django: every `import ... from 'motia'` in a
// TypeScript or JavaScript step resolves here (worker.mjs aliases it), whatever is in node_modules.
// Configs are plain data the worker reports to Python; handlers reach Python through the call's context.

const STEP = Symbol.for('motia-django.step')

/** The runtime of the worker that loaded this file (one per Node process, shared by every bundle). */
function runtime() {
  const found = globalThis.__motiaDjangoRuntime
  if (!found) throw new Error('motia: this module only runs inside the motia-django Node worker')
  return found
}

/** The context of the handler running now, for the module-level `enqueue`, `logger` and `stateManager`. */
function currentContext(what) {
  const ctx = runtime().current()
  if (!ctx) throw new Error(`motia: ${what} was used outside a running handler`)
  return ctx
}

function makeStep(config, handler) {
  if (typeof handler !== 'function') throw new TypeError(`the handler of step ${JSON.stringify(config?.name)} must be a function`)
  return { [STEP]: true, config, handler }
}

export function isStep(value) {
  return Boolean(value && value[STEP])
}

/** `step(config, handler)`, or `step(config).handle(handler)`. */
export function step(config, handler) {
  if (handler !== undefined) return makeStep(config, handler)
  return {
    config,
    handle(fn) {
      return makeStep(config, fn)
    },
  }
}

/** One handler per trigger kind: `multiTriggerStep(config).onHttp(h).onQueue(h).handlers()`. */
export function multiTriggerStep(config) {
  const table = {}
  const builder = {
    config,
    onHttp: (fn) => ((table.http = fn), builder),
    onApi: (fn) => ((table.http = fn), builder),
    onQueue: (fn) => ((table.queue = fn), builder),
    onCron: (fn) => ((table.cron = fn), builder),
    onState: (fn) => ((table.state = fn), builder),
    onStream: (fn) => ((table.stream = fn), builder),
    onDefault: (fn) => ((table.default = fn), builder),
    handlers(extra = {}) {
      const all = { ...table, ...extra }
      return makeStep(config, (input, ctx) => {
        const kind = ctx.trigger.type
        const chosen = all[kind] ?? (kind === 'http' ? all.api : kind === 'queue' ? all.event : undefined) ?? all.default
        if (!chosen) throw new Error(`No handler defined for trigger type: ${kind}`)
        return kind === 'cron' ? chosen(ctx) : chosen(input, ctx)
      })
    },
  }
  return builder
}

export function http(method, path, options = {}, condition) {
  return { type: 'http', method, path, ...options, ...(condition ? { condition } : {}) }
}
export const api = http
export function queue(topic, options = {}, condition) {
  return { type: 'queue', topic, ...options, ...(condition ? { condition } : {}) }
}
export function cron(expression, options = {}, condition) {
  return { type: 'cron', expression, ...options, ...(condition ? { condition } : {}) }
}
export function state(options = {}, condition) {
  return { type: 'state', ...options, ...(condition ? { condition } : {}) }
}
export function stream(streamName, options = {}, condition) {
  return { type: 'stream', streamName, ...options, ...(condition ? { condition } : {}) }
}

/** Module-level `enqueue({ topic, data })`: the running handler's `ctx.enqueue`. */
export function enqueue(message) {
  return currentContext('enqueue()').enqueue(message)
}

function forward(what, pick) {
  return new Proxy({}, { get: (_, name) => (...args) => pick(currentContext(what))[name](...args) })
}

/** Module-level logger: the running handler's `ctx.logger`. */
export const logger = forward('logger', (ctx) => ctx.logger)
/** Module-level state: the running handler's `ctx.state`. */
export const stateManager = forward('stateManager', (ctx) => ctx.state)

/** A declared stream, used from handler code: `new Stream('todos').get(groupId, id)`. */
export class Stream {
  constructor(config) {
    this.config = typeof config === 'string' ? { name: config } : config
    return new Proxy(this, {
      get: (target, name) =>
        name in target || typeof name === 'symbol' ? target[name] : (...args) => currentContext(`stream ${target.config.name}`).streams[target.config.name][name](...args),
    })
  }
}
