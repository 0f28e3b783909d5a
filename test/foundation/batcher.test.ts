import { describe, expect, it } from 'vitest'
import { Batcher, type BatcherOptions, ItemFailure } from '../../src/batcher.ts'

/** A promise settled from outside. */
function deferred<T = void>() {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/**
 * A batcher whose gathering and writes the test ends by hand: `gates.open()` ends the pending gather,
 * `writes[i].done(results)` ends the i-th write. Nothing waits on a clock.
 */
function harness<R = undefined>(options: Partial<BatcherOptions<string, R>> = {}) {
  const writes: { items: string[]; done(results?: (R | ItemFailure)[]): void; fail(err: unknown): void }[] =
    []
  const gathers: (() => void)[] = []
  let wrote = deferred()
  const batcher = new Batcher<string, R>({
    maxBatch: 100,
    gather: () => {
      const d = deferred()
      gathers.push(() => d.resolve())
      return d.promise
    },
    write: (items) => {
      const d = deferred<unknown>()
      writes.push({ items, done: (results) => d.resolve(results), fail: (err) => d.reject(err) })
      wrote.resolve()
      return d.promise as never
    },
    ...options,
  })
  return {
    batcher,
    writes,
    /** Ends the oldest pending gather, then waits for the write it starts. */
    async gathered() {
      wrote = deferred()
      gathers.shift()!()
      await wrote.promise
    },
    /** Waits for the next write to start (one started by a write ending, not by a gather). */
    async nextWrite() {
      wrote = deferred()
      await wrote.promise
    },
    pendingGathers: () => gathers.length,
  }
}

/** Records how each promise settled, without awaiting them. */
function track<T>(promises: Promise<T>[]) {
  const outcomes: (undefined | { ok: T } | { err: unknown })[] = promises.map(() => undefined)
  const all = Promise.allSettled(
    promises.map((p, i) =>
      p.then(
        (ok) => {
          outcomes[i] = { ok }
        },
        (err) => {
          outcomes[i] = { err }
        },
      ),
    ),
  )
  return { outcomes, settled: () => all.then(() => outcomes) }
}

describe('Batcher', () => {
  it('writes everything submitted before the gather ends in one batch, each submitter getting its own result', async () => {
    const h = harness<number>()
    const results = track(['a', 'b', 'c'].map((x) => h.batcher.submit(x)))
    expect(h.pendingGathers()).toBe(1)
    expect(h.writes).toHaveLength(0)
    await h.gathered()
    expect(h.writes.map((w) => w.items)).toEqual([['a', 'b', 'c']])
    // Nobody is answered before the write ends.
    await Promise.resolve()
    expect(results.outcomes).toEqual([undefined, undefined, undefined])
    h.writes[0]!.done([1, 2, 3])
    expect(await results.settled()).toEqual([{ ok: 1 }, { ok: 2 }, { ok: 3 }])
  })

  it('keeps one write in flight: items arriving meanwhile go together into the next, started as it ends', async () => {
    const h = harness()
    const first = h.batcher.submit('a')
    await h.gathered()
    const later = track(['b', 'c'].map((x) => h.batcher.submit(x)))
    // No second flush gathers while the only slot is busy.
    expect(h.pendingGathers()).toBe(0)
    const next = h.nextWrite()
    h.writes[0]!.done()
    await first
    await next
    expect(h.writes.map((w) => w.items)).toEqual([['a'], ['b', 'c']])
    expect(h.pendingGathers()).toBe(0)
    h.writes[1]!.done()
    expect(await later.settled()).toEqual([{ ok: undefined }, { ok: undefined }])
  })

  it('splits at maxBatch items', async () => {
    const h = harness({ maxBatch: 2 })
    const all = track(['a', 'b', 'c', 'd', 'e'].map((x) => h.batcher.submit(x)))
    await h.gathered()
    for (let i = 0; i < 2; i++) {
      const next = h.nextWrite()
      h.writes[i]!.done()
      await next
    }
    h.writes[2]!.done()
    await all.settled()
    expect(h.writes.map((w) => w.items)).toEqual([['a', 'b'], ['c', 'd'], ['e']])
  })

  it('counts weight toward maxBatch, never over it, and sends an item heavier than maxBatch alone', async () => {
    const h = harness({ maxBatch: 5, weight: (x) => x.length })
    const all = track(['aaa', 'bb', 'c', 'dddddddd', 'ee', 'ff'].map((x) => h.batcher.submit(x)))
    await h.gathered()
    for (let i = 0; i < 3; i++) {
      const next = h.nextWrite()
      h.writes[i]!.done()
      await next
    }
    h.writes[3]!.done()
    await all.settled()
    expect(h.writes.map((w) => w.items)).toEqual([['aaa', 'bb'], ['c'], ['dddddddd'], ['ee', 'ff']])
  })

  it('runs up to maxInFlight writes at once; the next waits for one to end', async () => {
    const h = harness({ maxBatch: 1, maxInFlight: 2 })
    const all = track(['a', 'b', 'c'].map((x) => h.batcher.submit(x)))
    // A free slot does not start a second flush while one is gathering: they would split the turn's items.
    expect(h.pendingGathers()).toBe(1)
    await h.gathered()
    // The first flush took 'a' and opened the second slot for the rest.
    await h.gathered()
    expect(h.writes.map((w) => w.items)).toEqual([['a'], ['b']])
    expect(h.pendingGathers()).toBe(0)
    const next = h.nextWrite()
    h.writes[1]!.done()
    await next
    expect(h.writes.map((w) => w.items)).toEqual([['a'], ['b'], ['c']])
    h.writes[0]!.done()
    h.writes[2]!.done()
    expect((await all.settled()).every((o) => o && 'ok' in o)).toBe(true)
  })

  it('a write that throws rejects every item of its batch with that error, and the next batch still runs', async () => {
    const h = harness({ maxBatch: 2 })
    const all = track(['a', 'b', 'c'].map((x) => h.batcher.submit(x)))
    await h.gathered()
    const boom = new Error('database refused')
    const next = h.nextWrite()
    h.writes[0]!.fail(boom)
    await next
    h.writes[1]!.done()
    expect(await all.settled()).toEqual([{ err: boom }, { err: boom }, { ok: undefined }])
  })

  it('a write that throws synchronously rejects its batch too', async () => {
    const boom = new Error('bad input')
    const batcher = new Batcher<string>({
      maxBatch: 10,
      write: () => {
        throw boom
      },
    })
    await expect(batcher.submit('a')).rejects.toBe(boom)
    await batcher.drain()
  })

  it('an ItemFailure rejects that item alone', async () => {
    const h = harness<string>()
    const all = track(['a', 'b', 'c'].map((x) => h.batcher.submit(x)))
    await h.gathered()
    const refused = new Error('too large to store')
    h.writes[0]!.done(['A', new ItemFailure(refused), 'C'])
    expect(await all.settled()).toEqual([{ ok: 'A' }, { err: refused }, { ok: 'C' }])
  })

  it('a write returning the wrong number of results rejects the whole batch', async () => {
    const h = harness<string>()
    const all = track(['a', 'b'].map((x) => h.batcher.submit(x)))
    await h.gathered()
    h.writes[0]!.done(['A'])
    const outcomes = await all.settled()
    for (const o of outcomes)
      expect((o as { err: Error }).err.message).toBe('batch write returned 1 results for 2 items')
  })

  it('drain resolves at once when idle, and otherwise only after every item, including ones submitted while draining', async () => {
    const h = harness()
    await h.batcher.drain()
    let drained = false
    const first = h.batcher.submit('a')
    const draining = h.batcher.drain().then(() => {
      drained = true
    })
    await h.gathered()
    const late = h.batcher.submit('b')
    expect(h.batcher.queued).toBe(1)
    const next = h.nextWrite()
    h.writes[0]!.done()
    await first
    await next
    expect(drained).toBe(false)
    h.writes[1]!.done()
    await late
    await draining
    expect(drained).toBe(true)
    expect(h.batcher.queued).toBe(0)
    // Idle again: a new drain does not wait.
    await h.batcher.drain()
  })

  it('post() batches like submit() and ignores the outcome; drain waits for posted items too', async () => {
    const h = harness()
    h.batcher.post('a')
    const b = h.batcher.submit('b')
    h.batcher.post('c')
    let drained = false
    const draining = h.batcher.drain().then(() => {
      drained = true
    })
    await h.gathered()
    expect(h.writes.map((w) => w.items)).toEqual([['a', 'b', 'c']])
    await Promise.resolve()
    expect(drained).toBe(false)
    const boom = new Error('notify failed')
    h.writes[0]!.fail(boom)
    // The submitter is told; the posted items' failure goes nowhere (no unhandled rejection fails this file).
    await expect(b).rejects.toBe(boom)
    await draining
  })

  it('by default gathers what is submitted in the same turn of the event loop', async () => {
    const batches: string[][] = []
    const batcher = new Batcher<string>({
      maxBatch: 100,
      write: async (items) => {
        batches.push(items)
      },
    })
    await Promise.all(['a', 'b', 'c'].map((x) => batcher.submit(x)))
    expect(batches).toEqual([['a', 'b', 'c']])
  })

  it('refuses a maxBatch or maxInFlight below 1', () => {
    const write = async () => {}
    expect(() => new Batcher({ maxBatch: 0, write })).toThrow('maxBatch must be at least 1, got 0')
    expect(() => new Batcher({ maxBatch: 1, maxInFlight: 0, write })).toThrow(
      'maxInFlight must be at least 1, got 0',
    )
  })
})
