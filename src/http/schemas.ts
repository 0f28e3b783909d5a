import { z } from '@hono/zod-openapi'
import { QUEUE_NAME_PATTERN, TASK_NAME_PATTERN } from '../tasks/define-task.ts'

// Request and response shapes of the HTTP API. They validate requests and feed /openapi.json, so the
// document cannot drift from what the routes accept. Shapes follow DESIGN.md (TaskInfo, TaskStats).

const STATUSES = ['scheduled', 'queued', 'running', 'retrying', 'completed', 'failed', 'cancelled'] as const
const PRIORITY_LEVELS = ['CRITICAL', 'HIGH', 'NORMAL', 'LOW'] as const
const PRIORITY_INPUT = [...PRIORITY_LEVELS, 'critical', 'high', 'normal', 'low'] as const

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'validation_failed' }),
      message: z
        .string()
        .openapi({ example: "args for task 'send-reminder' are invalid: args.userId: Required" }),
      details: z.array(z.object({ path: z.string().optional(), message: z.string() })),
    }),
  })
  .openapi('Error')

const iso = z.string().openapi({ format: 'date-time' })

export const TaskInfoSchema = z
  .object({
    taskId: z.string().openapi({ format: 'uuid' }),
    task: z.string(),
    queue: z.string(),
    priority: z.enum(PRIORITY_LEVELS),
    status: z.enum(STATUSES),
    args: z.unknown(),
    progress: z.object({ percent: z.number(), step: z.string().nullable(), updatedAt: iso }).nullable(),
    result: z.unknown().optional().openapi({ description: 'present once completed' }),
    error: z
      .object({ type: z.string(), message: z.string(), retryable: z.boolean(), stack: z.string().optional() })
      .optional()
      .openapi({ description: 'the last error' }),
    deadLetter: z.string().optional().openapi({
      description:
        'failed with its retries spent and parked for this dead-letter queue: it never runs again unless retried',
      example: 'dead',
    }),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    position: z.number().int().optional().openapi({ description: 'queued only: ready tasks ahead of it' }),
    eta: iso.optional(),
    createdAt: iso,
    startAfter: iso,
    startedAt: iso.nullable(),
    finishedAt: iso.nullable(),
    waitMs: z.number().nullable(),
    durationMs: z.number().nullable(),
    attemptsHistory: z
      .array(
        z.object({
          attempt: z.number().int(),
          outcome: z.enum(['failed', 'timeout', 'lost']),
          error: z
            .object({
              type: z.string(),
              message: z.string(),
              retryable: z.boolean(),
              stack: z.string().optional(),
            })
            .nullable(),
          startedAt: iso.nullable(),
          finishedAt: iso,
          durationMs: z.number().nullable(),
          workerId: z.string().nullable(),
        }),
      )
      .optional()
      .openapi({
        description:
          'GET /tasks/{id} only: every attempt that failed, timed out or was lost (tasks.getAttempts(), TaskAttempt)',
      }),
  })
  .openapi('TaskInfo')

export const WorkerSchema = z
  .object({
    id: z.string(),
    host: z.string(),
    pid: z.number().int(),
    queues: z.record(z.string(), z.number().int()),
    concurrency: z.number().int(),
    busy: z.number().int(),
    rssMb: z.number(),
    cpuPercent: z.number(),
    startedAt: iso,
    heartbeatAt: iso,
  })
  .openapi('Worker')

export const RetryFailedResultSchema = z.object({ retried: z.number().int() }).openapi('RetryFailedResult')

const enqueueFields = {
  args: z.unknown().optional().openapi({ description: "the task's args (JSON); checked against its schema" }),
  priority: z.enum(PRIORITY_INPUT).optional(),
  delay: z.union([z.string(), z.number()]).optional().openapi({
    description: "run no sooner than this from now (database clock): whole ms or '250ms', '30s', '10m', '2h'",
    example: '10s',
  }),
  startAfter: iso.optional().openapi({
    description: "run no sooner than this instant: ISO 8601 with 'Z' or an offset (without one: 400)",
    example: '2031-01-01T09:00:00Z',
  }),
  idempotencyKey: z.string().optional().openapi({ description: 'same key again returns the same taskId' }),
}

export const EnqueueBodySchema = z.object(enqueueFields).strict().openapi('EnqueueRequest')

export const EnqueueResultSchema = z
  .object({
    taskId: z.string().openapi({ format: 'uuid' }),
    task: z.string(),
    queue: z.string(),
    priority: z.enum(PRIORITY_LEVELS),
    status: z.enum(['queued', 'scheduled']),
    deduplicated: z.boolean(),
  })
  .openapi('EnqueueResult')

export const MAX_BATCH_ITEMS = 1000

