import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MAX_JSON_DEPTH } from '../../src/enqueue/json-args.ts'
import { createApp } from '../../src/http/app.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { startTasklane } from '../support/tasklane.ts'
import { type FaultPostgres, startFaultPostgres } from './support/fault-postgres.ts'
import { report } from './support/wait.ts'

// Scenario 8: property tests over the HTTP API, in process (createApp(...).request()). Every request
// is hostile by construction (at least one defect a client must be told about), so the only right
// answers are the documented 4xx statuses with the JSON error shape, never a 500, never a 2xx, and
// never a row written. Read-only routes may answer 200 to a random query, but never 500.
const MAX_BODY = 64 * 1024
const TOKEN = 'fault-token-0123456789abcdef'
const DOCUMENTED_4XX = new Set([400, 401, 404, 409, 413, 415])

const strictSchema = z.object({ userId: z.string().uuid(), count: z.number().int().min(1).max(10) }).strict()
const strict = defineTask({ name: 'strict', schema: strictSchema, run: async () => null })
const loose = defineTask({ name: 'loose', run: async () => null })
const TASK_NAMES = ['strict', 'loose']
const PRIORITIES = new Set(['CRITICAL', 'HIGH', 'NORMAL', 'LOW', 'critical', 'high', 'normal', 'low'])
const ENVELOPE_KEYS = new Set(['args', 'priority', 'delay', 'startAfter', 'idempotencyKey'])

type App = ReturnType<typeof createApp>

interface Hostile {
  method: string
  path: string
  headers: Record<string, string>
  body?: string
  /** Statuses that are right for this request. */
  allowed: number[]
  why: string
}

// ---- generators -------------------------------------------------------------------------------

/** Header values a client can actually send (printable ASCII). */
const headerValue = fc
  .string({ unit: 'binary-ascii', maxLength: 40 })
  .map((s) => s.replace(/[^\x20-\x7e]/g, '').trim())
const noiseHeaders = fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,12}$/), headerValue, { maxKeys: 3 })
/** Strings with anything in them: NUL, lone surrogates, astral characters, control characters. */
const nastyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ maxLength: 30 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ud800',
    '\udfff',
    'a\u0000b',
    '💥',
    '%00',
    '../../etc/passwd',
    "'; drop table x; --",
  ),
)
/** A string PostgreSQL cannot store in jsonb or text: it holds NUL or a lone surrogate. */
const unstorableString = fc
  .tuple(
    fc.string({ maxLength: 10 }),
    fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff'),
    fc.string({ maxLength: 10 }),
  )
  .map(([a, bad, b]) => `${a}${bad}${b}`)
/** A path segment or query part as a client would send it: percent-encoded, or raw broken escapes. */
const urlPart = (text: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 4, arbitrary: text.map((s) => encodeURIComponent(s.toWellFormed())) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '%',
        '%ZZ',
        '%00',
        '%C0%80',
        '%ED%A0%80',
        '%FF%FE',
        '%E2%82',
        'a%2Fb',
        '%252F',
      ),
    },
  )
const anyJson = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' })
const validEnvelope = fc.record(
  {
    args: anyJson,
    priority: fc.constantFrom(...PRIORITIES),
    delay: fc.constantFrom('1s', '10m', 500),
  },
  { requiredKeys: [] },
)

function isValidStrictArgs(v: unknown): boolean {
  return strictSchema.safeParse(v).success
}

