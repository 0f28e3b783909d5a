import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { eventsChannel } from '../../src/events/events-channel.ts'

// Issue 14, item 1: every name tasklane uses in the database follows TASKLANE_SCHEMA; the default
// schema keeps the names earlier releases used, so existing installs keep their queue and channel.
describe('names derived from TASKLANE_SCHEMA', () => {
  it('keeps pgboss and tasklane_events for the default schema', () => {
    const c = loadConfig({})
    expect([c.schema, c.bossSchema, eventsChannel(c.schema)]).toEqual([
      'tasklane',
      'pgboss',
      'tasklane_events',
    ])
  })

  it('derives the pg-boss schema and the channel from any other schema', () => {
    const c = loadConfig({ TASKLANE_SCHEMA: 'billing' })
    expect([c.bossSchema, eventsChannel(c.schema)]).toEqual(['billing_boss', 'billing_events'])
  })

  it('lets TASKLANE_BOSS_SCHEMA override the derived pg-boss schema', () => {
    expect(loadConfig({ TASKLANE_SCHEMA: 'billing', TASKLANE_BOSS_SCHEMA: 'pgboss' }).bossSchema).toBe(
      'pgboss',
    )
  })

  it('refuses a schema too long for the derived names, saying how long it may be', () => {
    const long = 'a'.repeat(57)
    expect(() => loadConfig({ TASKLANE_SCHEMA: long })).toThrow(ConfigError)
    expect(() => loadConfig({ TASKLANE_SCHEMA: long })).toThrow(
      /TASKLANE_SCHEMA=".*" is invalid: .*at most 56 characters/,
    )
    const longest = loadConfig({ TASKLANE_SCHEMA: 'a'.repeat(56) })
    // PostgreSQL truncates identifiers (and refuses NOTIFY channels) past 63 bytes.
    expect(Math.max(longest.bossSchema.length, eventsChannel(longest.schema).length)).toBeLessThanOrEqual(63)
  })

  it('validates TASKLANE_LISTEN_URL like DATABASE_URL', () => {
    expect(() => loadConfig({ TASKLANE_LISTEN_URL: 'mysql://x' })).toThrow(
      /TASKLANE_LISTEN_URL="mysql:\/\/x".*postgres:\/\//,
    )
    expect(loadConfig({ TASKLANE_LISTEN_URL: 'postgres://db:5432/app' }).listenUrl).toBe(
      'postgres://db:5432/app',
    )
  })
})
