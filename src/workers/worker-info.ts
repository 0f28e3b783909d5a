/** A live worker process, as listWorkers() and GET /workers give it. */
export interface WorkerInfo {
  id: string
  host: string
  pid: number
  /** Concurrency per queue. */
  queues: Record<string, number>
  concurrency: number
  busy: number
  rssMb: number
  cpuPercent: number
  /** ISO 8601. */
  startedAt: string
  heartbeatAt: string
}
