import type { MetricsSnapshot } from '../../stats/metrics.service.ts'

type Labels = Record<string, string>

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const labelText = (l: Labels) => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
  return parts.length > 0 ? `{${parts.join(',')}}` : ''
}

/** Accumulates families in Prometheus text exposition format 0.0.4. */
class Exposition {
  readonly #lines: string[] = []

  family(name: string, type: 'gauge' | 'histogram', help: string, samples: Array<[Labels, number]>): this {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of samples) this.#lines.push(`${name}${labelText(labels)} ${format(value)}`)
    return this
  }

  histogram(name: string, help: string, h: MetricsSnapshot['runTime']): this {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`)
    h.boundsSeconds.forEach((le, i) => {
      this.#lines.push(`${name}_bucket{le="${le}"} ${h.buckets[i] ?? 0}`)
    })
    this.#lines.push(
      `${name}_bucket{le="+Inf"} ${h.count}`,
      `${name}_sum ${format(h.sumSeconds)}`,
      `${name}_count ${h.count}`,
    )
    return this
  }

  toString(): string {
    return `${this.#lines.join('\n')}\n`
  }
}

function format(n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf'
  return String(n)
}

const MB = 1024 * 1024

/**
 * The /metrics page. Queue and worker figures are current; outcome counts and the run-time histogram
 * cover the stats window (a sliding snapshot computed from history, not a counter since process
 * start, so every replica answers the same): read them directly, e.g. histogram_quantile(0.95,
 * tasklane_task_run_seconds_bucket), not through rate().
 */
export function renderMetrics(m: MetricsSnapshot): string {
  const s = m.stats
  const w = `over the last ${s.windowSeconds} s`
  return (
    new Exposition()
      .family('tasklane_queue_ready_tasks', 'gauge', 'Ready tasks waiting for a worker, by priority.', [
        [{ priority: 'critical' }, s.criticalQueueSize],
        [{ priority: 'high' }, s.highQueueSize],
        [{ priority: 'normal' }, s.normalQueueSize],
        [{ priority: 'low' }, s.lowQueueSize],
      ])
      .family(
        'tasklane_queue_scheduled_tasks',
        'gauge',
        'Tasks whose start is in the future (delayed, scheduled, retry backoff).',
        [[{}, s.scheduled]],
      )
      .family('tasklane_queue_pressure', 'gauge', 'Ready tasks per worker slot.', [[{}, s.queuePressure]])
      .family('tasklane_tasks_finished', 'gauge', `Tasks that finished ${w}, by outcome.`, [
        [{ outcome: 'completed' }, m.finished.completed],
        [{ outcome: 'failed' }, m.finished.failed],
        [{ outcome: 'cancelled' }, m.finished.cancelled],
      ])
      .family('tasklane_task_retries', 'gauge', `Failed attempts that were retried, ${w}.`, [
        [{}, s.retryCount],
      ])
      .family('tasklane_task_timeouts', 'gauge', `Attempts aborted by their timeout, ${w}.`, [
        [{}, s.timeoutCount],
      ])
      .family('tasklane_tasks_per_second', 'gauge', `Completed and failed tasks per second, ${w}.`, [
        [{}, s.tasksPerSecond],
      ])
      .family('tasklane_error_rate', 'gauge', `Failed / (completed + failed), ${w}.`, [[{}, s.errorRate]])
      .histogram('tasklane_task_run_seconds', `Run time of tasks that completed or failed ${w}.`, m.runTime)
      .family('tasklane_workers_busy', 'gauge', 'Worker slots running a task, over live worker processes.', [
        [{}, s.activeWorkers],
      ])
      // Not `tasklane_workers_total`: Prometheus reserves the _total suffix for counters (promtool lint).
      .family('tasklane_worker_slots', 'gauge', 'Worker slots of live worker processes.', [
        [{}, s.totalWorkers],
      ])
      .family('tasklane_worker_processes', 'gauge', 'Live worker processes (heartbeat within the timeout).', [
        [{}, m.workerProcesses],
      ])
      .family('tasklane_worker_utilization_percent', 'gauge', `Busy share of worker slot time, ${w}.`, [
        [{}, s.avgWorkerUtilization],
      ])
      .family(
        'tasklane_worker_resident_memory_bytes',
        'gauge',
        'Resident memory of live worker processes, summed.',
        [[{}, Math.round(s.memoryUsageMb * MB)]],
      )
      .family(
        'tasklane_worker_heap_bytes',
        'gauge',
        'JavaScript heap in use by live worker processes, summed.',
        [[{}, Math.round(s.workerMemoryUsage * MB)]],
      )
      .family(
        'tasklane_worker_cpu_percent',
        'gauge',
        'CPU of live worker processes, percent of one core, summed.',
        [[{}, s.workerCpuUsage]],
      )
      .family('tasklane_uptime_seconds', 'gauge', 'Seconds since the longest-running live process started.', [
        [{}, s.uptimeSeconds],
      ])
      .family(
        'tasklane_stats_window_seconds',
        'gauge',
        'Width of the sliding window of the windowed figures.',
        [[{}, s.windowSeconds]],
      )
      .toString()
  )
}
