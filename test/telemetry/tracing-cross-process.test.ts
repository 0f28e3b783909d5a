import path from 'node:path'
import { httpInstrumentationMiddleware } from '@hono/otel'
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tasklaneRoutes } from '../../src/http/routes.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { type Child, spawnTs } from '../support/child-process.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { type SpanJson, spanJson } from './fixtures/span-json.ts'
import { tracedCharge, tracedFlaky } from './fixtures/traced-tasks.ts'

const WORKER = path.join(import.meta.dirname, 'fixtures/traced-worker.ts')

/** The worker's spans of one task, parsed from its `span {json}` lines. */
function workerSpans(child: Child, taskId: string): SpanJson[] {
  return child.lines
    .filter((l) => l.startsWith('span '))
    .map((l) => JSON.parse(l.slice(5)) as SpanJson)
    .filter((s) => s.attributes['messaging.message.id'] === taskId)
}

describe('one trace from the HTTP request to every attempt in another process', () => {
  let db: TestDatabase
  let api: Tasklane
  let app: Hono
  let worker: Child
  const exporter = new InMemorySpanExporter()
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })

  beforeAll(async () => {
    provider.register()
    db = await createTestDatabase()
    api = await startTasklane(db.url, [tracedCharge, tracedFlaky], { workers: 0 })
    // The application's HTTP instrumentation makes the request's SERVER span; tasklane's enqueue span
    // must be its child.
    app = new Hono()
    app.use(httpInstrumentationMiddleware({ serviceName: 'api' }))
    app.route('/', tasklaneRoutes(api))
    worker = spawnTs(WORKER, { DATABASE_URL: db.url })
    await worker.waitForLine(/^ready \d+$/)
  })
  afterAll(async () => {
    if (worker) {
      worker.proc.kill('SIGTERM')
      await worker.exited
    }
    await api?.stop()
    await db?.drop()
    await provider.shutdown()
    trace.disable()
    context.disable()
    propagation.disable()
  })

  async function enqueue(name: string, args: unknown): Promise<string> {
    const res = await app.request(`/tasks/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ args }),
    })
    expect(res.status).toBe(202)
    return ((await res.json()) as { taskId: string }).taskId
  }

  function localSpans(): SpanJson[] {
    return exporter.getFinishedSpans().map(spanJson)
  }

  it('request → enqueue (producer) → run (consumer) in the worker process → settle; logs carry the ids', async () => {
    const taskId = await enqueue('traced-charge', { amount: 42 })
    const done = await api.waitFor(taskId)
    expect(done.status).toBe('completed')
    const workerPid = (done.result as { pid: number }).pid
    expect(workerPid).not.toBe(process.pid)

    const request = localSpans().find((s) => s.kind === SpanKind.SERVER)!
    expect(request).toBeDefined()
    const send = localSpans().find((s) => s.name === 'send default')!
    expect(send).toMatchObject({
      kind: SpanKind.PRODUCER,
      traceId: request.traceId,
      parentSpanId: request.spanId,
      attributes: {
        'messaging.system': 'tasklane',
        'messaging.operation.type': 'send',
        'messaging.destination.name': 'default',
        'messaging.message.id': taskId,
        'tasklane.task.name': 'traced-charge',
        'tasklane.task.priority': 'NORMAL',
      },
    })

    // The settle span ends after the outcome commits, which may be after waitFor saw it.
    await worker.waitForLine(new RegExp(`^span .*"complete default".*${taskId}`))
    const spans = workerSpans(worker, taskId)
    const run = spans.find((s) => s.name === 'process default')!
    expect(run).toMatchObject({
      kind: SpanKind.CONSUMER,
      traceId: request.traceId,
      parentSpanId: send.spanId,
      pid: workerPid,
      attributes: {
        'messaging.system': 'tasklane',
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'default',
        'messaging.message.id': taskId,
        'tasklane.task.name': 'traced-charge',
        'tasklane.task.attempt': 1,
        'tasklane.task.max_attempts': 3,
        'tasklane.task.outcome': 'success',
      },
    })
    expect(run.attributes['tasklane.task.wait_ms']).toBeGreaterThanOrEqual(0)
    expect(run.status.code).toBe(SpanStatusCode.UNSET)
    const settle = spans.find((s) => s.name === 'complete default')!
    expect(settle).toMatchObject({
      kind: SpanKind.CLIENT,
      traceId: request.traceId,
      parentSpanId: run.spanId,
      attributes: { 'messaging.operation.type': 'settle', 'tasklane.task.status': 'completed' },
    })

    const logLine = worker.lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'charging card' && l.taskId === taskId)
    expect(logLine).toMatchObject({ trace_id: request.traceId, span_id: run.spanId, amount: 42 })
  })

  it('a failed attempt is an error span with the exception; its retry is a sibling run span', async () => {
    const taskId = await enqueue('traced-flaky', {})
    const done = await api.waitFor(taskId)
    expect(done).toMatchObject({ status: 'completed', attempts: 2 })
    const send = localSpans().find(
      (s) => s.name === 'send default' && s.attributes['messaging.message.id'] === taskId,
    )!
    await worker.waitForLine(new RegExp(`^span .*"complete default".*${taskId}`))
    const runs = workerSpans(worker, taskId)
      .filter((s) => s.name === 'process default')
      .sort(
        (a, b) =>
          Number(a.attributes['tasklane.task.attempt']) - Number(b.attributes['tasklane.task.attempt']),
      )
    expect(runs.map((r) => r.attributes['tasklane.task.attempt'])).toEqual([1, 2])
    for (const run of runs) expect(run).toMatchObject({ traceId: send.traceId, parentSpanId: send.spanId })

    const [failed, retried] = runs as [SpanJson, SpanJson]
    expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'card declined on attempt 1' })
    expect(failed.attributes).toMatchObject({ 'tasklane.task.outcome': 'failed', 'error.type': 'Error' })
    expect(failed.events).toContainEqual({
      name: 'exception',
      attributes: expect.objectContaining({
        'exception.type': 'Error',
        'exception.message': 'card declined on attempt 1',
      }),
    })
    expect(retried.status.code).toBe(SpanStatusCode.UNSET)
    expect(retried.attributes['tasklane.task.outcome']).toBe('success')

    const failSettle = workerSpans(worker, taskId).find((s) => s.name === 'fail default')!
    expect(failSettle).toMatchObject({
      parentSpanId: failed.spanId,
      attributes: { 'tasklane.task.status': 'retrying' },
    })
  })
})
