import { describe, expect, it } from 'vitest'
import { retryPolicyOfJob } from '../../src/queue/boss-retry-policy.ts'

// A job's retry policy as the lease and the owner-lock recovery read it. The data of a job sent with
// pg-boss's own API can hold anything: only tasklane's own `retryMs` shape overrides the columns.
describe('retryPolicyOfJob', () => {
  const columns = { retryDelay: 2, retryBackoff: true, retryDelayMax: 60 }
  const fromColumns = { delayMs: 2000, backoff: 'exponential', maxDelayMs: 60_000 }

  it("reads tasklane's milliseconds from the data, over pg-boss's whole seconds", () => {
    const data = { task: 't', args: null, retryMs: { delay: 200, maxDelay: 1500 } }
    expect(retryPolicyOfJob({ data, ...columns })).toEqual({
      delayMs: 200,
      backoff: 'exponential',
      maxDelayMs: 1500,
    })
    const uncapped = { task: 't', args: null, retryMs: { delay: 0, maxDelay: null } }
    expect(retryPolicyOfJob({ data: uncapped, ...columns })).toEqual({
      delayMs: 0,
      backoff: 'exponential',
      maxDelayMs: null,
    })
  })

  it('reads the columns, in milliseconds, when the data has no retryMs of that shape', () => {
    const foreign: unknown[] = [
      null,
      'a string',
      42,
      { task: 't', args: null },
      { retryMs: null },
      { retryMs: 'soon' },
      { retryMs: { delay: 1.5, maxDelay: null } },
      { retryMs: { delay: true, maxDelay: null } },
      { retryMs: { delay: 1e20, maxDelay: null } },
      { retryMs: { delay: -1, maxDelay: null } },
      { retryMs: { delay: 100 } },
      { retryMs: { delay: 100, maxDelay: '1s' } },
    ]
    for (const data of foreign) {
      expect(retryPolicyOfJob({ data: data as never, ...columns }), JSON.stringify(data)).toEqual(fromColumns)
    }
    expect(retryPolicyOfJob({ data: null, retryDelay: 0, retryBackoff: false, retryDelayMax: null })).toEqual(
      { delayMs: 0, backoff: 'fixed', maxDelayMs: null },
    )
  })
})
