import type { ColumnType } from 'kysely'

type Timestamp = ColumnType<Date, Date | string, Date | string>
type Json = ColumnType<unknown, string, string>

/** tasklane's own tables (schema `tasklane` by default). pg-boss's tables are read with raw SQL in queue/. */
export interface Database {
  task_history: TaskHistoryTable
  task_attempt: TaskAttemptTable
  task_progress: TaskProgressTable
  idempotency_key: IdempotencyKeyTable
  worker_process: WorkerProcessTable
  task_definition: TaskDefinitionTable
  setting: SettingTable
  schedule: ScheduleTable
  task_rollup: TaskRollupTable
  rollup_state: RollupStateTable
}

/** A cron schedule (src/schedule/): fires `task` with `args` at next_run_at, then at the next slot. */
export interface ScheduleTable {
  task: string
  key: string
  cron: string
  tz: string
  args: Json | null
  next_run_at: Timestamp
  last_run_at: Timestamp | null
  last_task_id: string | null
  created_at: ColumnType<Date, Date | string | undefined, Date | string>
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface TaskHistoryTable {
  task_id: string
  task: string
  queue: string
  priority: number
  status: 'completed' | 'failed' | 'cancelled'
  args: Json | null
  result: Json | null
  error: Json | null
  attempts: number
  max_attempts: number
  created_at: Timestamp
  start_after: Timestamp
  started_at: Timestamp | null
  finished_at: Timestamp
  wait_ms: number | null
  duration_ms: number | null
  worker_id: string | null
  cpu_ms: number | null
  peak_memory_mb: number | null
  /** The dead-letter queue a failed task was parked for (migration 0008); null otherwise. */
  dead_letter: string | null
}

/**
 * How a recorded attempt ended (TaskAttempt.outcome, `tasklane.task_attempt.outcome`): it threw
 * (`'failed'`), hit its task's timeout (`'timeout'`), or its worker stopped heartbeating (`'lost'`).
 */
export type AttemptOutcome = 'failed' | 'timeout' | 'lost'

export interface TaskAttemptTable {
  task_id: string
  attempt: number
  task: string
  queue: string
  outcome: AttemptOutcome
  error: Json | null
  started_at: Timestamp | null
  finished_at: Timestamp
  duration_ms: number | null
  worker_id: string | null
}

export interface TaskProgressTable {
  task_id: string
  percent: number
  step: string | null
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface IdempotencyKeyTable {
  key: string
  task_id: string
  task: string
  request_hash: string
  created_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface WorkerProcessTable {
  id: string
  host: string
  pid: number
  queues: Json
  concurrency: number
  busy: number
  rss_mb: number
  heap_mb: number
  cpu_percent: number
  busy_ms_total: ColumnType<string, number | string, number | string>
  memory_pool_mb: number
  started_at: ColumnType<Date, Date | string | undefined, Date | string>
  heartbeat_at: ColumnType<Date, Date | string | undefined, Date | string>
}

/** Task defaults published at start() for the SQL API (migration 0004). */
export interface TaskDefinitionTable {
  name: string
  queue: string
  priority: string
  retry: Json
  timeout_ms: ColumnType<string | null, number | null, number | null>
  dead_letter: string | null
  has_schema: boolean
  job_options: Json
  published_by: string
  published_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface SettingTable {
  name: string
  value: Json
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

/** Per UTC day, task and queue (migration 0003_a; columns documented in docs/sql.md). */
export interface TaskRollupTable {
  day: ColumnType<string, string, string>
  task: string
  queue: string
  completed: number
  failed: number
  cancelled: number
  retried: number
  dead_lettered: number
  run_count: number
  run_sum_ms: ColumnType<string, number | string, number | string>
  run_max_ms: number | null
  run_hist: number[]
  wait_count: number
  wait_sum_ms: ColumnType<string, number | string, number | string>
  wait_max_ms: number | null
  wait_hist: number[]
}

export interface RollupStateTable {
  one: boolean
  folded_before: ColumnType<string, string, string>
  history_from: ColumnType<string, string, string>
}
