// The contract every benchmarked queue implements. Kept minimal: a system plugs in by implementing
// these methods and being added to SYSTEMS in scripts/bench.ts.

export type SystemName = 'tasklane' | 'pg-boss' | 'graphile-worker'

/** What every task carries: its enqueue time on the shared clock, so latency = start − t. */
export interface BenchPayload {
  t: number
}

export interface WorkerOptions {
  concurrency: number
  /** Called by the no-op handler as soon as it starts, once per task. */
  onRun: (payload: BenchPayload) => void
}

export interface BenchSystem {
  readonly name: SystemName
  /** Create schema / queues in a fresh, empty database; producers ready afterwards. */
  setup(dbUrl: string): Promise<void>
  /** One task per call, one round trip. */
  enqueueOne(payload: BenchPayload): Promise<void>
  /** All payloads in one round trip. */
  enqueueBatch(payloads: BenchPayload[]): Promise<void>
  /** Start in-process workers; resolves once they are polling/listening. */
  startWorkers(opts: WorkerOptions): Promise<void>
  stopWorkers(): Promise<void>
  /** Tasks not yet settled (completed) in the database. */
  countUnsettled(): Promise<number>
  /** Optional check, outside the timed part, that `expected` tasks are settled by the system's own definition. */
  verifySettled?(expected: number): Promise<void>
  /** Close every pool; the database itself is dropped by the harness. */
  teardown(): Promise<void>
}

export type SystemFactory = () => BenchSystem

/**
 * A clock shared by producer and handler (same process) with sub-millisecond resolution;
 * Date.now() would quantise the ~3 ms latencies we are measuring.
 */
export function now(): number {
  return performance.timeOrigin + performance.now()
}

export interface Figure {
  scenario: string
  system: SystemName | 'postgres'
  value: number
  unit: string
}
