import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { exitNow, record } from './fixtures/fault-tasks.ts'
import { startFaultCluster, stopFaultCluster } from './support/cluster.ts'
import type { FaultPostgres } from './support/fault-postgres.ts'
import type { Fleet, TasklaneProcess } from './support/fleet.ts'
import { report, since, waitUntil } from './support/wait.ts'

// Scenario 7: a task that calls process.exit() inside run(). Each attempt takes its worker process
// down; the test restarts workers like a supervisor (systemd, Kubernetes) would. With retry limit 1
// the task must run exactly twice, then stay `failed` with a "worker lost" error in history (pg-boss's
// heartbeat monitor fails it, tasklane's maintenance records it), never loop forever.
const OTHERS = 20

describe('fault scenario 7: a task that exits its worker process', () => {
  let pg: FaultPostgres
  let fleet: Fleet
  let producer: Tasklane

  beforeAll(async () => {
    ;({ pg, fleet, producer } = await startFaultCluster({ TASKLANE_WORKERS: '4' }))
  })
  afterAll(() => stopFaultCluster({ pg, fleet, producer }))

  it('fails it with "worker lost" after its retries, restarting workers as a supervisor would', async () => {
    const { taskId } = await producer.addTask(exitNow, {})
    const others = (
      await producer.addTasks(
        record,
        Array.from({ length: OTHERS }, (_, n) => ({ n })),
      )
    ).map((t) => t.taskId)
    const start = Date.now()

    // The supervisor: one worker at a time, restarted whenever it exits, until the test is done.
    const exits: { pid: number; code: number | null }[] = []
    let done = false
    let current: TasklaneProcess | null = null
    const supervisor = (async () => {
      while (!done) {
        // Not waiting for 'tasklane started': the exiting task can be leased during start() and end
        // the process before that line is written, which is an exit like any other here.
        current = fleet.spawnWorker()
        const exit = await current.exited
        if (done) break
        exits.push({ pid: current.pid, code: exit.code })
      }
    })()
    // Awaited at the end; until then a failure (a worker killed by afterAll as it starts, after the
    // test already failed) must not surface as an unhandled rejection that blames another file.
    supervisor.catch(() => {})
    // A supervisor that stopped (a worker that never got ready) fails the wait at once, saying why,
    // instead of leaving it to time out with no worker left to run anything.
    const supervisorStopped = supervisor.then(
      () => new Promise<never>(() => {}),
      (err: unknown) => {
        throw new Error(`the test's supervisor stopped restarting workers: ${(err as Error).message}`)
      },
    )
    supervisorStopped.catch(() => {})

    const row = await Promise.race([
      supervisorStopped,
      waitUntil(
        'the exiting task to be failed in history',
        async () =>
          (
            await pg.query<{ status: string; attempts: number; error: { type: string; message: string } }>(
              'select status, attempts, error from tasklane.task_history where task_id = $1',
              [taskId],
            )
          ).rows[0],
        (row) => row !== undefined,
        // Three worker starts (each up to CHILD_LINE_TIMEOUT_MS on a loaded machine), two lapsed
        // heartbeats (5 s each) and a maintenance pass: a hang detector, not a speed claim.
        { timeoutMs: 600_000, everyMs: 200 },
      ),
    ])
    const failedMs = since(start)
    const failed = row!
    expect(failed.status).toBe('failed')
    expect(failed.attempts).toBe(2)
    expect(failed.error.type).toBe('WorkerLost')
    expect(failed.error.message).toMatch(/worker lost/)

    await waitUntil(
      `${OTHERS} other tasks completed`,
      async () =>
        Number(
          (
            await pg.query(
              `select count(*) as n from tasklane.task_history where task_id = any($1::uuid[]) and status = 'completed'`,
              [others],
            )
          ).rows[0].n,
        ),
      (n) => n === OTHERS,
      { timeoutMs: 60_000 },
    )
    const runs = await pg.query<{ attempt: number; pid: number }>(
      'select attempt, pid from public.fault_exec where task_id = $1 order by at',
      [taskId],
    )
    expect(runs.rows.map((r) => r.attempt)).toEqual([1, 2])
    expect(exits).toEqual(runs.rows.map((r) => ({ pid: r.pid, code: 3 })))
    const job = await pg.query('select state, retry_count from pgboss.job where id = $1', [taskId])
    expect(job.rows[0]).toEqual({ state: 'failed', retry_count: 1 })

    // Attempts lost with their process leave no task_attempt row (see docs/reliability.md, "Known gaps").
    const attemptRows = await pg.query(
      'select attempt, outcome from tasklane.task_attempt where task_id = $1',
      [taskId],
    )

    done = true
    const last = current as TasklaneProcess | null
    expect(last?.alive()).toBe(true)
    last?.proc.kill('SIGTERM')
    await supervisor
    report('7 process.exit in run', {
      attempts: runs.rows.length,
      workerExits: exits.length,
      failedInHistoryAfterMs: failedMs,
      error: failed.error.message,
      othersCompleted: OTHERS,
      taskAttemptRows: attemptRows.rows,
    })
  }, 900_000)
})
