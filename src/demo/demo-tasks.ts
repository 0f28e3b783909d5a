// The seed document's task functions as tasklane tasks (see docs/seed.md). Sleeps stand for work and
// are multiplied by `timeScale` (config.demoTimeScale, DEMO_TIME_SCALE), so tests run the real flows
// in milliseconds. Imports stay light: the thread-mode tasks below are loaded again inside threads.
import { availableParallelism, freemem, loadavg, totalmem } from 'node:os'
import { setTimeout as sleepFor } from 'node:timers/promises'
import { NonRetryableError } from '../errors.ts'
import { defineTask } from '../tasks/define-task.ts'
import { TaskPriority } from '../tasks/priority.ts'

/** The steps of the seed's data_processing_task, in order. */
export const DATA_PROCESSING_STEPS = Object.freeze([
  'Loading data...',
  'Validating records...',
  'Processing batch 1/3...',
  'Processing batch 2/3...',
  'Processing batch 3/3...',
  'Generating report...',
  'Saving results...',
])

/** A retryable failure talking to another system (the seed's ConnectionError and "network error"). */
export class ConnectionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConnectionError'
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10

/**
 * Sum of i² for i below `n`, as the seed's complex_calculation and cpu_bound_task compute it: a loop,
 * because the point is CPU work. BigInt, since the seed's 1,000,000 case (3.3e17) is past 2^53.
 */
function sumOfSquares(n: number): bigint {
  let result = 0n
  for (let i = 0n, end = BigInt(n); i < end; i++) result += i * i
  return result
}

/**
 * CPU-bound tasks run in the worker-thread pool, so they are defined at module level: a thread
 * imports this module and finds them by name.
 */
export const cpuBoundTask = defineTask({
  name: 'cpu-bound-task',
  mode: 'thread',
  module: import.meta.url,
  priority: TaskPriority.HIGH,
  run(_data: unknown) {
    return { computation_result: Number(sumOfSquares(10_000)) }
  },
})

export const complexCalculation = defineTask({
  name: 'complex-calculation',
  mode: 'thread',
  module: import.meta.url,
  run(_args: unknown) {
    return {
      calculation: 'sum_of_squares',
      range: '1 to 1,000,000',
      // A string: the exact value does not fit a JSON number that JavaScript reads back exactly.
      result: sumOfSquares(1_000_000).toString(),
      computed_at: new Date().toISOString(),
    }
  },
})

/**
 * Every demo task, with sleeps scaled by `timeScale`.
 * @example const demo = createDemoTasks({ timeScale: loadConfig().demoTimeScale })
 */
