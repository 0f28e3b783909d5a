import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, MAX_CONNECTIONS_ACCEPTED, SHARED_SETTINGS } from '../../src/config.ts'
import { resolveSettings } from '../../src/resolve-settings.ts'
import { createTasklane } from '../../src/tasklane.ts'
import type { TasklaneOptions } from '../../src/tasklane-options.ts'

// Options are checked like the environment (issue 12, item 3): the same bounds, the same message, at
// createTasklane() rather than at start() or at the first task.

const config = loadConfig({})
const create = (options: Record<string, unknown>) =>
  createTasklane({ config, tasks: [], ...options } as unknown as TasklaneOptions)

/** What follows "is invalid: expected" in a ConfigError, or the error itself when it is not one. */
function refusal(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.message.replace(/^.*? is invalid: expected /, '')
  }
  throw new Error('accepted, but should have been refused')
}

describe('createTasklane refuses an option the environment would refuse, saying what to do', () => {
  it.each<[Record<string, unknown>, RegExp]>([
    [{ pollInterval: 0 }, /^pollInterval=0 is invalid: expected a duration from 50ms to 60s, written like/],
    [{ pollInterval: '10m' }, /^pollInterval="10m" is invalid: expected a duration from 50ms to 60s/],
    [{ pollInterval: 1.5 }, /^pollInterval=1.5 is invalid: expected a duration/],
    [{ workers: -1 }, /^workers=-1 is invalid: expected an integer from 0 to 1000$/],
    [{ workers: 2.5 }, /^workers=2.5 is invalid: expected an integer from 0 to 1000$/],
    [{ workers: Number.NaN }, /^workers=NaN is invalid/],
    [{ heartbeatTimeout: '1s' }, /^heartbeatTimeout="1s" is invalid: expected a duration from 5s to 1h/],
    [
      { heartbeatTimeout: '7500ms' },
      /^heartbeatTimeout="7500ms" is invalid: expected a whole number of seconds \(its granularity is 1 s\)$/,
    ],
    [{ heartbeatTimeout: 'soon' }, /^heartbeatTimeout="soon" is invalid: expected a duration from 5s to 1h/],
    [{ threads: 0 }, /^threads=0 is invalid: expected an integer from 1 to 256$/],
    [{ memoryPoolMb: -1 }, /^memoryPoolMb=-1 is invalid: expected an integer from 0 to 1048576$/],
    [
      { maxConnections: 2 },
      /^maxConnections=2 is invalid: expected an integer from 3 to 10000: a process needs/,
    ],
    [{ poolSize: 0 }, /^poolSize=0 is invalid: expected an integer from 1 to 10000 \(or set maxConnections/],
    [{ rollupRetention: '1h' }, /^rollupRetention="1h" is invalid: expected a duration from 1d to 36500d/],
    [
      { databaseUrl: 'mysql://x' },
      /^databaseUrl="mysql:\/\/x" is invalid: expected a URL starting with postgres/,
    ],
    [{ migrate: 1 }, /^migrate=1 is invalid: expected true or false$/],
    [{ supervise: 'maybe' }, /^supervise="maybe" is invalid: expected true or false$/],
    [{ enableProfiling: null }, /^enableProfiling=null is invalid: expected true or false$/],
    [{ workerId: '' }, /^workerId="" is invalid: expected a non-empty string/],
    [{ queues: [] }, /^queues=\[\] is invalid: expected an object of queue name/],
    [
      { queues: { 'Bad Name': { concurrency: 1 } } },
      /^queues="Bad Name" is invalid: expected queue names of a-z/,
    ],
    [{ queues: { mail: 2 } }, /^queues.mail=2 is invalid: expected \{ concurrency, prefetch\? \}$/],
    [
      { queues: { mail: { concurrency: -2 } } },
      /^queues.mail.concurrency=-2 is invalid: expected an integer from 1 to 1000$/,
    ],
    [{ queues: { mail: { concurrency: 0 } } }, /^queues.mail.concurrency=0 is invalid/],
    [{ queues: { mail: {} } }, /^queues.mail.concurrency=undefined is invalid/],
    [
      { queues: { mail: { concurrency: 2, prefetch: -5 } } },
      /^queues.mail.prefetch=-5 is invalid: expected an integer from 0 to 10000$/,
    ],
    [
      { tasks: undefined },
      /^tasks=undefined is invalid: expected an array of tasks made with defineTask\(\)$/,
    ],
    [
      { pollIntervalMs: 100 },
      /^createTasklane: unknown option 'pollIntervalMs': did you mean 'pollInterval'\?/,
    ],
    [{ wrokers: 2 }, /^createTasklane: unknown option 'wrokers': did you mean 'workers'\?/],
    [
      { queues: { mail: { concurency: 2 } } },
      /^queues.mail: unknown option 'concurency': did you mean 'concurrency'\? \(options: concurrency, prefetch\)$/,
    ],
  ])('%o → %s', (options, message) => {
    expect(() => create(options)).toThrow(ConfigError)
    expect(() => create(options)).toThrow(message)
  })

  it('says the same thing about an option as about its environment variable, for every shared setting', () => {
    const bad: Record<keyof typeof SHARED_SETTINGS, string> = {
      databaseUrl: 'mysql://x',
      workers: '-1',
      maxConnections: '2',
      heartbeatTimeout: '7500ms',
      pollInterval: '10m',
      rollupRetention: '1h',
      migrate: 'maybe',
      threads: '0',
      memoryPoolMb: '-1',
      enableProfiling: 'maybe',
    }
    expect(Object.keys(bad).sort()).toEqual(Object.keys(SHARED_SETTINGS).sort())
    for (const [option, value] of Object.entries(bad) as [keyof typeof SHARED_SETTINGS, string][]) {
      const fromEnv = refusal(() => loadConfig({ [SHARED_SETTINGS[option].env]: value }))
      const fromOption = refusal(() => create({ [option]: value }))
      expect(fromOption, option).toBe(fromEnv)
    }
    expect(refusal(() => create({ maxConnections: 2 }))).toBe(MAX_CONNECTIONS_ACCEPTED)
    // A number given where the environment has text is checked the same way.
    expect(refusal(() => create({ workers: -1 }))).toBe(refusal(() => loadConfig({ TASKLANE_WORKERS: '-1' })))
  })
})

describe('resolveSettings', () => {
  it('applies options over the configuration, in milliseconds, once', () => {
    const s = resolveSettings(
      {
        tasks: [],
        workers: 3,
        pollInterval: '250ms',
        heartbeatTimeout: '10s',
        rollupRetention: '365d',
        migrate: false,
        queues: { mail: { concurrency: 2, prefetch: 8 }, side: { concurrency: 1 } },
        maxConnections: 9,
        workerId: 'w1',
      },
      loadConfig({ TASKLANE_WORKERS: '7', TASKLANE_STATS_WINDOW: '1m' }),
    )
    expect(s).toMatchObject({
      workers: 3,
      pollIntervalMs: 250,
      heartbeatTimeoutMs: 10_000,
      heartbeatSeconds: 10,
      retentionRollupMs: 365 * 86_400_000,
      migrateOnStart: false,
      statsWindowMs: 60_000,
      supervise: true,
      workerId: 'w1',
      connections: { total: 9, listen: 1 },
      queues: { mail: { concurrency: 2, prefetch: 8 }, side: { concurrency: 1, prefetch: undefined } },
    })
    expect(Object.isFrozen(s)).toBe(true)
  })

  it('keeps the configuration where no option is given', () => {
    const c = loadConfig({
      TASKLANE_WORKERS: '7',
      TASKLANE_HEARTBEAT_TIMEOUT: '12s',
      TASKLANE_POLL_INTERVAL: '2s',
    })
    const s = resolveSettings({ tasks: [] }, c)
    expect(s).toMatchObject({
      workers: 7,
      heartbeatTimeoutMs: 12_000,
      heartbeatSeconds: 12,
      pollIntervalMs: 2000,
    })
    expect(s.workerId).toMatch(/^.+:\d+:[0-9a-f]{6}$/)
  })
})
