// Scenario functions. Each gets a BenchSystem already set up on a fresh database and returns
// its figures; the harness owns database lifecycle and teardown.
import { percentile } from './stats.ts'
import { type BenchPayload, type BenchSystem, type Figure, now } from './system.ts'

export interface ScenarioOptions {
  quick: boolean
}

export interface Scenario {
  name: string
  run(system: BenchSystem, opts: ScenarioOptions): Promise<Figure[]>
}

const CONCURRENCY = 10
/** Time for LISTEN connections to be established before we call the workers idle. */
const SETTLE_MS = 500

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)))

async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = now() + timeoutMs
  while (!(await cond())) {
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

function fig(scenario: string, system: BenchSystem, value: number, unit: string): Figure {
  return { scenario, system: system.name, value, unit }
}

function latencyFigures(scenario: string, system: BenchSystem, samples: number[]): Figure[] {
  return [50, 95, 99].map((p) => fig(scenario, system, percentile(samples, p), `p${p} ms`))
}

/** Idle workers, 200 single enqueues 20 ms apart: enqueue → handler start. */
export const latency: Scenario = {
  name: 'latency',
  async run(system) {
    const TASKS = 200
    const samples: number[] = []
    await system.startWorkers({ concurrency: CONCURRENCY, onRun: (p) => samples.push(now() - p.t) })
    await sleep(SETTLE_MS)
    // Fixed schedule (start + i·20 ms) so a slow enqueue doesn't stretch the spacing.
    const start = now()
    for (let i = 0; i < TASKS; i++) {
      await sleep(start + i * 20 - now())
      await system.enqueueOne({ t: now() })
    }
    await waitUntil(() => samples.length >= TASKS, 30_000, 'latency tasks to start')
    await system.stopWorkers()
    return latencyFigures('latency', system, samples)
  },
}

/** 20,000 tasks preloaded, then one in-process worker pool at concurrency 10 drains them. */
export const drain: Scenario = {
  name: 'drain',
  async run(system) {
    const TASKS = 20_000
    const CHUNK = 1000
    for (let i = 0; i < TASKS; i += CHUNK) {
      const chunk: BenchPayload[] = Array.from({ length: CHUNK }, () => ({ t: now() }))
      await system.enqueueBatch(chunk)
    }
    const loaded = await system.countUnsettled()
    if (loaded !== TASKS) throw new Error(`drain: expected ${TASKS} queued, found ${loaded}`)

    // Clock starts at the first handler call: worker start-up (pool, LISTEN, migration checks)
    // is a fixed cost, not throughput.
    let first: number | undefined
    await system.startWorkers({
      concurrency: CONCURRENCY,
      onRun: () => {
        first ??= now()
      },
    })
    await waitUntil(async () => (await system.countUnsettled()) === 0, 120_000, 'drain to finish')
    const seconds = (now() - (first ?? now())) / 1000
    await system.stopWorkers()
    return [fig('drain', system, TASKS / seconds, 'tasks/s')]
  },
}

interface ProducerRun {
  enqueued: number
  seconds: number
}

/**
 * Runs `producers` loops for `seconds`, each awaiting `enqueue` back to back, while workers run,
 * then reads the backlog. Settled = enqueued − still unsettled (the database starts empty).
 */
async function endToEnd(
  system: BenchSystem,
  opts: ScenarioOptions,
  producers: number,
  enqueue: () => Promise<number>,
  samples: number[],
): Promise<ProducerRun & { backlog: number }> {
  await system.startWorkers({ concurrency: CONCURRENCY, onRun: (p) => samples.push(now() - p.t) })
  await sleep(SETTLE_MS)
  const durationMs = (opts.quick ? 5 : 20) * 1000
  const start = now()
  const end = start + durationMs
  let enqueued = 0
  const loop = async () => {
    while (now() < end) {
      // Not `enqueued += await enqueue()`: that reads `enqueued` before the await and loses
      // the other producers' increments.
      const n = await enqueue()
      enqueued += n
    }
  }
  await Promise.all(Array.from({ length: producers }, loop))
  const backlog = await system.countUnsettled()
  const seconds = (now() - start) / 1000
  await system.stopWorkers()
  return { enqueued, seconds, backlog }
}

/** 4 producers, one task per call, workers running throughout. */
export const e2eSingle: Scenario = {
  name: 'e2e-single',
  async run(system, opts) {
    const samples: number[] = []
    const one = async () => {
      await system.enqueueOne({ t: now() })
      return 1
    }
    const r = await endToEnd(system, opts, 4, one, samples)
    return [
      fig('e2e-single', system, (r.enqueued - r.backlog) / r.seconds, 'settled tasks/s'),
      fig('e2e-single', system, r.enqueued / r.seconds, 'enqueued tasks/s'),
      fig('e2e-single', system, percentile(samples, 99), 'p99 ms'),
      fig('e2e-single', system, r.backlog, 'backlog tasks'),
    ]
  },
}

/** One producer, batches of 100 per call, workers running throughout. */
export const e2eBatch: Scenario = {
  name: 'e2e-batch',
  async run(system, opts) {
    const BATCH = 100
    const samples: number[] = []
    const batch = async () => {
      const t = now()
      await system.enqueueBatch(Array.from({ length: BATCH }, () => ({ t })))
      return BATCH
    }
    const r = await endToEnd(system, opts, 1, batch, samples)
    return [
      fig('e2e-batch', system, (r.enqueued - r.backlog) / r.seconds, 'settled tasks/s'),
      fig('e2e-batch', system, r.enqueued / r.seconds, 'enqueued tasks/s'),
      fig('e2e-batch', system, r.backlog, 'backlog tasks'),
    ]
  },
}

export const scenarios: Scenario[] = [latency, drain, e2eSingle, e2eBatch]
