import { type ChildProcess, spawn } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import { engineOf } from '../../src/internal.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { CHILD_LINE_TIMEOUT_MS } from '../support/child-process.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { remoteProgress } from './fixtures/remote-tasks.ts'
import { SseReader } from './helpers/sse-reader.ts'
import { waitUntil } from './helpers/wait-until.ts'

const FIXTURE = path.join(import.meta.dirname, 'fixtures/progress-worker.ts')

/** Starts the worker process and resolves with its pid once it says it is ready. */
function startWorker(url: string): Promise<{ child: ChildProcess; pid: number }> {
  const child = spawn('npx', ['tsx', FIXTURE, url], { stdio: ['pipe', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker process not ready within ${CHILD_LINE_TIMEOUT_MS} ms`)),
      CHILD_LINE_TIMEOUT_MS,
    )
    child.once('exit', (code) => reject(new Error(`worker process exited early (${code})`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^ready (\d+)$/.exec(line)
      if (!m) return
      clearTimeout(timer)
      resolve({ child, pid: Number(m[1]) })
    })
  })
}

describe('SSE across processes, over a real socket', () => {
  let db: TestDatabase
  let api: Tasklane
  let server: ReturnType<typeof serve>
  let base = ''
  let worker: { child: ChildProcess; pid: number }

  beforeAll(async () => {
    db = await createTestDatabase()
    await db.query('create table sse_gate (task_id uuid, step text)')
    api = await startTasklane(db.url, [remoteProgress], { workers: 0 })
    await new Promise<void>((resolve) => {
      server = serve(
        { fetch: createApp({ tasks: api }).fetch, hostname: '127.0.0.1', port: 0 },
        (info: AddressInfo) => {
          base = `http://127.0.0.1:${info.port}`
          resolve()
        },
      )
    })
    worker = await startWorker(db.url)
  })
  afterAll(async () => {
    if (worker) {
      const exited = new Promise((r) => worker.child.once('exit', r))
      worker.child.stdin!.end()
      await exited
    }
    ;(server as unknown as { closeAllConnections?: () => void })?.closeAllConnections?.()
    await new Promise((r) => server?.close(r))
    await api?.stop()
    await db?.drop()
  })

  it('streams progress reported by a task running in another process, then its result', async () => {
    const enqueued = await fetch(`${base}/tasks/remote-progress`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ args: { url: db.url } }),
    })
    expect(enqueued.status).toBe(202)
    const { taskId } = (await enqueued.json()) as { taskId: string }
    const sse = new SseReader(await fetch(`${base}/tasks/${taskId}/events`))
    const first = await sse.until((e) => e.event === 'progress' && e.json.percent === 30, 30_000)
    expect(first[0]).toMatchObject({ event: 'status', json: { taskId } })
    await db.query(`insert into sse_gate values ($1, 'crunch')`, [taskId])
    const mid = await sse.until((e) => e.event === 'progress' && e.json.percent === 80)
    expect(mid.at(-1)!.json).toMatchObject({ taskId, step: 'crunched' })
    await db.query(`insert into sse_gate values ($1, 'finish')`, [taskId])
    const end = await sse.until((e) => e.event === 'result')
    expect(end.at(-1)!.json).toMatchObject({ taskId, status: 'completed', result: { pid: worker.pid } })
    expect(worker.pid).not.toBe(process.pid)
    expect(await sse.next()).toBeNull()
  })

  it('removes the bus listener when an HTTP client disconnects', async () => {
    const baseline = engineOf(api).bus.listenerCount
    const abort = new AbortController()
    const res = await fetch(`${base}/events`, { signal: abort.signal })
    const sse = new SseReader(res)
    expect(await sse.next()).toEqual({ comment: 'connected' })
    expect(engineOf(api).bus.listenerCount).toBe(baseline + 2)
    abort.abort()
    await waitUntil(() => engineOf(api).bus.listenerCount === baseline, {
      what: 'the server to notice the disconnect',
    })
  })
})
