// Experiments on tasklane's internals WITHOUT editing src: prototype wrappers that simulate a
// proposed change, switched on per run. Each one models a change to src that would be made for
// real if the numbers justify it (see docs/benchmarks.md, "Proposed changes").
import { EventPublisher } from '../../../src/events/event-publisher.ts'
import type { BusMessage } from '../../../src/events/event-types.ts'
import { Settler } from '../../../src/worker/settler.ts'

export interface PatchSet {
  /** Drop the per-start 'running' status events altogether (upper bound of what they cost). */
  noRunningEvents?: boolean
  /** Hold 'running' events this many ms and publish them together (one NOTIFY statement). */
  runningWindowMs?: number
  /** Hold completions this many ms before handing them to the Settler (bigger settle batches). */
  settleWindowMs?: number
}

let active: PatchSet = {}
let installed = false

function windowed<T>(ms: () => number, flush: (items: T[]) => void): (item: T) => void {
  let held: T[] = []
  let timer: NodeJS.Timeout | null = null
  return (item) => {
    held.push(item)
    if (timer) return
    timer = setTimeout(() => {
      timer = null
      const items = held
      held = []
      flush(items)
    }, ms())
  }
}

/** Installs the wrappers once; `use()` then picks the behaviour of the following runs. */
export function usePatches(set: PatchSet): void {
  active = set
  if (installed) return
  installed = true
  const publish = EventPublisher.prototype.publish
  const held = new WeakMap<EventPublisher, (m: BusMessage) => void>()
  EventPublisher.prototype.publish = function patchedPublish(this: EventPublisher, m: BusMessage) {
    const running = m.type === 'status' && m.status === 'running'
    if (running && active.noRunningEvents) return
    if (running && active.runningWindowMs) {
      let hold = held.get(this)
      if (!hold) {
        hold = windowed<BusMessage>(
          () => active.runningWindowMs ?? 0,
          (items) => {
            for (const item of items) publish.call(this, item)
          },
        )
        held.set(this, hold)
      }
      hold(m)
      return
    }
    publish.call(this, m)
  }
  const complete = Settler.prototype.complete
  type Item = Parameters<Settler['complete']>[0]
  type Settled = Awaited<ReturnType<Settler['complete']>>
  const settleHeld = new WeakMap<Settler, (x: { item: Item; done: (p: Promise<Settled>) => void }) => void>()
  Settler.prototype.complete = function patchedComplete(this: Settler, item: Item): Promise<Settled> {
    if (!active.settleWindowMs) return complete.call(this, item)
    let hold = settleHeld.get(this)
    if (!hold) {
      hold = windowed(
        () => active.settleWindowMs ?? 0,
        (xs) => {
          for (const x of xs) x.done(complete.call(this, x.item))
        },
      )
      settleHeld.set(this, hold)
    }
    return new Promise<Settled>((resolve, reject) => hold({ item, done: (p) => p.then(resolve, reject) }))
  }
}
