// Scenarios every system runs. Each gets a BenchSystem already set up on a fresh database and
// returns its figures; the harness owns database lifecycle and teardown.
import { startCpuMeter } from './cpu.ts'
import type { Scale } from './scale.ts'
import { percentile } from './stats.ts'
import { type BenchPayload, type BenchSystem, type Figure, now, type SystemName } from './system.ts'

export interface ScenarioContext {
  scale: Scale
  /** The scenario's fresh database (the system is already set up on it). */
  dbUrl: string
  /** 0-based round number (ablations alternate their variants' order with it). */
  round: number
}

export interface Scenario {
  name: string
  /** Systems it applies to (default: all). */
  systems?: readonly SystemName[]
  run(system: BenchSystem, ctx: ScenarioContext): Promise<Figure[]>
}

export const CONCURRENCY = 10
/** Time for LISTEN connections to be established before we call the workers idle. */
const SETTLE_MS = 500

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)))

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = now() + timeoutMs
  while (!(await cond())) {
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

export function fig(scenario: string, system: BenchSystem | SystemName, value: number, unit: string): Figure {
  return { scenario, system: typeof system === 'string' ? system : system.name, value, unit }
}

function latencyFigures(scenario: string, system: BenchSystem, samples: number[]): Figure[] {
  return [50, 95, 99].map((p) => fig(scenario, system, percentile(samples, p), `p${p} ms`))
}

/** Idle workers, 200 single enqueues 20 ms apart: enqueue → handler start. */
export const latency: Scenario = {
  name: 'latency',
  async run(system, { scale }) {
    const TASKS = scale.latencyTasks
    const samples: number[] = []
    await system.startWorkers({ concurrency: CONCURRENCY, onRun: (p) => samples.push(now() - p.t) })
    await sleep(SETTLE_MS)
    // Fixed schedule (start + i·20 ms) so a slow enqueue doesn't stretch the spacing.
    const start = now()
    for (let i = 0; i < TASKS; i++) {
      await sleep(start + i * scale.latencySpacingMs - now())
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
  async run(system, { scale, dbUrl }) {
    const TASKS = scale.drainTasks
    const CHUNK = Math.min(1000, TASKS)
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
    const cpu = await startCpuMeter(dbUrl)
    await waitUntil(async () => (await system.countUnsettled()) === 0, 120_000, 'drain to finish')
    const seconds = (now() - (first ?? now())) / 1000
    const used = await cpu.stop()
    await system.stopWorkers()
    await system.verifySettled?.(TASKS)
    return [fig('drain', system, TASKS / seconds, 'tasks/s'), ...cpuFigures('drain', system, used, TASKS)]
  },
}

interface ProducerRun {
  enqueued: number
  seconds: number
  backlog: number
  cpu: { nodeMs: number; postgresMs: number | null }
}

/** µs of CPU per settled task: this process (producers, workers, harness) and the database's backends. */
function cpuFigures(
  scenario: string,
  system: BenchSystem,
  cpu: ProducerRun['cpu'],
  settled: number,
): Figure[] {
  if (settled <= 0) return []
  const figures = [fig(scenario, system, (cpu.nodeMs * 1000) / settled, 'node CPU µs/task')]
  if (cpu.postgresMs !== null)
    figures.push(fig(scenario, system, (cpu.postgresMs * 1000) / settled, 'postgres CPU µs/task'))
  return figures
}

/**
 * Runs `producers` loops for the scenario's duration, each awaiting `enqueue` back to back, while
 * workers run, then reads the backlog. Settled = enqueued − still unsettled (the database starts
 * empty).
 */
async function endToEnd(
  system: BenchSystem,
  { scale, dbUrl }: ScenarioContext,
  producers: number,
  enqueue: () => Promise<number>,
  samples: number[],
): Promise<ProducerRun> {
  await system.startWorkers({ concurrency: CONCURRENCY, onRun: (p) => samples.push(now() - p.t) })
  await sleep(SETTLE_MS)
  const cpuMeter = await startCpuMeter(dbUrl)
  const start = now()
  const end = start + scale.e2eSeconds * 1000
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
  const cpu = await cpuMeter.stop()
  await system.stopWorkers()
  // Stopping let the backlog finish or handed it back; what did settle must be recorded as settled.
  await system.verifySettled?.(enqueued - (await system.countUnsettled()))
  return { enqueued, seconds, backlog, cpu }
}

/** 4 producers, one task per call, workers running throughout. */
export const e2eSingle: Scenario = {
  name: 'e2e-single',
  async run(system, ctx) {
    const samples: number[] = []
    const one = async () => {
      await system.enqueueOne({ t: now() })
      return 1
    }
    const r = await endToEnd(system, ctx, 4, one, samples)
    return [
      fig('e2e-single', system, (r.enqueued - r.backlog) / r.seconds, 'settled tasks/s'),
      fig('e2e-single', system, r.enqueued / r.seconds, 'enqueued tasks/s'),
      fig('e2e-single', system, percentile(samples, 99), 'p99 ms'),
      fig('e2e-single', system, r.backlog, 'backlog tasks'),
      ...cpuFigures('e2e-single', system, r.cpu, r.enqueued - r.backlog),
    ]
  },
}

/** One producer, batches of 100 per call, workers running throughout. */
export const e2eBatch: Scenario = {
  name: 'e2e-batch',
  async run(system, ctx) {
    const BATCH = 100
    const samples: number[] = []
    const batch = async () => {
      const t = now()
      await system.enqueueBatch(Array.from({ length: BATCH }, () => ({ t })))
      return BATCH
    }
    const r = await endToEnd(system, ctx, 1, batch, samples)
    return [
      fig('e2e-batch', system, (r.enqueued - r.backlog) / r.seconds, 'settled tasks/s'),
      fig('e2e-batch', system, r.enqueued / r.seconds, 'enqueued tasks/s'),
      fig('e2e-batch', system, r.backlog, 'backlog tasks'),
      ...cpuFigures('e2e-batch', system, r.cpu, r.enqueued - r.backlog),
    ]
  },
}

export const scenarios: Scenario[] = [latency, drain, e2eSingle, e2eBatch]
