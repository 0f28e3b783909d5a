import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import type { TasksEnv } from '../../src/http/with-tasks.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { call } from '../http/helpers/call.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

const ok = defineTask({
  name: 'ok',
  async run(args: { i: number }) {
    return args.i
  },
})
const flaky = defineTask({
  name: 'flaky',
  retry: { limit: 1, delay: 0 },
  async run() {
    throw new Error('flaky failure')
  },
})
const slow = defineTask({
  name: 'slow',
  timeout: '100ms',
  retry: { limit: 0 },
  run: (_args, ctx) =>
    new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
})
// Its queue has no worker anywhere, so its tasks stay queued: known queue sizes.
const parked = defineTask({ name: 'parked', queue: 'parked', async run() {} })

const FIELDS =
  `criticalQueueSize highQueueSize normalQueueSize lowQueueSize totalQueued scheduled queuePressure
  activeWorkers idleWorkers totalWorkers avgWorkerUtilization tasksPerSecond avgExecutionTimeMs p95ExecutionTimeMs
  p99ExecutionTimeMs memoryUsageMb memoryEfficiency workerCpuUsage workerMemoryUsage engineCpuUsage
  totalTasksProcessed failedTasks errorRate uptimeSeconds retryCount timeoutCount windowSeconds`.split(/\s+/)

