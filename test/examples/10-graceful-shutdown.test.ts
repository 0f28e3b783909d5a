import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createExampleApp,
  createGracefulShutdown,
  createTasks,
  type GracefulShutdown,
} from '../../examples/10-graceful-shutdown.ts'
import { waitUntil } from '../http/helpers/wait-until.ts'
import { type ExampleRun, runExample, TIME_SCALE } from './example-harness.ts'

describe('example 10: graceful shutdown', () => {
  const tasks = createTasks({ timeScale: TIME_SCALE })
  let ex: ExampleRun
  let shutdown: GracefulShutdown
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => {
      shutdown = createGracefulShutdown(t)
      return createExampleApp(t, tasks, shutdown)
    })
  })
  afterAll(() => ex?.close())

  it('drains for real: /shutdown-status reports it, the running task finishes, nothing is left active', async () => {
    expect((await ex.get('/shutdown-status')).body).toEqual({
      shutdown_requested: false,
      message: 'Server is running normally',
    })
    // Two steps of 3 s (at 1/1000 speed), running when the signal comes and still running when the
    // status is read just after: seconds of margin for a loaded machine (0.3 s steps were not always).
    const { taskId } = await ex.tasklane.addTask(tasks.longRunningTask, { steps: 2, stepMs: 3_000_000 })
    for await (const ev of ex.tasklane.events({ taskId }))
      if (ev.type === 'status' && ev.status === 'running') break
    // The example counts running attempts from this process's `task:start` hooks, which need not come
    // before the `running` event has gone through the database (a proof run read 0 here).
    await waitUntil(() => shutdown.running() === 1, { what: 'the task:start hook of the running task' })

    const log = console.log
    console.log = () => {}
    // What SIGTERM does (the example's main wires the signal to shutdown.run()).
    const drained = shutdown.run().finally(() => {
      console.log = log
    })
    expect((await ex.get('/shutdown-status')).body).toEqual({
      shutdown_requested: true,
      message: 'Shutdown in progress: waiting for 1 running task(s)',
    })
    await drained
    const { rows } = await ex.db.query(
      `select status, result from tasklane.task_history where task_id = $1`,
      [taskId],
    )
    expect(rows).toEqual([{ status: 'completed', result: { result: 'Task completed successfully' } }])
    const active = await ex.db.query(`select count(*)::int as n from pgboss.job where state = 'active'`)
    expect(active.rows[0].n).toBe(0)
  })
})
