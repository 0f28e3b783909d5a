import { describe, expect, it } from 'vitest'
import { attemptsMade, maxAttempts } from '../../src/outcome/attempts.ts'

// pg-boss's counters at each point of a task's life (its fetch adds one to retry_count only when
// started_on is set; a graceful stop's hand-back clears started_on), and the attempts they mean.
describe('attempts from pg-boss counters', () => {
  it.each([
    { when: 'queued, never run', retryCount: 0, started: false, attempts: 0 },
    { when: 'running its first attempt', retryCount: 0, started: true, attempts: 1 },
    { when: 'waiting to retry after one failure', retryCount: 0, started: true, attempts: 1 },
    { when: 'running its second attempt', retryCount: 1, started: true, attempts: 2 },
    { when: 'handed back at shutdown while running its second', retryCount: 1, started: false, attempts: 1 },
    {
      when: 'running again after that hand-back (still its second)',
      retryCount: 1,
      started: true,
      attempts: 2,
    },
    { when: 'failed for good after four attempts', retryCount: 3, started: true, attempts: 4 },
  ])('$when: $attempts', ({ retryCount, started, attempts }) => {
    expect(attemptsMade(retryCount, started)).toBe(attempts)
  })

  it('allows the first attempt plus the retry limit', () => {
    expect(maxAttempts(0)).toBe(1)
    expect(maxAttempts(3)).toBe(4)
  })
})