/** percentile_cont: linear interpolation between the closest ranks. */
function percentile(sorted: number[], p: number): number {
  const pos = p * (sorted.length - 1)
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

describe('GET /stats and GET /metrics after a known workload', () => {
  let db: TestDatabase
  let api: Tasklane
  let app: Hono<TasksEnv>

  beforeAll(async () => {
    db = await createTestDatabase()
    const worker = await startTasklane(db.url, [ok, flaky, slow], { workers: 2 })
    api = await startTasklane(db.url, [ok, flaky, slow, parked], { workers: 0 })
    app = createApp({ tasks: api })
    const ids = [
      ...(
        await api.addTasks(
          ok,
          Array.from({ length: 10 }, (_, i) => ({ i })),
        )
      ).map((r) => r.taskId),
      (await api.addTask(flaky, {})).taskId,
      (await api.addTask(slow, {})).taskId,
    ]
    const finals = await Promise.all(ids.map((id) => api.waitFor(id)))
    expect(finals.map((t) => t.status).sort()).toEqual([...Array(10).fill('completed'), 'failed', 'failed'])
    // Stopping removes the worker's own registry row; the rows below are the whole cluster.
    await worker.stop()
    await api.addTask(parked, {}, { priority: 'CRITICAL' })
    for (const [priority, n] of [
      ['HIGH', 2],
      ['NORMAL', 3],
      ['LOW', 4],
    ] as const) {
      await api.addTasks(
        parked,
        Array.from({ length: n }, () => ({})),
        { priority },
      )
    }
    await api.addTasks(parked, [{}, {}], { delay: '1h' })
    await db.query(`
      insert into tasklane.worker_process (id, host, pid, queues, concurrency, busy, rss_mb, heap_mb, cpu_percent, started_at, heartbeat_at)
      values ('a', 'h1', 1, '{}', 4, 1, 100, 40, 10, now() - interval '10 minutes', now()),
             ('b', 'h2', 2, '{}', 2, 2, 50, 10, 5, now() - interval '10 minutes', now()),
             ('gone', 'h3', 3, '{}', 8, 8, 999, 999, 99, now() - interval '2 hours', now() - interval '10 minutes')`)
  })
  afterAll(async () => {
    await api?.stop()
    await db?.drop()
  })

  it('has every TaskStats field, each a number', async () => {
    const res = await call(app, 'GET', '/stats')
    expect(res.status).toBe(200)
    expect(Object.keys(res.json).sort()).toEqual([...FIELDS].sort())
    for (const f of FIELDS) expect(typeof res.json[f], f).toBe('number')
  })

  it('counts queues by priority, scheduled tasks and live workers exactly', async () => {
    const s = (await call(app, 'GET', '/stats')).json
    expect(s).toMatchObject({
      criticalQueueSize: 1,
      highQueueSize: 2,
      normalQueueSize: 3,
      lowQueueSize: 4,
      totalQueued: 10,
      scheduled: 2,
      queuePressure: 1.667,
      activeWorkers: 3,
      idleWorkers: 3,
      totalWorkers: 6,
      memoryUsageMb: 150,
      memoryEfficiency: 33.33,
      workerCpuUsage: 15,
      workerMemoryUsage: 50,
      windowSeconds: 300,
    })
    expect(s.uptimeSeconds).toBeGreaterThanOrEqual(600)
    expect(s.engineCpuUsage).toBeGreaterThan(0)
  })

  it('computes outcomes, retries, timeouts and run-time figures over the window', async () => {
    const s = (await call(app, 'GET', '/stats')).json
    expect(s).toMatchObject({
      totalTasksProcessed: 12,
      failedTasks: 2,
      errorRate: 0.1667,
      retryCount: 1,
      timeoutCount: 1,
      tasksPerSecond: 0.04,
    })
    const { rows } = await db.query<{ d: number }>(
      `select duration_ms as d from tasklane.task_history where status <> 'cancelled' order by duration_ms`,
    )
    const runs = rows.map((r) => r.d)
    expect(runs).toHaveLength(12)
    const mean = runs.reduce((a, b) => a + b, 0) / runs.length
    expect(s.avgExecutionTimeMs).toBeCloseTo(mean, 0)
    expect(s.p95ExecutionTimeMs).toBeCloseTo(percentile(runs, 0.95), 0)
    expect(s.p99ExecutionTimeMs).toBeCloseTo(percentile(runs, 0.99), 0)
    expect(runs.at(-1)).toBeGreaterThanOrEqual(100) // the timed-out attempt ran its 100 ms
    expect(s.p99ExecutionTimeMs).toBeGreaterThan(s.p95ExecutionTimeMs)
  })

  it('derives utilization from attempt run time over the slot time live workers offered', async () => {
    const s = (await call(app, 'GET', '/stats')).json
    const { rows } = await db.query<{ ms: number }>(`
      select sum(extract(epoch from finished_at - started_at) * 1000)::float8 as ms from (
        select started_at, finished_at from tasklane.task_history where status = 'completed'
        union all select started_at, finished_at from tasklane.task_attempt) t`)
    const slotMs = 6 * 300_000
    expect(s.avgWorkerUtilization).toBeCloseTo((rows[0]!.ms / slotMs) * 100, 2)
  })

  it('GET /metrics exposes the same figures in Prometheus text format', async () => {
    const res = await call(app, 'GET', '/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const lines = res.text.trimEnd().split('\n')
    for (const line of lines) {
      expect(line).toMatch(
        /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+|[a-z_]+(\{.*\})? \+Inf)$/,
      )
    }
    const value = (sample: string) => Number(lines.find((l) => l.startsWith(`${sample} `))?.split(' ')[1])
    expect(value('tasklane_queue_ready_tasks{priority="critical"}')).toBe(1)
    expect(value('tasklane_queue_ready_tasks{priority="low"}')).toBe(4)
    expect(value('tasklane_queue_scheduled_tasks')).toBe(2)
    expect(value('tasklane_tasks_finished{outcome="completed"}')).toBe(10)
    expect(value('tasklane_tasks_finished{outcome="failed"}')).toBe(2)
    expect(value('tasklane_workers_busy')).toBe(3)
    expect(value('tasklane_worker_slots')).toBe(6)
    expect(value('tasklane_worker_processes')).toBe(2)
    expect(res.text).toContain('# TYPE tasklane_task_run_seconds histogram')
    const buckets = lines
      .filter((l) => l.startsWith('tasklane_task_run_seconds_bucket'))
      .map((l) => Number(l.split(' ')[1]))
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b))
    expect(buckets.at(-1)).toBe(12)
    expect(value('tasklane_task_run_seconds_count')).toBe(12)
    expect(value('tasklane_task_run_seconds_bucket{le="0.05"}')).toBeLessThan(12) // the 100 ms timeout is above it
  })
})
