import { errorOfOutput } from './boss-failure.ts'
import type { JobRow } from './job.repository.ts'
import type { LiveJob, LiveJobFilter, LiveStatus } from './job-store.ts'

/**
 * The status a pg-boss job stands for. A claimed job is `running` once its handler started
 * (started_on is set); until then it waits in a worker's local buffer and is still `queued`.
 */
export function liveStatusOf(job: JobRow): LiveStatus {
  if (awaitsRecovery(job)) return 'queued'
  switch (job.state) {
    case 'created':
      return job.deferred ? 'scheduled' : 'queued'
    case 'retry':
      return 'retrying'
    case 'active':
      return job.started_on ? 'running' : 'queued'
    default:
      return job.state
  }
}

/**
 * A buffered claim of a worker that died: pg-boss failed it for its lapsed heartbeat (its own failure
 * carries `{ value }`) although its handler never started, and the next heartbeat of any live worker
 * puts it back unspent (lease.repository.ts, recoverUnstartedClaims, same condition). Until then it
 * still is what it will be again, queued: read as `failed`, waitFor would end on a task that then
 * runs and completes. Once its free recoveries are spent, started_on is set and it fails as usual.
 */
function awaitsRecovery(job: JobRow): boolean {
  return (
    (job.state === 'failed' || job.state === 'retry') &&
    job.started_on === null &&
    typeof job.output === 'object' &&
    job.output !== null &&
    'value' in job.output
  )
}

/** pg-boss's row in tasklane's terms. */
export function toLiveJob(job: JobRow): LiveJob {
  const ended =
    job.state === 'completed' || job.state === 'failed' || job.state === 'cancelled' ? job.state : null
  return {
    id: job.id,
    queue: job.queue,
    task: typeof job.data?.task === 'string' ? job.data.task : null,
    args: job.data?.args ?? null,
    priority: job.priority,
    status: liveStatusOf(job),
    ended,
    awaitingRetry: job.state === 'retry',
    retryCount: job.retry_count,
    retryLimit: job.retry_limit,
    startedAt: job.started_on,
    createdOn: job.created_on,
    startAfter: job.start_after,
    completedOn: job.completed_on,
    // pg-boss's output in tasklane's record (boss-failure.ts); a completed job's output is no error.
    error: job.state === 'completed' ? null : errorOfOutput(job.output),
  }
}

type BossState = JobRow['state']

/** Which pg-boss rows a live status is (the list filter of job.repository.ts listJobs). */
export const LIVE_STATES: Record<
  NonNullable<LiveJobFilter['status']>,
  { states: BossState[]; deferred?: boolean; started?: boolean }
> = {
  scheduled: { states: ['created'], deferred: true },
  queued: { states: ['created', 'active'], deferred: false, started: false },
  running: { states: ['active'], started: true },
  retrying: { states: ['retry'] },
}

/** Every live status at once: the rows that have not ended. */
export const NOT_ENDED: { states: BossState[] } = { states: ['created', 'retry', 'active'] }
