// The Node worker of motia-django: loads TypeScript and JavaScript step files and runs their handlers.
//
// Python starts one per process (motia_django/node/bridge.py) and talks to it in newline-delimited JSON
// over stdin/stdout.  Python asks `{id, op: "load" | "call"}` and the worker answers `{done: id, ok, ...}`;
// while a handler runs, its `ctx.enqueue/state/streams` calls go back as `{ask, call, op}` and Python
// answers `{answer, ok, ...}`; log lines go as `{note: "log", call}`.  Everything about delivery
// (retries, dead letters, FIFO, traces) stays in Python: this process only runs handler code.

import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'

import * as esbuild from 'esbuild'
import { z } from 'zod'

const HERE = dirname(fileURLToPath(import.meta.url))
const SHIM = join(HERE, 'runtime', 'motia.mjs')
const STEP = Symbol.for('motia-django.step')
const BUNDLES = join(tmpdir(), `motia-django-node-${process.pid}`)
mkdirSync(BUNDLES, { recursive: true })
process.on('exit', () => rmSync(BUNDLES, { recursive: true, force: true }))

// Python reads stdout as the protocol: whatever a step prints goes to stderr instead.
const protocol = process.stdout.write.bind(process.stdout)
for (const level of ['log', 'info', 'debug']) console[level] = (...args) => console.error(...args)

function send(message) {
  protocol(JSON.stringify(message) + '\n')
}

// -- calls back into Python ------------------------------------------------------------------------
const asked = new Map()
let nextAsk = 0
const storage = new AsyncLocalStorage()

globalThis.__motiaDjangoRuntime = { current: () => storage.getStore() }

function ask(call, op, payload) {
  const ask = ++nextAsk
  return new Promise((resolvePromise, reject) => {
    asked.set(ask, { resolve: resolvePromise, reject })
    send({ ask, call, op, ...payload })
  })
}

function answered({ answer, ok, result, error }) {
  const waiting = asked.get(answer)
  if (!waiting) return
  asked.delete(answer)
  if (ok) waiting.resolve(result)
  else waiting.reject(Object.assign(new Error(error.message), { name: error.name ?? 'Error' }))
}

const SNAKE = { getGroup: 'get_group', listGroups: 'list_groups' }

function methods(call, op, extra, names) {
  const target = {}
  for (const name of names) target[name] = (...args) => ask(call, op, { method: SNAKE[name] ?? name, args, ...extra })
  return target
}

function context(call, trigger, traceId, input) {
  const logger = {}
  for (const level of ['debug', 'info', 'warn', 'error', 'critical', 'trace']) {
    logger[level] = (message, meta) => send({ note: 'log', call, level, message: String(message), meta: meta ?? null })
  }
  const is = (kind) => () => trigger.type === kind
  const enqueue = (message) => ask(call, 'enqueue', { args: [message] })
  return {
    traceId,
    trigger,
    logger,
    enqueue,
    emit: enqueue,
    state: methods(call, 'state', {}, ['get', 'set', 'update', 'delete', 'list', 'getGroup', 'listGroups', 'clear']),
    streams: new Proxy({}, {
      get: (_, name) => typeof name === 'string'
        ? methods(call, 'streams', { stream: name }, ['get', 'set', 'update', 'delete', 'getGroup', 'list', 'listGroups', 'send'])
        : undefined,
    }),
    is: { http: is('http'), api: is('http'), queue: is('queue'), cron: is('cron'), state: is('state'), stream: is('stream') },
    getData: () => (trigger.type === 'http' ? input?.body : trigger.type === 'cron' ? undefined : input),
    match(handlers) {
      const kind = trigger.type
      const chosen = handlers[kind] ?? (kind === 'http' ? handlers.api : kind === 'queue' ? handlers.event : undefined) ?? handlers.default
      if (!chosen) throw new Error(`ctx.match() has no handler for a '${kind}' trigger and no 'default'`)
      return chosen(input)
    },
  }
}

// -- loading step files ------------------------------------------------------------------------
const loaded = new Map()

/** `motia` (and `@iii-dev/motia`) is this project's shim, whatever node_modules holds; `zod` is this package's,
 * so every step shares one zod for toJSONSchema. */