/** One defect in an otherwise plausible enqueue body. */
const badEnvelope: fc.Arbitrary<{ body: Record<string, unknown>; why: string; name?: string }> = fc.oneof(
  fc
    .tuple(
      validEnvelope,
      anyJson.filter((a) => !isValidStrictArgs(a)),
    )
    .map(([env, args]) => ({ name: 'strict', body: { ...env, args }, why: 'args fail the schema' })),
  fc
    .tuple(
      validEnvelope,
      nastyString.filter((p) => !PRIORITIES.has(p)),
    )
    .map(([env, priority]) => ({ body: { ...env, priority }, why: 'bad priority' })),
  fc
    .tuple(
      validEnvelope,
      fc.oneof(
        fc.integer({ max: -1 }),
        fc.double({ min: 4e11, noNaN: true }),
        nastyString.filter((s) => !/^\s*\d/.test(s)),
      ),
    )
    .map(([env, delay]) => ({ body: { ...env, delay }, why: 'bad delay' })),
  fc
    .tuple(
      validEnvelope,
      fc.oneof(
        nastyString,
        fc.constantFrom('0000-01-01T00:00:00Z', '0000-12-31T23:59:59.999Z', '2026-13-45T99:00:00Z'),
      ),
    )
    .map(([{ delay: _d, ...env }, startAfter]) => ({ body: { ...env, startAfter }, why: 'bad startAfter' })),
  fc
    .tuple(validEnvelope, fc.constantFrom('1s', 5), fc.constant(new Date().toISOString()))
    .map(([env, delay, startAfter]) => ({
      body: { ...env, delay, startAfter },
      why: 'delay and startAfter',
    })),
  fc
    .tuple(
      validEnvelope,
      fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !ENVELOPE_KEYS.has(k)),
      anyJson,
    )
    .map(([env, key, value]) => ({ body: { ...env, [key]: value }, why: 'unknown key' })),
  fc
    .tuple(
      validEnvelope,
      fc.oneof(
        fc.constant(''),
        fc.string({ minLength: 201, maxLength: 300 }),
        unstorableString,
        fc.integer(),
        fc.constant(null),
        fc.array(fc.string(), { maxLength: 2 }),
      ),
    )
    .map(([env, idempotencyKey]) => ({ body: { ...env, idempotencyKey }, why: 'bad idempotencyKey' })),
  fc
    .tuple(
      validEnvelope,
      fc.oneof(unstorableString, fc.dictionary(unstorableString, fc.integer(), { minKeys: 1, maxKeys: 2 })),
    )
    .map(([env, args]) => ({
      name: 'loose',
      body: { ...env, args: { deep: [args] } },
      why: 'args PostgreSQL cannot store',
    })),
)

