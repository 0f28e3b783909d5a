import { type Logger, pino } from 'pino'

export type { Logger }

/**
 * The root logger: structured JSON on stdout. Child loggers carry `{taskId, task, workerId}`.
 * @example createLogger('info').child({ workerId })
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'tasklane' } }, destination ?? pino.destination({ sync: false }))
}