const motiaDjango = {
  name: 'motia-django',
  setup(build) {
    build.onResolve({ filter: /^(motia|@iii-dev\/motia)$/ }, () => ({ path: SHIM }))
    build.onResolve({ filter: /^zod(\/.*)?$/ }, (args) => ({ path: import.meta.resolve(args.path), external: true }))
  },
}

async function bundle(file) {
  const out = join(BUNDLES, createHash('sha1').update(file).digest('hex') + '.mjs')  // source map paths are relative to it
  const result = await esbuild.build({
    outfile: out,
    entryPoints: [file],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    write: false,
    sourcemap: 'inline',
    logLevel: 'silent',
    absWorkingDir: dirname(file),
    nodePaths: [join(HERE, 'node_modules')],
    plugins: [motiaDjango],
    banner: { js: "import { createRequire as __motiaCreateRequire } from 'node:module'; const require = __motiaCreateRequire(import.meta.url);" },
  })
  writeFileSync(out, result.outputFiles[0].text)
  return out
}

function stepsOf(module, file) {
  const steps = []
  for (const value of Object.values(module)) {
    if (value && value[STEP] && !steps.includes(value)) steps.push(value)
  }
  if (!steps.length && module.config && typeof module.handler === 'function') {
    steps.push({ config: module.config, handler: module.handler })
  }
  if (!steps.length) {
    const unfinished = Object.values(module).find((v) => v && typeof v.handle === 'function' && v.config)
    if (unfinished) throw locatedError(`step ${JSON.stringify(unfinished.config.name)} has no handler (call .handle(handler))`, file)
    throw locatedError('defines no step: export config and handler, or export step(config, handler)', file)
  }
  return steps
}

async function load(file) {
  let found = loaded.get(file)
  if (!found) {
    const module = await import(pathToFileURL(await bundle(file)).href)
    found = new Map(stepsOf(module, file).map((s) => [s.config?.name, s]))
    loaded.set(file, found)
  }
  return found
}

// -- stream files (*.stream.ts): config = { name, schema, baseConfig, canAccess } ------------------------
const streamFiles = new Map()

function isStreamConfig(value) {
  return Boolean(value && typeof value === 'object' && !value[STEP] && typeof value.name === 'string'
    && ('schema' in value || 'baseConfig' in value || 'canAccess' in value))
}

async function loadStreams(file) {
  let found = streamFiles.get(file)
  if (!found) {
    const module = await import(pathToFileURL(await bundle(file)).href)
    const configs = module.config ? [module.config] : [...new Set(Object.values(module).filter(isStreamConfig))]
    if (!configs.length) throw locatedError('defines no stream: export const config = { name, schema }', file)
    for (const c of configs) {
      if (typeof c?.name !== 'string' || !c.name) throw locatedError('a stream config needs a name', file)
      if (c.canAccess !== undefined && typeof c.canAccess !== 'function') {
        throw locatedError(`stream ${JSON.stringify(c.name)}: canAccess must be a function`, file)
      }
    }
    found = new Map(configs.map((c) => [c.name, c]))
    streamFiles.set(file, found)
  }
  return found
}

function describeStream({ name, schema, baseConfig, canAccess }) {
  return { name, schema: schema === undefined ? null : jsonSchema(schema), baseConfig: baseConfig ?? {},
           canAccess: typeof canAccess === 'function' }
}

// -- configs as data --------------------------------------------------------------------------------
function isZod(value) {
  return Boolean(value && typeof value === 'object' && value._zod)
}

function jsonSchema(value) {
  if (isZod(value)) {
    const { $schema, ...schema } = z.toJSONSchema(value, { io: 'input', unrepresentable: 'any' })
    return schema
  }
  return value
}

function describeTrigger(trigger, name, index) {
  const { condition, middleware, ...data } = trigger
  if (middleware !== undefined && !(Array.isArray(middleware) && middleware.every((m) => typeof m === 'function'))) {
    throw new Error(`step ${JSON.stringify(name)}: trigger ${index}: middleware must be a list of functions`)
  }
  if (condition !== undefined && typeof condition !== 'function') throw new Error(`step ${JSON.stringify(name)}: trigger ${index}: condition must be a function`)
  for (const key of ['bodySchema', 'input']) if (key in data) data[key] = jsonSchema(data[key])
  if (data.responseSchema) data.responseSchema = Object.fromEntries(Object.entries(data.responseSchema).map(([s, v]) => [s, jsonSchema(v)]))
  if (typeof condition === 'function') data.conditional = true
  return data
}