const enqueueCase: fc.Arbitrary<Hostile> = fc.oneof(
  // A body with one defect, as JSON.
  fc
    .tuple(badEnvelope, fc.constantFrom(...TASK_NAMES), noiseHeaders)
    .map(([{ body, why, name }, fallback, headers]) => ({
      method: 'POST',
      path: `/tasks/${name ?? fallback}`,
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      allowed: [400],
      why,
    })),
  // Args nested deeper than the limit (the body is written by hand: JSON.stringify would overflow here).
  fc
    .tuple(fc.constantFrom(...TASK_NAMES), fc.integer({ min: MAX_JSON_DEPTH + 1, max: 9_000 }), fc.boolean())
    .map(([name, depth, arrays]) => ({
      method: 'POST',
      path: `/tasks/${name}`,
      headers: { 'content-type': 'application/json' },
      body: `{"args":${(arrays ? '[' : '{"a":').repeat(depth)}1${(arrays ? ']' : '}').repeat(depth)}}`,
      allowed: [400],
      why: `args nested ${depth} deep`,
    })),
  // Not an object.
  fc
    .tuple(
      fc.constantFrom(...TASK_NAMES),
      fc.oneof(fc.array(anyJson), fc.integer(), fc.string(), fc.constant(null), fc.boolean()),
    )
    .map(([name, body]) => ({
      method: 'POST',
      path: `/tasks/${name}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      allowed: [400],
      why: 'body is not an object',
    })),
  // Malformed JSON: a strict prefix of an object's text, or garbage.
  fc
    .tuple(
      fc.constantFrom(...TASK_NAMES),
      validEnvelope,
      fc.nat(),
      fc.string({ unit: 'binary', maxLength: 20 }),
    )
    .map(([name, env, cut, garbage]) => {
      const text = JSON.stringify(env)
      return {
        method: 'POST',
        path: `/tasks/${name}`,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: `${text.slice(0, cut % text.length)}${garbage.startsWith('}') ? '' : garbage}`,
        allowed: [400],
        why: 'malformed JSON',
      }
    }),
  // Not declared as JSON.
  fc
    .tuple(
      fc.constantFrom(...TASK_NAMES),
      fc.constantFrom(
        'text/plain',
        'text/html',
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        'application/jsonx',
        'json',
      ),
      fc.string({ minLength: 1, maxLength: 50 }),
    )
    .map(([name, type, body]) => ({
      method: 'POST',
      path: `/tasks/${name}`,
      headers: { 'content-type': type },
      body,
      allowed: [415],
      why: 'not JSON',
    })),
  // Over the size limit.
  fc
    .tuple(fc.constantFrom(...TASK_NAMES), fc.integer({ min: MAX_BODY + 1, max: MAX_BODY * 2 }))
    .map(([name, size]) => ({
      method: 'POST',
      path: `/tasks/${name}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ args: { blob: 'x'.repeat(size) } }),
      allowed: [413],
      why: 'too large',
    })),
  // Header key and body key disagree.
  fc.tuple(fc.constantFrom(...TASK_NAMES), fc.uuid(), fc.uuid()).map(([name, a, b]) => ({
    method: 'POST',
    path: `/tasks/${name}`,
    headers: { 'content-type': 'application/json', 'idempotency-key': a },
    body: JSON.stringify({ args: {}, idempotencyKey: `${b}-body` }),
    allowed: [400],
    why: 'header and body keys differ',
  })),
  // Unknown task name (anything after it).
  fc
    .tuple(
      urlPart(nastyString.filter((n) => n !== '' && !TASK_NAMES.includes(n) && !/^[./]*$/.test(n))),
      validEnvelope,
    )
    .map(([name, env]) => ({
      method: 'POST',
      path: `/tasks/${name}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(env),
      allowed: [404],
      why: 'unknown task',
    })),
  // Batches: empty, not an array, an item with a defect, a header key (not accepted on a batch).
  fc
    .tuple(
      fc.constantFrom(...TASK_NAMES),
      fc.oneof(
        fc.constant({ body: { items: [] } as unknown, name: undefined }),
        fc.constant({ body: { items: {} }, name: undefined }),
        fc.constant({ body: {}, name: undefined }),
        badEnvelope.map(({ body, name }) => ({ body: { items: [{ args: {} }, body] }, name })),
      ),
    )
    .map(([fallback, { body, name }]) => ({
      method: 'POST',
      path: `/tasks/${name ?? fallback}/batch`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      allowed: [400],
      why: 'bad batch',
    })),
  fc.constantFrom(...TASK_NAMES).map((name) => ({
    method: 'POST',
    path: `/tasks/${name}/batch`,
    headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
    body: JSON.stringify({ items: [{ args: {} }] }),
    allowed: [400],
    why: 'batch with Idempotency-Key header',
  })),
)

const idCase: fc.Arbitrary<Hostile> = fc
  .tuple(
    urlPart(
      fc.oneof(
        fc.uuid(),
        nastyString.filter((s) => s !== '' && !/^[./]*$/.test(s)),
        fc.string({ minLength: 300, maxLength: 2000 }),
      ),
    ),
    fc.constantFrom('GET', 'POST cancel', 'POST retry'),
  )
  .map(([id, verb]) => {
    const [method, action] = verb.split(' ') as [string, string | undefined]
    return {
      method,
      path: `/tasks/${id}${action ? `/${action}` : ''}`,
      headers: {},
      allowed: [404],
      why: `unknown id (${verb})`,
    }
  })

const queryCase: fc.Arbitrary<Hostile> = fc
  .tuple(
    fc.constantFrom('/tasks', '/analytics', '/stats', '/metrics'),
    fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom('status', 'task', 'queue', 'limit', 'cursor', 'window', 'bucket'),
          urlPart(fc.string({ maxLength: 8 })),
        ),
        urlPart(nastyString),
      ),
      { maxLength: 4 },
    ),
  )
  .map(([route, params]) => ({
    method: 'GET',
    path: `${route}?${params.map(([k, v]) => `${k}=${v}`).join('&')}`,
    headers: {},
    allowed: [200, 400],
    why: 'random query',
  }))

const authCase: fc.Arbitrary<Hostile> = fc
  .tuple(
    fc.oneof(enqueueCase, idCase, queryCase),
    fc.option(
      fc.oneof(
        headerValue.map((v) => `Bearer ${v}`),
        headerValue,
        fc.constant(`Bearer ${TOKEN}x`),
        fc.constant(`Basic ${TOKEN}`),
      ),
    ),
  )
  .map(([c, authorization]) => ({
    ...c,
    headers: { ...c.headers, ...(authorization !== null ? { authorization } : {}) },
    allowed: [401],
    why: `wrong token (${c.why})`,
  }))

// ---- the test ---------------------------------------------------------------------------------

describe('fault scenario 8: hostile input to the HTTP API', () => {
  let pg: FaultPostgres
  let open: Tasklane
  let guarded: Tasklane
  let openApp: App
  let guardedApp: App
  const seen = new Map<string, number>()

  beforeAll(async () => {
    pg = await startFaultPostgres()
    const env = { TASKLANE_HEARTBEAT_TIMEOUT: '5s', TASKLANE_MAX_BODY: String(MAX_BODY) }
    open = await startTasklane(pg.url, [strict, loose], { workers: 0, supervise: false, env })
    guarded = await startTasklane(pg.url, [strict, loose], {
      workers: 0,
      supervise: false,
      env: { ...env, TASKLANE_API_TOKEN: TOKEN },
    })
    openApp = createApp({ tasks: open })
    guardedApp = createApp({ tasks: guarded })
  })
  afterAll(async () => {
    await open?.stop()
    await guarded?.stop()
    await pg?.destroy()
    report('8 hostile input', {
      requests: [...seen.values()].reduce((a, b) => a + b, 0),
      answers: Object.fromEntries(seen),
    })
  })

  async function rows(): Promise<number> {
    const { rows } = await pg.query(
      `select (select count(*) from pgboss.job where name not like '\\_\\_%') + (select count(*) from tasklane.idempotency_key)
            + (select count(*) from tasklane.task_history) as n`,
    )
    return Number(rows[0].n)
  }

  async function clear(): Promise<void> {
    await pg.query(
      `delete from pgboss.job where name not like '\\_\\_%'; delete from tasklane.idempotency_key; delete from tasklane.task_history`,
    )
  }

  /** Sends `c` and checks the answer; `tally` counts it in the reported status distribution. */
  async function check(app: App, c: Hostile, { tally = true } = {}): Promise<void> {
    const res = await app.request(c.path, {
      method: c.method,
      headers: c.headers,
      ...(c.body !== undefined ? { body: c.body } : {}),
    })
    const text = await res.text()
    if (tally) seen.set(String(res.status), (seen.get(String(res.status)) ?? 0) + 1)
    const where = `${c.why}: ${c.method} ${c.path.slice(0, 120)} → ${res.status} ${text.slice(0, 300)}`
    expect(c.allowed, where).toContain(res.status)
    if (res.status >= 400) {
      expect(DOCUMENTED_4XX.has(res.status), where).toBe(true)
      const body = JSON.parse(text)
      expect(body.error, where).toMatchObject({ code: expect.any(String), message: expect.any(String) })
    }
  }

  it('answers hostile enqueue requests with a documented 4xx and writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(enqueueCase, async (c) => {
        await check(openApp, c)
        // One count per case (a loaded machine runs 1,500 cases slowly enough): nothing is ever
        // written, so it must read 0. A case that wrote is cleaned up before it fails, so each case
        // fast-check tries while shrinking starts from 0 again and fails on its own.
        const written = await rows()
        if (written !== 0) await clear()
        expect(written, `${c.why}: ${c.method} ${c.path.slice(0, 120)} wrote rows`).toBe(0)
      }),
      { numRuns: 1_500 },
    )
  }, 300_000)

  it('answers unknown ids with 404 and random query strings with 200 or 400, never 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(idCase, queryCase), (c) => check(openApp, c)),
      { numRuns: 1_000 },
    )
    expect(await rows()).toBe(0)
  }, 300_000)

  it('answers 400 to a NUL byte in the task or queue filter', async () => {
    for (const path of ['/tasks?task=a%00b', '/tasks?queue=%00', '/analytics?task=%00']) {
      const c: Hostile = { method: 'GET', path, headers: {}, allowed: [200, 400], why: 'NUL in a filter' }
      await check(openApp, c, { tally: false })
    }
  })

  it('answers every request without the right token with 401', async () => {
    await fc.assert(
      fc.asyncProperty(authCase, (c) => check(guardedApp, c)),
      { numRuns: 500 },
    )
    expect(await rows()).toBe(0)
  }, 300_000)
})
