import { describe, expect, it } from 'vitest'
import type { BusMessage } from '../../src/events/event-types.ts'
import { decodePayload, encodeMessages, isStatusBatch } from '../../src/events/notify.repository.ts'

const at = '2026-01-01T00:00:00.000Z'

// A worker's LISTEN connection skips status batches unparsed when only cancels are listened for
// (EventBus.onMessage with types): the check must know every status payload, and nothing else.
describe('isStatusBatch', () => {
  it('knows every payload that carries status events, and no other', () => {
    const statuses: BusMessage[] = Array.from({ length: 500 }, (_, i) => ({
      type: 'status',
      taskId: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
      task: 'quick "task"',
      queue: 'default',
      status: i % 2 ? 'completed' : 'running',
      ...(i % 2 ? {} : { attempt: 1 }),
      at,
    }))
    const others: BusMessage[] = [
      { type: 'cancel', taskId: 'a', at },
      { type: 'progress', taskId: 'b', task: 't', queue: 'q', percent: 5, step: 'status-batch', at },
    ]
    const payloads = encodeMessages([...others, ...statuses])
    expect(payloads.length).toBeGreaterThan(3)
    for (const p of payloads) {
      const decoded = decodePayload(p)
      expect(isStatusBatch(p)).toBe(decoded.every((m) => m.type === 'status'))
    }
    expect(payloads.filter(isStatusBatch).flatMap(decodePayload)).toHaveLength(500)
  })
})
