import type { TaskStats } from '../stats/stats.service.ts'

// The seed's statistics responses, field for field, filled from TaskStats (cluster-wide figures
// computed in SQL; each is defined in docs/stats.md).

/** GET /task-stats: the seed's `catzilla_stats`. */
export function catzillaStats(s: TaskStats) {
  return {
    catzilla_stats: {
      queue_metrics: {
        critical_queue_size: s.criticalQueueSize,
        high_queue_size: s.highQueueSize,
        normal_queue_size: s.normalQueueSize,
        low_queue_size: s.lowQueueSize,
        total_queued: s.totalQueued,
      },
      worker_metrics: {
        active_workers: s.activeWorkers,
        idle_workers: s.idleWorkers,
        total_workers: s.totalWorkers,
      },
      performance_metrics: {
        tasks_per_second: s.tasksPerSecond,
        avg_execution_time_ms: s.avgExecutionTimeMs,
        memory_usage_mb: s.memoryUsageMb,
      },
    },
  }
}

/** GET /task-analytics. */
export function taskAnalytics(s: TaskStats) {
  return {
    total_tasks_executed: s.totalTasksProcessed,
    performance_metrics: {
      tasks_per_second: s.tasksPerSecond,
      average_execution_time_ms: s.avgExecutionTimeMs,
      p95_execution_time_ms: s.p95ExecutionTimeMs,
    },
    queue_status: { total_queued: s.totalQueued, queue_pressure: s.queuePressure },
    worker_status: {
      active_workers: s.activeWorkers,
      total_workers: s.totalWorkers,
      worker_utilization: s.avgWorkerUtilization,
    },
    memory_usage: { current_mb: s.memoryUsageMb, efficiency: s.memoryEfficiency },
    error_metrics: { failed_tasks: s.failedTasks, error_rate: s.errorRate },
    uptime_seconds: s.uptimeSeconds,
  }
}

/** GET /task-performance. */
export function taskPerformance(s: TaskStats) {
  return {
    performance_summary: {
      throughput: `${s.tasksPerSecond.toFixed(2)} tasks/sec`,
      avg_response_time: `${s.avgExecutionTimeMs.toFixed(2)}ms`,
      memory_efficiency: `${s.memoryEfficiency.toFixed(1)}%`,
      worker_utilization: `${s.avgWorkerUtilization.toFixed(1)}%`,
    },
    detailed_metrics: {
      execution_times: {
        average_ms: s.avgExecutionTimeMs,
        p95_ms: s.p95ExecutionTimeMs,
        p99_ms: s.p99ExecutionTimeMs,
      },
      resource_usage: {
        cpu_usage: s.workerCpuUsage,
        memory_mb: s.workerMemoryUsage,
        engine_cpu: s.engineCpuUsage,
      },
    },
    timestamp: new Date().toISOString(),
  }
}
