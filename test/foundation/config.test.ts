import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.ts'

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({
      databaseUrl: undefined,
      port: 8000,
      host: '127.0.0.1',
      workers: 4,
      schema: 'tasklane',
      bossSchema: 'pgboss',
      dbBackend: 'postgres',
      heartbeatTimeoutMs: 30_000,
      migrateOnStart: true,
      maxBodyBytes: 1024 * 1024,
    })
    expect(Object.isFrozen(c)).toBe(true)
  })

  it.each([
    ['PORT', 'eighty', /PORT="eighty" is invalid: expected an integer from 0 to 65535/],
    ['PORT', '70000', /PORT="70000".*0 to 65535/],
    ['TASKLANE_WORKERS', '-1', /TASKLANE_WORKERS="-1".*0 to 1000/],
    ['TASKLANE_HEARTBEAT_TIMEOUT', '1s', /TASKLANE_HEARTBEAT_TIMEOUT="1s".*from 5s to 1h/],
    ['TASKLANE_DB_BACKEND', 'mysql', /one of postgres, citus, cockroachdb, yugabytedb/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL="loud"/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL="mysql:\/\/x".*postgres:\/\//],
    ['TASKLANE_SCHEMA', 'Bad-Name', /TASKLANE_SCHEMA="Bad-Name"/],
    ['TASKLANE_MIGRATE', 'maybe', /true or false/],
    ['TASKLANE_MAX_BODY', '10gb', /TASKLANE_MAX_BODY/],
  ])('rejects %s=%s naming the variable, the value and the range', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError)
    expect(() => loadConfig({ [name]: value })).toThrow(message)
  })

  it('never echoes a short API token back', () => {
    expect(() => loadConfig({ TASKLANE_API_TOKEN: 'secret' })).toThrow(/<redacted>.*at least 16/)
  })

  it('parses durations and sizes', () => {
    const c = loadConfig({
      TASKLANE_HEARTBEAT_TIMEOUT: '10s',
      TASKLANE_MAX_BODY: '512kb',
      TASKLANE_POLL_INTERVAL: '250ms',
    })
    expect(c.heartbeatTimeoutMs).toBe(10_000)
    expect(c.maxBodyBytes).toBe(512 * 1024)
    expect(c.pollIntervalMs).toBe(250)
  })
})
