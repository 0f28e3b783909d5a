import type { EnqueueRequest } from '../enqueue/enqueue-request.ts'
import type { TaskDefinition } from '../tasks/define-task.ts'
import { PRIORITIES, toBossPriority } from '../tasks/priority.ts'
import type { TraceCarrier } from '../telemetry/trace-context.ts'
import type { SqlEnqueueTarget } from './job-store.ts'

/**
 * pg-boss's job data. `retryMs` keeps retry delays that are not whole seconds to the millisecond:
 * pg-boss's columns hold whole seconds (rounded up), which is what tasklane reads when it is absent
 * (an SQL enqueue path that takes a sub-second delay must write it). See tasks/retry-delay.ts.
 */
export interface BossJobData {
  task: string
  args: unknown
  retryMs?: { delay: number; maxDelay: number | null }
  trace?: TraceCarrier
}

export interface BossJobInsert {
  id: string
  data: BossJobData
  priority: number
  startAfter?: string
  retryLimit: number
  retryDelay: number
  retryBackoff: boolean
  retryDelayMax?: number
  expireInSeconds: number
  heartbeatSeconds: number
}

/** The pg-boss row for a request. */
export function toBossJob(r: EnqueueRequest, heartbeatSeconds: number): BossJobInsert {
  const { task, retry } = r
  return {
    id: r.id,
    // The trace context rides in the job's data rather than pg-boss's trace_context column: a group
    // commit inserts many callers' jobs in one pg-boss call, which would stamp them all with one
    // context, and pg-boss's fetch() keeps that column to itself.
    data: {
      task: task.name,
      args: r.args,
      // Only when pg-boss's whole seconds cannot say it: most jobs keep the plain { task, args } shape.
      ...(retry.delayMs % 1000 !== 0 || (retry.maxDelayMs ?? 0) % 1000 !== 0
        ? { retryMs: { delay: retry.delayMs, maxDelay: retry.maxDelayMs } }
        : {}),
      ...(r.traceContext ? { trace: r.traceContext } : {}),
    },
    priority: toBossPriority(r.priority),
    ...(r.startAfter ? { startAfter: r.startAfter } : {}),
    retryLimit: retry.limit,
    // Whole seconds, rounded up: used only by pg-boss's own retries (a lost worker). A failed attempt's
    // retry is scheduled by tasklane from data.retryMs, to the millisecond (tasks/retry-delay.ts).
    retryDelay: Math.ceil(retry.delayMs / 1000),
    retryBackoff: retry.backoff === 'exponential',
    ...(retry.maxDelayMs !== null ? { retryDelayMax: Math.ceil(retry.maxDelayMs / 1000) } : {}),
    // Our own timeout aborts the attempt; pg-boss's expiry is only the backstop for a worker that
    // neither finishes nor dies (its heartbeat keeps the claim alive), so it sits well beyond it.
    expireInSeconds: task.timeoutMs !== null ? Math.ceil(task.timeoutMs / 1000) + 60 : 86_400,
    heartbeatSeconds,
    // No deadLetter for pg-boss: its copy into that queue would run the failed task again there.
    // tasklane parks a final failure for the task's dead-letter queue itself (worker/settler.ts).
  }
}

/**
 * The SQL API's target in pg-boss: its schema, whether its insert NOTIFYs, the priority mapping, and
 * each task's job options (toBossJob's, so a task enqueued from SQL gets the very values addTask writes).
 */
export function bossSqlEnqueue(
  bossSchema: string,
  listenNotify: boolean,
  heartbeatSeconds: number,
): SqlEnqueueTarget {
  return {
    setting: {
      bossSchema,
      // pg-boss NOTIFYs on insert unless its backend has no LISTEN/NOTIFY (CockroachDB).
      listenNotify,
      // TaskPriority → pg-boss's integer priority (the one mapping, tasks/priority.ts).
      priorities: Object.fromEntries(PRIORITIES.map((p) => [p, toBossPriority(p)])),
    },
    jobOptions(task: TaskDefinition<unknown, unknown>) {
      const request = {
        id: '',
        task,
        args: null,
        priority: task.priority,
        startAfter: null,
        retry: task.retry,
      }
      const { id, data, priority, startAfter, ...options } = toBossJob(
        request as EnqueueRequest,
        heartbeatSeconds,
      )
      return options
    },
  }
}
