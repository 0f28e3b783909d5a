// Where CPU goes during a measured interval: this Node process versus all PostgreSQL server
// processes (read from /proc; Linux only). On 2 cores, a 1.3 s drain has 2.6 core-seconds to spend.
import { readdirSync, readFileSync } from 'node:fs'

const TICK_MS = 10 // USER_HZ is 100 on Linux

function postgresTicks(): number {
  let ticks = 0
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      if (comm !== 'postgres') continue
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12]) // utime, stime
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks
}

export interface CpuSplit {
  nodeMs: number
  postgresMs: number
  wallMs: number
}

/** Starts measuring; call the returned function to read the split. */
export function startCpuSplit(): () => CpuSplit {
  const node0 = process.cpuUsage()
  const pg0 = postgresTicks()
  const t0 = performance.now()
  return () => {
    const node = process.cpuUsage(node0)
    return {
      nodeMs: (node.user + node.system) / 1000,
      // Backends that exited during the interval (closed connections) are not counted.
      postgresMs: (postgresTicks() - pg0) * TICK_MS,
      wallMs: performance.now() - t0,
    }
  }
}
