import { describe, expect, it } from 'vitest'
import type { ProgressEvent, StatusEvent, TaskStatus } from '../../src/events/event-types.ts'
import { StreamBuffer } from '../../src/events/stream-buffer.ts'

const at = '2026-01-01T00:00:00.000Z'
const status = (taskId: string, s: TaskStatus, attempt?: number): StatusEvent => ({
  type: 'status',
  taskId,
  task: 't',
  queue: 'q',
  status: s,
  ...(attempt ? { attempt } : {}),
  at,
})
const progress = (taskId: string, percent: number): ProgressEvent => ({
  type: 'progress',
  taskId,
  task: 't',
  queue: 'q',
  percent,
  step: null,
  at,
})

function drain(buffer: StreamBuffer) {
  const out = []
  for (let item = buffer.shift(); item; item = buffer.shift()) out.push(item)
  return out
}

describe('StreamBuffer', () => {
  it('is a FIFO while the consumer keeps up', () => {
    const buffer = new StreamBuffer(3, { conflate: true })
    buffer.push(status('a', 'queued'))
    buffer.push(progress('a', 10))
    expect(buffer.size).toBe(2)
    expect(drain(buffer)).toEqual([status('a', 'queued'), progress('a', 10)])
    expect(buffer.size).toBe(0)
  })

  it('without conflation: past its bound it holds nothing and counts what it dropped', () => {
    const buffer = new StreamBuffer(10, { conflate: false })
    for (let i = 1; i <= 1000; i++) {
      buffer.push(progress('a', i % 100))
      expect(buffer.size).toBeLessThanOrEqual(10)
    }
    expect(buffer.lagging).toBe(true)
    expect(drain(buffer)).toEqual([{ type: 'lag', dropped: 1000, complete: true }])
    expect(buffer.lagging).toBe(false)
    buffer.push(progress('a', 1))
    expect(drain(buffer)).toEqual([progress('a', 1)])
  })

  it("with conflation: the lag mark, then each task's latest status and progress, in order of change", () => {
    const buffer = new StreamBuffer(4, { conflate: true })
    buffer.push(status('a', 'running', 1))
    buffer.push(progress('a', 10))
    buffer.push(status('b', 'running', 1))
    buffer.push(progress('b', 10))
    buffer.push(progress('a', 20)) // overflow: from here on, latest state only
    buffer.push(status('b', 'completed', 1)) // final: b's progress is dropped
    buffer.push(progress('b', 99)) // late progress after a final status adds nothing
    expect(buffer.size).toBeLessThanOrEqual(4)
    expect(drain(buffer)).toEqual([
      { type: 'lag', dropped: 4, complete: true },
      status('a', 'running', 1),
      progress('a', 20),
      status('b', 'completed', 1),
    ])
  })

  it('forgets the least recently changed tasks past its bound, and says the snapshot is incomplete', () => {
    const buffer = new StreamBuffer(3, { conflate: true })
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      buffer.push(status(id, 'running'))
      expect(buffer.size).toBeLessThanOrEqual(3)
    }
    expect(drain(buffer)).toEqual([
      { type: 'lag', dropped: 2, complete: false },
      status('c', 'running'),
      status('d', 'running'),
      status('e', 'running'),
    ])
  })

  it('clear() empties it and says how many events it had taken', () => {
    const buffer = new StreamBuffer(2, { conflate: false })
    buffer.push(progress('a', 1))
    expect(buffer.clear()).toBe(1)
    for (let i = 0; i < 5; i++) buffer.push(progress('a', i))
    expect(buffer.clear()).toBe(5)
    expect(buffer.size).toBe(0)
    expect(buffer.shift()).toBeUndefined()
  })
})
