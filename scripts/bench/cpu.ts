// CPU spent per settled task, in this process and in the PostgreSQL backends serving the
// scenario's database. On a shared, noisy machine throughput swings with the neighbours' load;
// CPU per task swings much less, so it is the fairer basis for comparing efficiency.
import { readFileSync } from 'node:fs'
import pg from 'pg'

const TICK_MS = 10 // USER_HZ = 100 on Linux

function ticksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12]) // utime + stime
  } catch {
    return undefined
  }
}

async function backendPids(dbUrl: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: dbUrl })
  await client.connect()
  try {
    const database = new URL(dbUrl).pathname.slice(1)
    const { rows } = await client.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    )
    return rows.map((r) => r.pid)
  } finally {
    await client.end()
  }
}

export interface CpuMeter {
  /** Node CPU of this process and CPU of the database's backends since start, in ms; null where unreadable. */
  stop(): Promise<{ nodeMs: number; postgresMs: number | null }>
}

/**
 * Starts measuring. Backends are found through pg_stat_activity and read in /proc, so the Postgres
 * figure exists only when the server runs on this machine (null otherwise, e.g. in a container).
 * A backend that exits before stop() is not counted: the scenarios keep their pools open throughout.
 */
export async function startCpuMeter(dbUrl: string): Promise<CpuMeter> {
  const node0 = process.cpuUsage()
  const before = new Map<number, number>()
  for (const pid of await backendPids(dbUrl)) {
    const t = ticksOf(pid)
    if (t !== undefined) before.set(pid, t)
  }
  return {
    async stop() {
      const node = process.cpuUsage(node0)
      const pids = await backendPids(dbUrl)
      let ticks = 0
      let readable = 0
      for (const pid of pids) {
        const t = ticksOf(pid)
        if (t === undefined) continue
        readable++
        ticks += t - (before.get(pid) ?? 0)
      }
      return {
        nodeMs: (node.user + node.system) / 1000,
        postgresMs: readable > 0 ? ticks * TICK_MS : null,
      }
    },
  }
}
