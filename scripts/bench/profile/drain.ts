// Drain profiler: one tasklane drain of N preloaded tasks with the query timer on, printing the
// rate and where client-observed database time went (lease, settle, history, heartbeats).
//
//   npx tsx scripts/bench/profile/drain.ts [--tasks=20000] [--prefetch=default|500] [--concurrency=10]
//   --no-running-events: experiment, drop the per-start 'running' NOTIFYs
//   --cpu-prof=/tmp/drain.cpuprofile: CPU profile of the drain only, summarised on stdout
//   --alloc-prof=/tmp/drain.heapprofile: what the drain allocates (sampled), summarised on stdout
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createDatabase, dbName, dropDatabase } from '../db.ts'
import { waitUntil } from '../scenarios.ts'
import { now } from '../system.ts'
import { TasklaneSystem } from '../tasklane.system.ts'
import { startAllocationProfile } from './alloc-profile.ts'
import { startCpuSplit } from './cpu-split.ts'
import { startProfile } from './inspector-profile.ts'
import { installQueryTimer, pipelineReport, queryReport, resetQueryTimer } from './query-timer.ts'

/** The value of `--name=value`, or undefined. */
const option = (name: string) =>
  process.argv
    .find((a) => a.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=')
const arg = (name: string, fallback: number) => Number(option(name) ?? fallback)
const TASKS = arg('tasks', 20_000)
// 'default' (or no flag): tasklane's adaptive default, as the bench's headline row runs.
const prefetchArg = option('prefetch') ?? 'default'
const prefetch = prefetchArg === 'default' ? 'default' : Number(prefetchArg)
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
  const profileFile = option('cpu-prof')
  const stopProfile = profileFile ? await startProfile() : undefined
  const allocFile = option('alloc-prof')
  const stopAlloc = allocFile ? await startAllocationProfile() : undefined
  // How long callbacks wait for the event loop: a response that arrives during a burst of task
  // processing waits for it to end, which a round trip then counts as database time.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 })
  loopDelay.enable()
  let first: number | undefined
  // Handler starts, for the gaps in which no task started (the slots waited for a lease).
  const starts = new Float64Array(TASKS)
  let started = 0
  await system.startWorkers({
    concurrency,
    onRun: () => {
      const t = now()
      first ??= t
      if (started < TASKS) starts[started++] = t
    },
  })
  await waitUntil(async () => (await system.countUnsettled()) === 0, 300_000, 'drain')
  const end = now()
  loopDelay.disable()
  const seconds = (end - (first ?? end)) / 1000
  const split = cpu()
  const profileSummary = await stopProfile?.(profileFile!)
  const allocSummary = await stopAlloc?.(allocFile!)
  console.log(
    `drain ${TASKS} (concurrency ${concurrency}, prefetch ${prefetch}): ${(TASKS / seconds).toFixed(0)} tasks/s in ${seconds.toFixed(2)} s`,
  )
  console.log(
    `cpu: node ${split.nodeMs.toFixed(0)} ms, postgres ${split.postgresMs.toFixed(0)} ms, wall ${split.wallMs.toFixed(0)} ms (from worker start, polling included)`,
  )
  console.log(
    `event-loop delay: p50 ${(loopDelay.percentile(50) / 1e6).toFixed(1)} ms, p90 ${(loopDelay.percentile(90) / 1e6).toFixed(1)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(loopDelay.max / 1e6).toFixed(1)} ms`,
  )
  console.log(queryReport())
  console.log(pipelineReport((first ?? end) - performance.timeOrigin, end - performance.timeOrigin))
  let gapMs = 0
  let gaps = 0
  for (let i = 1; i < started; i++) {
    const gap = starts[i]! - starts[i - 1]!
    if (gap > 2) {
      gapMs += gap
      gaps++
    }
  }
  console.log(
    `handler starts: ${gaps} gaps over 2 ms, ${gapMs.toFixed(0)} ms in all (${((gapMs / (seconds * 1000)) * 100).toFixed(0)}% of the drain); last start ${(starts[started - 1]! - first!).toFixed(0)} ms after the first`,
  )
  if (profileSummary) console.log(profileSummary)
  if (allocSummary) console.log(allocSummary)
} finally {
  await system.teardown()
  await dropDatabase(db)
}
process.exit(0)