function describe(step) {
  // middleware run here, around the handler (see withMiddleware): Python never sees the functions
  const { triggers, middleware, ...config } = step.config ?? {}
  const name = config.name
  return { ...config, triggers: Array.isArray(triggers) ? triggers.map((t, i) => describeTrigger(t ?? {}, name, i)) : triggers }
}

// -- HTTP middleware ---------------------------------------------------------------------------------
// The step's own middleware (0.x configs put it on the config, 1.x on the HTTP trigger), in order,
// each given the request, the context and next(); next() may pass on another request or context.
function withMiddleware(step, index, handler, input, ctx) {
  const chain = [...(step.config.middleware ?? []), ...(step.config.triggers?.[index]?.middleware ?? [])]
  const run = (at, req, c) => (at < chain.length
    ? chain[at](req, c, (nextReq, nextCtx) => run(at + 1, nextReq ?? req, nextCtx ?? c))
    : handler(req, c))
  return run(0, input, ctx)
}

// -- errors ------------------------------------------------------------------------------------
function locatedError(message, file, line) {
  return Object.assign(new Error(message), { file, line })
}

function lineIn(stack, file) {
  const url = pathToFileURL(file).href
  for (const row of String(stack ?? '').split('\n')) {
    const at = row.indexOf(url) >= 0 ? row.indexOf(url) + url.length : row.indexOf(file) >= 0 ? row.indexOf(file) + file.length : -1
    if (at >= 0) {
      const match = /^:(\d+)/.exec(row.slice(at))
      if (match) return Number(match[1])
    }
  }
  return undefined
}

function failure(error, file) {
  if (error?.errors?.length && error.errors[0].location !== undefined) {  // an esbuild BuildFailure
    const first = error.errors[0]
    const where = first.location
    return { name: 'SyntaxError', message: first.text, file: where ? resolve(dirname(file), where.file) : file, line: where?.line, stack: '' }
  }
  const name = error?.name ?? 'Error'
  const message = error?.message ?? String(error)
  return { name, message, stack: String(error?.stack ?? `${name}: ${message}`), file: error?.file ?? file, line: error?.line ?? (file ? lineIn(error?.stack, file) : undefined) }
}

// -- requests from Python ------------------------------------------------------------------------------
async function handle(request) {
  const { id, op, file } = request
  try {
    if (op === 'load') {
      const steps = await load(file)
      send({ done: id, ok: true, result: { steps: [...steps.values()].map(describe) } })
    } else if (op === 'loadStreams') {
      const streams = await loadStreams(file)
      send({ done: id, ok: true, result: { streams: [...streams.values()].map(describeStream) } })
    } else if (op === 'canAccess') {
      const config = (await loadStreams(file)).get(request.stream)
      if (!config?.canAccess) throw new Error(`no canAccess for stream ${JSON.stringify(request.stream)} in ${file}`)
      send({ done: id, ok: true, result: Boolean(await config.canAccess(request.subscription, request.authContext)) })
    } else if (op === 'call') {
      const steps = await load(file)
      const found = steps.get(request.step)
      if (!found) throw new Error(`no step ${JSON.stringify(request.step)} in ${file}`)
      const { trigger, traceId } = request
      let input = request.input
      if (trigger.type === 'http' && input && typeof input === 'object') input = { ...input, request: input }
      const ctx = context(id, trigger, traceId, input)
      let result
      if (request.part === 'condition') {
        const condition = found.config.triggers[trigger.index]?.condition
        result = Boolean(await storage.run(ctx, () => condition(input, ctx)))
      } else if (trigger.type === 'http') {
        result = await storage.run(ctx, () => withMiddleware(found, trigger.index, found.handler, input, ctx))
      } else {
        result = await storage.run(ctx, () => found.handler(input, ctx))
      }
      send({ done: id, ok: true, result: result ?? null })
    } else {
      throw new Error(`unknown op ${JSON.stringify(op)}`)
    }
  } catch (error) {
    send({ done: id, ok: false, error: failure(error, file) })
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
lines.on('line', (line) => {
  if (!line.trim()) return
  const message = JSON.parse(line)
  if (message.answer !== undefined) answered(message)
  else handle(message)
})
lines.on('close', () => process.exit(0))  // Python went away: so does its worker
send({ ready: true, node: process.version })
