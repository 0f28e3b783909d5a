import { createHash } from 'node:crypto'

/**
 * The channel pg-boss NOTIFYs when a notify-enabled queue gets ready work (pg-boss derives it from
 * its schema name: 'pgboss_' + the first 24 hex digits of sha224(schema)). Payload: the queue name.
 */
export function bossWakeChannel(bossSchema: string): string {
  return `pgboss_${createHash('sha224').update(bossSchema).digest('hex').slice(0, 24)}`
}