export function createDemoTasks({ timeScale = 1 }: { timeScale?: number } = {}) {
  const sleep = (ms: number, signal: AbortSignal) => sleepFor(ms * timeScale, undefined, { signal })

  const longRunningTask = defineTask({
    name: 'long-running-task',
    async run({ steps = 10, stepMs = 1_000 }: { steps?: number; stepMs?: number }, ctx) {
      for (let i = 0; i < steps; i++) {
        await sleep(stepMs, ctx.signal)
        await ctx.progress(((i + 1) * 100) / steps, `Task progress: ${i + 1}/${steps}`)
      }
      return { result: 'Task completed successfully' }
    },
  })

  const fetchFromApi = defineTask({
    name: 'fetch-from-api',
    retry: { limit: 3, delay: '1s', backoff: 'exponential' },
    async run(_args: unknown, ctx) {
      const results: string[] = []
      for (let i = 0; i < 5; i++) {
        await sleep(500, ctx.signal)
        results.push(`Data chunk ${i + 1}`)
        await ctx.progress((i + 1) * 20, `Fetched chunk ${i + 1}/5`)
      }
      return { data: results, total_items: results.length }
    },
  })

  const sendReminder = defineTask({
    name: 'send-reminder',
    async run(_args: unknown, ctx) {
      ctx.log.info('📧 Sending reminder email...')
      await sleep(2_000, ctx.signal)
      return { notification: 'Reminder sent', timestamp: new Date().toISOString() }
    },
  })

  // The seed simulates these figures; the demo reads the host's.
  const checkSystemHealth = defineTask({
    name: 'check-system-health',
    async run(_args: unknown, ctx) {
      const cpuPercent = round1(Math.min(100, (loadavg()[0]! / availableParallelism()) * 100))
      const memoryPercent = round1((1 - freemem() / totalmem()) * 100)
      ctx.log.info(`🖥️  System Health - CPU: ${cpuPercent}%, Memory: ${memoryPercent}%`)
      return { cpu_percent: cpuPercent, memory_percent: memoryPercent, timestamp: new Date().toISOString() }
    },
  })

  const dataProcessing = defineTask({
    name: 'data-processing',
    async run(_args: unknown, ctx) {
      const steps = DATA_PROCESSING_STEPS
      for (const [i, step] of steps.entries()) {
        await ctx.progress(Math.floor(((i + 1) * 100) / steps.length), step)
        await sleep(1_000, ctx.signal)
      }
      return {
        processed_records: 1000,
        generated_file: 'report_2024.pdf',
        processing_time: `${steps.length} seconds`,
      }
    },
  })

  const unreliableOperation = defineTask({
    name: 'unreliable-operation',
    priority: TaskPriority.HIGH,
    retry: { limit: 3, delay: '1s', backoff: 'exponential', maxDelay: '30s' },
    async run({ failureRate = 0.3 }: { failureRate?: number }, ctx) {
      if (Math.random() < failureRate) throw new ConnectionError('Simulated network error')
      await sleep(2_000, ctx.signal)
      return { status: 'success', data: 'Operation completed' }
    },
  })

  // Connection errors are retried; a validation error is not (retrying cannot fix the input).
  const potentiallyFailingTask = defineTask({
    name: 'potentially-failing-task',
    retry: { limit: 2, delay: '1s' },
    run({ outcome }: { outcome?: 'connection' | 'validation' | 'success' }) {
      const kind =
        outcome ?? (['connection', 'validation', 'success'] as const)[Math.floor(Math.random() * 3)]
      if (kind === 'connection') throw new ConnectionError('Failed to connect to external service')
      if (kind === 'validation') throw new NonRetryableError('Invalid data format')
      return { status: 'success', message: 'Task completed successfully' }
    },
  })

  const highPriorityTask = defineTask({
    name: 'high-priority-task',
    priority: TaskPriority.HIGH,
    async run(_args: unknown, ctx) {
      ctx.log.info('🔧 Performing critical system maintenance...')
      await sleep(5_000, ctx.signal)
      return { maintenance: 'completed', systems: 'healthy' }
    },
  })

  const processBatchItem = defineTask({
    name: 'process-batch-item',
    async run({ item_id }: { item_id: number }, ctx) {
      await sleep(1_000, ctx.signal)
      return { item_id, processed: true }
    },
  })

  const goodTask = defineTask({
    name: 'good-task',
    run(data: string) {
      return { processed: data.length, result: data.toUpperCase() }
    },
  })

  const ioBoundTask = defineTask({
    name: 'io-bound-task',
    async run(_args: unknown, ctx) {
      await sleep(1_000, ctx.signal)
      return { result: 'I/O operation completed' }
    },
  })

  const batchTask = defineTask({
    name: 'batch-task',
    run(items: string[]) {
      const results = items.map((item) => `processed_${item}`)
      return { batch_results: results, count: results.length }
    },
  })

  return {
    longRunningTask,
    fetchFromApi,
    sendReminder,
    checkSystemHealth,
    dataProcessing,
    unreliableOperation,
    potentiallyFailingTask,
    highPriorityTask,
    processBatchItem,
    complexCalculation,
    goodTask,
    ioBoundTask,
    cpuBoundTask,
    batchTask,
  }
}

export type DemoTasks = ReturnType<typeof createDemoTasks>
