/**
 * A live worker process, as listWorkers() and GET /workers give it: what it reported at its last
 * heartbeat (every third of the heartbeat timeout). Instants are ISO 8601 strings (database clock).
 * @example
 * { id: 'web-1:4242:a1b2c3', host: 'web-1', pid: 4242, queues: { default: 4, emails: 2 }, concurrency: 6,
 *   busy: 3, rssMb: 182.4, cpuPercent: 37.5, startedAt: '2026-01-05T10:00:00.000Z', heartbeatAt: '…' }
 */
export interface WorkerInfo {
  /** The name it registers under (TasklaneOptions.workerId; by default `host:pid:random`). */
  id: string
  /** Its host name. */
  host: string
  /** Its process id on that host. */
  pid: number
  /** Concurrency per queue. */
  queues: Record<string, number>
  /** Its worker slots: the sum of its queues' concurrency. */
  concurrency: number
  /** Slots running a task now. */
  busy: number
  /** Its resident memory (RSS), in MiB, to one decimal. */
  rssMb: number
  /** Its CPU use between its last two heartbeats, in percent of one core, to one decimal. */
  cpuPercent: number
  /** When it registered, at start. */
  startedAt: string
  /** Its last heartbeat. */
  heartbeatAt: string
}
