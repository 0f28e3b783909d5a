import { DEFAULT_SCHEMA } from '../config.ts'

/**
 * The NOTIFY channel of one app's task events: `<schema>_events`, so two apps that differ only in
 * TASKLANE_SCHEMA never hear each other. The default schema gives `tasklane_events`, the channel every
 * earlier release used, so old and new processes of one app hear each other during a rolling upgrade.
 * (TASKLANE_SCHEMA is at most 56 characters, so the name stays within PostgreSQL's 63-byte limit.)
 * @example eventsChannel('billing') // 'billing_events'
 */
export function eventsChannel(schema: string = DEFAULT_SCHEMA): string {
  return `${schema}_events`
}
