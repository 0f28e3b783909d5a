import { describe, expect, it } from 'vitest'
import { AUTO_PREFETCH, PrefetchWindow } from '../../src/worker/prefetch-window.ts'

describe('the prefetch window', () => {
  it('is exactly a fixed prefetch, whatever the tasks take', () => {
    const w = new PrefetchWindow(7, 10)
    expect(w.size()).toBe(7)
    w.record(60_000)
    expect(w.size()).toBe(7)
    expect(new PrefetchWindow(0, 10).size()).toBe(0)
  })

  it('by default buffers nothing until an attempt has run, then ~100 ms of work, at most 500', () => {
    const w = new PrefetchWindow(AUTO_PREFETCH, 10)
    expect(w.size()).toBe(0)
    w.record(0.02) // no-op tasks: the cap
    expect(w.size()).toBe(500)
    const slow = new PrefetchWindow(AUTO_PREFETCH, 10)
    slow.record(1_000) // 1 s tasks at concurrency 10: 1 ahead
    expect(slow.size()).toBe(1)
    const medium = new PrefetchWindow(AUTO_PREFETCH, 10)
    medium.record(20) // 20 ms tasks: 10 × 100 / 20
    expect(medium.size()).toBe(50)
  })

  it('follows the recent mean: a run of long tasks shrinks it, short ones grow it back', () => {
    const w = new PrefetchWindow(AUTO_PREFETCH, 10)
    w.record(1)
    expect(w.size()).toBe(500)
    for (let i = 0; i < 20; i++) w.record(5_000)
    expect(w.size()).toBe(0)
    for (let i = 0; i < 200; i++) w.record(1)
    expect(w.size()).toBe(500)
  })
})
