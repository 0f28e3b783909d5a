// Sizes of every scenario per mode. `full` is what the issue specifies and what docs/benchmarks.md
// reports; `quick` keeps the sizes whose result depends on them (20k drain, 200 latency samples,
// 1M history rows) and shortens the timed runs; `smoke` only proves the harness still runs.

export type Mode = 'smoke' | 'quick' | 'full'

export interface Scale {
  mode: Mode
  rounds: number
  latencyTasks: number
  latencySpacingMs: number
  drainTasks: number
  e2eSeconds: number
  httpSeconds: number
  /**
   * When set, http-enqueue sends exactly this many requests instead of running for httpSeconds: the
   * smoke run proves every request is answered, which a 1 s window on a loaded machine cannot (a cold
   * server may answer none within it).
   */
  httpRequests?: number
  httpConnections: number
  statsRows: number
  statsRequests: number
  /** stats-10m: history rows, over how many days, and days of rollup before them. */
  scaleRows: number
  scaleDays: number
  rollupDays: number
  memoryTasks: number
  ceilingSeconds: number
  ceilingClients: number[]
}

export const SCALES: Readonly<Record<Mode, Scale>> = Object.freeze({
  full: {
    mode: 'full',
    rounds: 3,
    latencyTasks: 200,
    latencySpacingMs: 20,
    drainTasks: 20_000,
    e2eSeconds: 20,
    httpSeconds: 20,
    httpConnections: 50,
    statsRows: 1_000_000,
    statsRequests: 200,
    scaleRows: 10_000_000,
    scaleDays: 90,
    rollupDays: 730,
    memoryTasks: 100_000,
    ceilingSeconds: 10,
    ceilingClients: [1, 32],
  },
  quick: {
    mode: 'quick',
    rounds: 1,
    latencyTasks: 200,
    latencySpacingMs: 20,
    drainTasks: 20_000,
    e2eSeconds: 5,
    httpSeconds: 5,
    httpConnections: 50,
    statsRows: 1_000_000,
    statsRequests: 50,
    scaleRows: 1_000_000,
    scaleDays: 90,
    rollupDays: 730,
    memoryTasks: 30_000,
    ceilingSeconds: 3,
    ceilingClients: [1, 32],
  },
  smoke: {
    mode: 'smoke',
    rounds: 1,
    latencyTasks: 10,
    latencySpacingMs: 5,
    drainTasks: 500,
    e2eSeconds: 1,
    httpSeconds: 1,
    httpRequests: 40,
    httpConnections: 4,
    statsRows: 5_000,
    statsRequests: 3,
    scaleRows: 5_000,
    scaleDays: 90,
    rollupDays: 30,
    memoryTasks: 500,
    ceilingSeconds: 1,
    ceilingClients: [1],
  },
})
