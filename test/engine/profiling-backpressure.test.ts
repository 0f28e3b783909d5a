import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

const crunch = defineTask({
  name: 'crunch',
  async run() {
    // Some real CPU and memory, so the profile has something to show.
    const buffers = Array.from({ length: 20 }, () => Buffer.alloc(1024 * 1024, 1))
    let sum = 0
    for (let i = 0; i < 2e6; i++) sum += i % 7
    return { sum, mb: buffers.length }
  },
})

let inFlight = 0
let peak = 0
const holding = new Set<() => void>()
/**
 * Holds until another `overlap` task runs beside it, or for HOLD_MS. Side by side, they finish at once;
 * one at a time, each waits out HOLD_MS, long enough for a second lease to come in were it allowed.
 * (A fixed 150 ms hold could let a loaded machine run them one after another without a budget.)
 */
const HOLD_MS = 500
const overlap = defineTask({
  name: 'overlap',
  async run() {
    peak = Math.max(peak, ++inFlight)
    if (inFlight > 1) {
      for (const release of holding) release()
    } else {
      await new Promise<void>((resolve) => {
        const release = () => {
          clearTimeout(timer)
          holding.delete(release)
          resolve()
        }
        const timer = setTimeout(release, HOLD_MS)
        holding.add(release)
      })
    }
    inFlight--
  },
})

describe('seed options: profiling and the memory pool', () => {
  let db: TestDatabase
  const started: Tasklane[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    for (const t of started) await t.stop()
    await db?.drop()
  })

  it('records per-task CPU time and peak memory in history when profiling is on', async () => {
    const tasks = await startTasklane(db.url, [crunch], { workers: 1, enableProfiling: true })
    started.push(tasks)
    const { taskId } = await tasks.addTask(crunch, {})
    await tasks.waitFor(taskId)
    const { rows } = await db.query(
      'select cpu_ms, peak_memory_mb from tasklane.task_history where task_id = $1',
      [taskId],
    )
    expect(rows[0].cpu_ms).toBeGreaterThan(0)
    expect(rows[0].peak_memory_mb).toBeGreaterThan(20)
    await tasks.stop()
  })

  it('leases one task at a time, and only when idle, while the process is above its memory budget', async () => {
    // A 1 MiB budget is always exceeded: the worker may hold at most one task at a time.
    const tasks = await startTasklane(db.url, [overlap], {
      workers: 4,
      memoryPoolMb: 1,
      pollInterval: '50ms',
    })
    started.push(tasks)
    const queued = await tasks.addTasks(overlap, [{}, {}, {}, {}])
    await Promise.all(queued.map((q) => tasks.waitFor(q.taskId)))
    expect(peak).toBe(1)
    const { rows } = await db.query('select memory_pool_mb from tasklane.worker_process where id = $1', [
      tasks.workerId,
    ])
    expect(rows[0].memory_pool_mb).toBe(1)
    await tasks.stop()
    // Without a budget the same worker runs them side by side.
    peak = 0
    const unbounded = await startTasklane(db.url, [overlap], { workers: 4 })
    started.push(unbounded)
    const more = await unbounded.addTasks(overlap, [{}, {}, {}, {}])
    await Promise.all(more.map((q) => unbounded.waitFor(q.taskId)))
    expect(peak).toBeGreaterThan(1)
  })
})
