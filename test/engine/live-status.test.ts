import { describe, expect, it } from 'vitest'
import { OWNER_GONE_MESSAGE, OWNER_LOCK_RELEASED_OUTPUT } from '../../src/queue/boss-failure.ts'
import type { JobRow } from '../../src/queue/job.repository.ts'
import { liveStatusOf as liveStatus, toLiveJob } from '../../src/queue/live-job.ts'

// The status a live pg-boss job reads as. A buffered claim of a killed worker is failed by pg-boss's
// monitor before a live worker's heartbeat puts it back unspent: in between it must read `queued`, or
// waitFor ends on `failed` for a task that then runs (a proof run of sigkill-recovery saw that).
function job(over: Partial<JobRow>): JobRow {
  return {
    id: '01a22d60-9208-7694-b834-1a66021a91c7',
    queue: 'default',
    priority: 0,
    data: { task: 't', args: {} },
    state: 'created',
    retry_count: 0,
    retry_limit: 0,
    start_after: new Date(0),
    created_on: new Date(0),
    started_on: null,
    completed_on: null,
    output: null,
    deferred: false,
    ...over,
  }
}
const lapse = { value: { message: 'job heartbeat expired' } }

describe('liveStatus', () => {
  it.each([
    ['a job waiting', job({}), 'queued'],
    ['a job waiting for its start time', job({ deferred: true }), 'scheduled'],
    ['a claim in a local buffer', job({ state: 'active' }), 'queued'],
    ['a claim whose handler started', job({ state: 'active', started_on: new Date(1) }), 'running'],
    ['a lapsed buffered claim awaiting recovery (failed)', job({ state: 'failed', output: lapse }), 'queued'],
    ['a lapsed buffered claim awaiting recovery (retry)', job({ state: 'retry', output: lapse }), 'queued'],
    [
      'a lapsed claim that had started',
      job({ state: 'failed', output: lapse, started_on: new Date(1) }),
      'failed',
    ],
    ['a retry after a started attempt', job({ state: 'retry', started_on: new Date(1) }), 'retrying'],
    [
      'a failure tasklane recorded (no pg-boss value)',
      job({ state: 'failed', output: { type: 'Error' } }),
      'failed',
    ],
    ['a cancelled job', job({ state: 'cancelled' }), 'cancelled'],
  ] as const)('%s reads %s', (_, row, status) => {
    expect(liveStatus(row)).toBe(status)
  })
})

// Everything above queue/ reads a job's error as tasklane's record (ErrorInfo), whatever shape pg-boss
// stored it in: the store converts at the seam (queue/boss-failure.ts).
describe("a live job's error", () => {
  const lost = 'worker lost: its process stopped heartbeating while running this task'
  it.each([
    ['nothing stored', job({}), null],
    ["an active claim's owner stamp", job({ state: 'active', output: { leasedBy: 7 } }), null],
    [
      "tasklane's record, as its fail stores it",
      job({ state: 'retry', output: { error: { type: 'TypeError', message: 'x', retryable: true } } }),
      { type: 'TypeError', message: 'x', retryable: true },
    ],
    [
      "pg-boss's lapsed heartbeat",
      job({ state: 'failed', output: lapse, started_on: new Date(1) }),
      { type: 'WorkerLost', message: lost, retryable: true },
    ],
    [
      "a dead owner's claim, failed by a live worker's liveness pass",
      job({ state: 'retry', output: OWNER_LOCK_RELEASED_OUTPUT, started_on: new Date(1) }),
      { type: 'WorkerLost', message: OWNER_GONE_MESSAGE, retryable: true },
    ],
    [
      "pg-boss's expiry",
      job({ state: 'failed', output: { value: { message: 'job timed out' } } }),
      { type: 'WorkerLost', message: `${lost} (job timed out)`, retryable: true },
    ],
    [
      "an Error given to pg-boss's own fail",
      job({
        state: 'failed',
        output: { name: 'RangeError', message: 'too far', stack: 'RangeError: too far' },
      }),
      { type: 'RangeError', message: 'too far', stack: 'RangeError: too far', retryable: true },
    ],
    [
      "a string given to pg-boss's own fail",
      job({ state: 'failed', output: { value: 'no stock' } }),
      { type: 'Error', message: 'no stock', retryable: true },
    ],
    [
      'a completed job (its output is no error)',
      job({ state: 'completed', output: { message: 'ok' } }),
      null,
    ],
  ] as const)('%s', (_, row, error) => {
    expect(toLiveJob(row).error).toEqual(error)
  })
})