export const BatchBodySchema = z
  .object({ items: z.array(z.object(enqueueFields).strict()).min(1).max(MAX_BATCH_ITEMS) })
  .strict()
  .openapi('EnqueueBatchRequest')

export const BatchResultSchema = z
  .object({ items: z.array(EnqueueResultSchema) })
  .openapi('EnqueueBatchResult')

export const TaskPageSchema = z
  .object({ items: z.array(TaskInfoSchema), nextCursor: z.string().nullable() })
  .openapi('TaskPage')

// Filters are names: checked against the naming rules, so no value that Postgres cannot take as text
// (a NUL byte) ever reaches a query.
const taskFilter = z
  .string()
  .regex(TASK_NAME_PATTERN, 'a task name: a-z, 0-9, ".", "_" or "-", up to 100 characters')
  .optional()
const queueFilter = z
  .string()
  .regex(QUEUE_NAME_PATTERN, 'a queue name: a-z, 0-9, "_" or "-", up to 50 characters')
  .optional()

export const ListQuerySchema = z.object({
  status: z.enum(STATUSES).optional(),
  task: taskFilter,
  queue: queueFilter,
  deadLettered: z
    .enum(['true', 'false'], { message: "deadLettered must be 'true' or 'false'" })
    .optional()
    .openapi({ description: 'true: only failed tasks parked for a dead-letter queue' }),
  limit: z.coerce.number().int().min(1).max(500).optional().openapi({ type: 'integer', example: 50 }),
  cursor: z.string().optional().openapi({ description: 'nextCursor of the previous page' }),
})

export const IdParamSchema = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, format: 'uuid' }),
})

export const NameParamSchema = z.object({
  name: z.string().openapi({ param: { name: 'name', in: 'path' }, example: 'send-reminder' }),
})

// `POST /tasks/{…}` takes a task name and `GET /tasks/{…}` a task id: one URL template, so the document
// must name its parameter once (OpenAPI tools reject two paths that differ only in a parameter's
// name). Each operation says which of the two it takes.
export const TaskNameInPathSchema = z.object({
  task: z.string().openapi({
    param: { name: 'task', in: 'path', description: 'the name of a defined task' },
    example: 'send-reminder',
  }),
})

export const TaskIdInPathSchema = z.object({
  task: z.string().openapi({
    param: { name: 'task', in: 'path', description: 'a task id, as returned by the enqueue' },
    format: 'uuid',
  }),
})

export const IdempotencyHeaderSchema = z.object({
  'idempotency-key': z
    .string()
    .optional()
    .openapi({
      param: { name: 'idempotency-key', in: 'header' },
      description: 'same as idempotencyKey in the body',
    }),
})

export const EventsQuerySchema = z.object({ task: taskFilter, queue: queueFilter })

export const AnalyticsQuerySchema = z.object({
  window: z.string().optional().openapi({ example: '24h' }),
  bucket: z.string().optional().openapi({ example: '1h' }),
  task: taskFilter,
})

const n = z.number()
export const TaskStatsSchema = z
  .object({
    criticalQueueSize: n,
    highQueueSize: n,
    normalQueueSize: n,
    lowQueueSize: n,
    totalQueued: n,
    scheduled: n,
    queuePressure: n,
    activeWorkers: n,
    idleWorkers: n,
    totalWorkers: n,
    avgWorkerUtilization: n,
    tasksPerSecond: n,
    avgExecutionTimeMs: n,
    p95ExecutionTimeMs: n,
    p99ExecutionTimeMs: n,
    memoryUsageMb: n,
    memoryEfficiency: n,
    workerCpuUsage: n,
    workerMemoryUsage: n,
    engineCpuUsage: n,
    totalTasksProcessed: n,
    failedTasks: n,
    errorRate: n,
    uptimeSeconds: n,
    retryCount: n,
    timeoutCount: n,
    windowSeconds: n,
  })
  .openapi('TaskStats', { description: 'every field is defined in docs/stats.md' })

const ms = z.number().nullable()
export const AnalyticsSchema = z
  .object({
    window: z.string(),
    bucket: z.string(),
    from: iso,
    to: iso,
    rollupBefore: iso.nullable().openapi({
      description: 'buckets before this instant come from the daily rollup (whole UTC days); null: none',
    }),
    rows: z.array(
      z.object({
        task: z.string(),
        bucket: iso,
        completed: n,
        failed: n,
        cancelled: n,
        retried: n,
        throughput: n,
        waitP50Ms: ms,
        waitP95Ms: ms,
        waitP99Ms: ms,
        runP50Ms: ms,
        runP95Ms: ms,
        runP99Ms: ms,
        errorRate: n,
      }),
    ),
  })
  .openapi('Analytics')

export const HealthSchema = z.object({ status: z.literal('ok') })
export const ReadySchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  reason: z.string().optional(),
  pending: z.array(z.string()).optional(),
})
