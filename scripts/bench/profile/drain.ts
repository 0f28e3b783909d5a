// Drain profiler: one tasklane drain of N preloaded tasks with the query timer on, printing the
// rate and where client-observed database time went (lease, settle, history, heartbeats).
//
//   npx tsx scripts/bench/profile/drain.ts [--tasks=20000] [--prefetch=500] [--concurrency=10]
//   --no-running-events: experiment, drop the per-start 'running' NOTIFYs
//   --cpu-prof=/tmp/drain.cpuprofile: CPU profile of the drain only, summarised on stdout
import { createDatabase, dbName, dropDatabase } from '../db.ts'
import { waitUntil } from '../scenarios.ts'
import { now } from '../system.ts'
import { TasklaneSystem } from '../tasklane.system.ts'
import { startCpuSplit } from './cpu-split.ts'
import { startProfile } from './inspector-profile.ts'
import { installQueryTimer, queryReport, resetQueryTimer } from './query-timer.ts'

const arg = (name: string, fallback: number) =>
  Number(
    process.argv
      .find((a) => a.startsWith(`--${name}=`))
      ?.split('=')
      .slice(1)
      .join('=') ?? fallback,
  )
const TASKS = arg('tasks', 20_000)
const prefetch = arg('prefetch', 500)
const concurrency = arg('concurrency', 10)

installQueryTimer()
if (process.argv.includes('--no-running-events')) {
  // Experiment only: drop the per-start 'running' events to measure what publishing them costs.
  const { EventPublisher } = await import('../../../src/events/event-publisher.ts')
  const publish = EventPublisher.prototype.publish
  EventPublisher.prototype.publish = function (this: InstanceType<typeof EventPublisher>, m) {
    if (m.type === 'status' && m.status === 'running') return
    publish.call(this, m)
  }
}
const db = dbName('profile', 'drain', process.pid)
const system = new TasklaneSystem({ prefetch })
try {
  await system.setup(await createDatabase(db))
  for (let i = 0; i < TASKS; i += 1000) {
    await system.enqueueBatch(Array.from({ length: Math.min(1000, TASKS - i) }, () => ({ t: now() })))
  }
  resetQueryTimer()
  const cpu = startCpuSplit()
  const profileFile = process.argv
    .find((a) => a.startsWith('--cpu-prof='))
    ?.split('=')
    .slice(1)
    .join('=')
  const stopProfile = profileFile ? await startProfile() : undefined
  let first: number | undefined
  await system.startWorkers({
    concurrency,
    onRun: () => {
      first ??= now()
    },
  })
  await waitUntil(async () => (await system.countUnsettled()) === 0, 300_000, 'drain')
  const seconds = (now() - (first ?? now())) / 1000
  const split = cpu()
  const profileSummary = await stopProfile?.(profileFile!)
  console.log(
    `drain ${TASKS} (concurrency ${concurrency}, prefetch ${prefetch}): ${(TASKS / seconds).toFixed(0)} tasks/s in ${seconds.toFixed(2)} s`,
  )
  console.log(
    `cpu: node ${split.nodeMs.toFixed(0)} ms, postgres ${split.postgresMs.toFixed(0)} ms, wall ${split.wallMs.toFixed(0)} ms (from worker start, polling included)`,
  )
  console.log(queryReport())
  if (profileSummary) console.log(profileSummary)
} finally {
  await system.teardown()
  await dropDatabase(db)
}
process.exit(0)
