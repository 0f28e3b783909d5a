/**
 * Task priorities, highest first: CRITICAL > HIGH > NORMAL > LOW. Within a queue a ready task of higher
 * priority is leased before any ready task of lower priority (README, "Queue"). A frozen object;
 * where a priority is accepted, the lowercase names (`'high'`) are too.
 * @example await tasks.addTask(sendReminder, { userId: 'u1' }, { priority: TaskPriority.HIGH })
 */
export const TaskPriority = Object.freeze({
  CRITICAL: 'CRITICAL',
  HIGH: 'HIGH',
  NORMAL: 'NORMAL',
  LOW: 'LOW',
} as const)
/** One of `'CRITICAL' | 'HIGH' | 'NORMAL' | 'LOW'` (the values of the TaskPriority object). */
export type TaskPriority = (typeof TaskPriority)[keyof typeof TaskPriority]

// The one mapping to pg-boss's integer priority, where higher runs first. Spaced so that a future
// level can slot in between without a data migration.
const BOSS_PRIORITY: Readonly<Record<TaskPriority, number>> = Object.freeze({
  CRITICAL: 30,
  HIGH: 20,
  NORMAL: 10,
  LOW: 0,
})

export const PRIORITIES: readonly TaskPriority[] = ['CRITICAL', 'HIGH', 'NORMAL', 'LOW']

export function toBossPriority(priority: TaskPriority): number {
  return BOSS_PRIORITY[priority]
}

/** The priority a stored integer stands for (the nearest level at or below it). */
export function fromBossPriority(value: number): TaskPriority {
  if (value >= BOSS_PRIORITY.CRITICAL) return 'CRITICAL'
  if (value >= BOSS_PRIORITY.HIGH) return 'HIGH'
  if (value >= BOSS_PRIORITY.NORMAL) return 'NORMAL'
  return 'LOW'
}

/** Accepts 'high', 'HIGH' or TaskPriority.HIGH; returns null for anything else. */
export function parsePriority(value: unknown): TaskPriority | null {
  if (typeof value !== 'string') return null
  const upper = value.toUpperCase()
  return (PRIORITIES as readonly string[]).includes(upper) ? (upper as TaskPriority) : null
}
