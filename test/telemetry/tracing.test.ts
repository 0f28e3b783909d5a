import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { engineOf } from '../../src/internal.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { waitUntil } from '../http/helpers/wait-until.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { type SpanJson, spanJson } from './fixtures/span-json.ts'

/** Returns the ids of the span active while it runs: the task's own spans would nest under it. */
const whoAmI = defineTask({
  name: 'who-am-i',
  async run() {
    const span = trace.getActiveSpan()
    return { traceId: span?.spanContext().traceId ?? null, spanId: span?.spanContext().spanId ?? null }
  },
})
const slow = defineTask({
  name: 'too-slow',
  timeout: 50,
  retry: { limit: 0 },
  async run(_args: Record<string, never>, ctx) {
    await new Promise((_resolve, reject) =>
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
    )
  },
})
const waitsForCancel = defineTask({
  name: 'waits-for-cancel',
  async run(_args: Record<string, never>, ctx) {
    await new Promise((_resolve, reject) =>
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
    )
  },
})

const refused = defineTask({
  name: 'refused-result',
  run: () => ({ poison: true }),
})

describe('tracing in one process, with an SDK and its in-memory exporter', () => {
  let db: TestDatabase
  let tasks: Tasklane
  const exporter = new InMemorySpanExporter()
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = () => trace.getTracer('test-app')

  beforeAll(async () => {
    provider.register()
    db = await createTestDatabase()
    // A result the database refuses (a trigger, as a constraint or size limit would).
    await db.query(`
      create function public.refuse_poison() returns trigger language plpgsql as $$
      begin
        if new.result ? 'poison' then raise exception 'result refused by policy'; end if;
        return new;
      end $$;
      create trigger refuse_poison before insert on tasklane.task_history
        for each row execute function public.refuse_poison();`)
    tasks = await startTasklane(db.url, [whoAmI, slow, waitsForCancel, refused], { workers: 4 })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
    await provider.shutdown()
    trace.disable()
    context.disable()
    propagation.disable()
  })

  const spans = (): SpanJson[] => exporter.getFinishedSpans().map(spanJson)
  const spansOf = (taskId: string, name: string) =>
    spans().filter((s) => s.name === name && s.attributes['messaging.message.id'] === taskId)

  /** A span no event announces (a settle span ends when its commit returns, maybe after waitFor saw it). */
  const ended = (taskId: string, name: string) =>
    waitUntil(() => spansOf(taskId, name)[0], { what: `the ${name} span of ${taskId}` })

  it('addTask in an active span: send is its child, the attempt runs with its process span active', async () => {
    const { taskId, parentSpanId } = await tracer().startActiveSpan('checkout', async (span) => {
      const { taskId } = await tasks.addTask(whoAmI, {})
      span.end()
      return { taskId, parentSpanId: span.spanContext().spanId }
    })
    const done = await tasks.waitFor(taskId)
    const send = spansOf(taskId, 'send default')[0]!
    expect(send).toMatchObject({ kind: SpanKind.PRODUCER, parentSpanId })
    const run = spansOf(taskId, 'process default')[0]!
    expect(run).toMatchObject({ kind: SpanKind.CONSUMER, traceId: send.traceId, parentSpanId: send.spanId })
    expect(done.result).toEqual({ traceId: run.traceId, spanId: run.spanId })
    const { rows } = await db.query(`select data from ${tasks.config.bossSchema}.job where id = $1`, [taskId])
    expect(rows[0].data.trace.traceparent).toBe(`00-${send.traceId}-${send.spanId}-01`)
    expect(await ended(taskId, 'complete default')).toMatchObject({ parentSpanId: run.spanId })
  })

  it('addTasks is one send span with the batch size; each task gets its own run span under it', async () => {
    const results = await tasks.addTasks(whoAmI, [{}, {}, {}])
    await Promise.all(results.map((r) => tasks.waitFor(r.taskId)))
    const send = spans().find(
      (s) => s.name === 'send default' && s.attributes['messaging.batch.message_count'] === 3,
    )!
    expect(send.attributes['messaging.message.id']).toBeUndefined()
    for (const { taskId } of results) {
      expect(spansOf(taskId, 'process default')[0]).toMatchObject({
        traceId: send.traceId,
        parentSpanId: send.spanId,
      })
    }
  })

  it("addTask in the caller's transaction carries the trace as well", async () => {
    const taskId = await tracer().startActiveSpan('order', async (span) => {
      const { taskId } = await engineOf(tasks)
        .db.transaction()
        .execute((trx) => tasks.addTask(whoAmI, {}, { db: trx }))
      span.end()
      return taskId
    })
    await tasks.waitFor(taskId)
    const send = spansOf(taskId, 'send default')[0]!
    expect(spansOf(taskId, 'process default')[0]).toMatchObject({ parentSpanId: send.spanId })
  })

  it('a timed-out attempt: outcome timeout, status error, TimeoutError; its settle says failed', async () => {
    const { taskId } = await tasks.addTask(slow, {})
    expect((await tasks.waitFor(taskId)).status).toBe('failed')
    const run = spansOf(taskId, 'process default')[0]!
    expect(run.status.code).toBe(SpanStatusCode.ERROR)
    expect(run.attributes).toMatchObject({ 'tasklane.task.outcome': 'timeout', 'error.type': 'TimeoutError' })
    expect(run.events.map((e) => e.name)).toEqual(['exception'])
    expect(await ended(taskId, 'fail default')).toMatchObject({
      parentSpanId: run.spanId,
      attributes: { 'tasklane.task.status': 'failed' },
    })
  })

  it('a result the database refuses: the run succeeded, its settle span is the error', async () => {
    const { taskId } = await tasks.addTask(refused, {})
    expect((await tasks.waitFor(taskId)).status).toBe('failed')
    const run = spansOf(taskId, 'process default')[0]!
    expect(run.attributes['tasklane.task.outcome']).toBe('success')
    const settle = await ended(taskId, 'complete default')
    expect(settle).toMatchObject({
      parentSpanId: run.spanId,
      status: { code: SpanStatusCode.ERROR },
      attributes: { 'tasklane.task.status': 'failed', 'error.type': 'OutcomeNotStored' },
    })
    expect(settle.status.message).toMatch(/result could not be stored: result refused by policy/)
  })

  it('a cancelled running attempt: outcome cancelled, not an error', async () => {
    const started = new Promise<void>((resolve) => {
      const off = tasks.on('task:start', (e) => {
        if (e.task === 'waits-for-cancel') {
          off()
          resolve()
        }
      })
    })
    const { taskId } = await tasks.addTask(waitsForCancel, {})
    await started
    await tasks.cancel(taskId)
    const run = await ended(taskId, 'process default')
    expect(run.attributes['tasklane.task.outcome']).toBe('cancelled')
    expect(run.status.code).toBe(SpanStatusCode.UNSET)
  })
})
