import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts'
import { engineOf } from '../../src/internal.ts'
import { createLogger } from '../../src/logger.ts'
import { createTasklane, type Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { freePort } from '../faults/support/fault-postgres.ts'
import { waitUntil } from '../faults/support/wait.ts'

// Issue 14, item 3: TLS as managed PostgreSQL requires it. A throwaway cluster of this test's own
// (the shared server on 5432 is never touched) gets a certificate signed by a CA the test makes, as
// a managed plan's private CA would be; then each sslmode is tried the way a user writes it.

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()
if (!hasOpenssl)
  console.log('[deploy] tls: skipped: openssl is not installed (Debian: apt-get install -y openssl)')

const echo = defineTask({
  name: 'echo',
  async run(args: { n: number }) {
    return { n: args.n }
  },
})

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' })
}

/** A CA, and a server certificate it signs for localhost and 127.0.0.1; plus an unrelated CA. */
async function makeCertificates(dir: string): Promise<void> {
  const days = ['-days', '2']
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      ...days,
      '-subj',
      '/CN=tasklane test CA',
    ],
    dir,
  )
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'other-ca.key',
      '-out',
      'other-ca.crt',
      ...days,
      '-subj',
      '/CN=some other CA',
    ],
    dir,
  )
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    ],
    dir,
  )
  await fs.writeFile(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      ...days,
      '-extfile',
      'san.ext',
    ],
    dir,
  )
}

describe.skipIf(!hasOpenssl)('TLS: sslmode in DATABASE_URL', () => {
  const dataDir = path.join(os.tmpdir(), `tasklane-tls-${process.pid}-${randomBytes(4).toString('hex')}`)
  const certDir = `${dataDir}-certs`
  let server: EmbeddedPostgresHandle
  let base: string
  const log = createLogger('silent')

  beforeAll(async () => {
    await fs.mkdir(certDir, { recursive: true })
    await makeCertificates(certDir)
    server = await startEmbeddedPostgres({ dataDir, port: await freePort() })
    base = server.connectionString
    // The server reads its key and certificate from its data dir, as the OS user that owns it; the key
    // must be private to that user.
    const owner = await fs.stat(dataDir)
    for (const file of ['server.crt', 'server.key']) {
      const to = path.join(dataDir, file)
      await fs.copyFile(path.join(certDir, file), to)
      await fs.chown(to, owner.uid, owner.gid)
      await fs.chmod(to, 0o600)
    }
    const admin = new pg.Client({ connectionString: base })
    await admin.connect()
    try {
      await admin.query(`alter system set ssl = on`)
      await admin.query(`select pg_reload_conf()`)
    } finally {
      await admin.end()
    }
    await waitUntil(
      'the server to offer TLS',
      async () => {
        const c = new pg.Client({ connectionString: `${base}?sslmode=no-verify` })
        c.on('error', () => {})
        try {
          await c.connect()
          return (await c.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()')).rows[0]?.ssl
        } catch {
          return false
        } finally {
          await c.end().catch(() => {})
        }
      },
      (ssl) => ssl === true,
      { timeoutMs: 15_000, everyMs: 100 },
    )
  }, 120_000)
  afterAll(async () => {
    await server?.stop()
    await fs.rm(dataDir, { recursive: true, force: true })
    await fs.rm(certDir, { recursive: true, force: true })
  })

  /** Starts tasklane on `url` (migrating through it), runs one task, reports whether its pool used TLS. */
  async function runOn(url: string, schema: string): Promise<{ ssl: boolean; result: unknown }> {
    let tasks: Tasklane | undefined
    try {
      tasks = createTasklane({
        config: loadConfig({ DATABASE_URL: url, TASKLANE_SCHEMA: schema, LOG_LEVEL: 'silent' }),
        logger: log,
        tasks: [echo],
        workers: 1,
        migrate: true,
      })
      await tasks.start()
      const { taskId } = await tasks.addTask(echo, { n: 7 })
      const done = await tasks.waitFor(taskId, { timeout: '30s' })
      const { rows } = await (await import('kysely')).sql<{ ssl: boolean }>`
        select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(engineOf(tasks).db)
      return { ssl: rows[0]!.ssl, result: done.result }
    } finally {
      await tasks?.stop({ timeout: '1s' }).catch(() => {})
    }
  }

  it('node-postgres alone reads sslmode=require as verify-full and refuses a private CA', async () => {
    // What tasklane works around (documented in docs/operations.md): psql would connect here.
    const c = new pg.Client({ connectionString: `${base}?sslmode=require` })
    c.on('error', () => {})
    await expect(c.connect()).rejects.toThrow(/self[- ]signed certificate|unable to (get|verify)/)
    await c.end().catch(() => {})
  })

  it('sslmode=require connects over TLS without checking the certificate, as psql does', async () => {
    expect(await runOn(`${base}?sslmode=require`, 'tls_require')).toEqual({ ssl: true, result: { n: 7 } })
  })

  it('sslmode=verify-full with the CA in sslrootcert connects', async () => {
    const url = `${base}?sslmode=verify-full&sslrootcert=${path.join(certDir, 'ca.crt')}`
    expect(await runOn(url, 'tls_verify')).toEqual({ ssl: true, result: { n: 7 } })
  })

  it('refuses a server whose certificate another CA signed', async () => {
    for (const mode of ['verify-full', 'verify-ca', 'require']) {
      // require with sslrootcert checks the chain too (libpq: like verify-ca).
      const url = `${base}?sslmode=${mode}&sslrootcert=${path.join(certDir, 'other-ca.crt')}`
      await expect(runOn(url, 'tls_wrong'), mode).rejects.toThrow(
        /self[- ]signed certificate in certificate chain|unable to (get local issuer|verify)/,
      )
    }
    const { rows } = await queryDirect(
      base,
      `select count(*)::int as n from pg_namespace where nspname = 'tls_wrong'`,
    )
    expect(rows[0].n).toBe(0) // nothing was written
  })

  it('sslmode=disable connects without TLS', async () => {
    expect(await runOn(`${base}?sslmode=disable`, 'tls_off')).toEqual({ ssl: false, result: { n: 7 } })
  })

  it('says what to set for an sslmode node-postgres cannot honour', () => {
    expect(() => loadConfig({ DATABASE_URL: `${base}?sslmode=verify-ca` })).toThrow(ConfigError)
    expect(() => loadConfig({ DATABASE_URL: `${base}?sslmode=verify-ca` })).toThrow(
      /DATABASE_URL is invalid: sslmode=verify-ca needs sslrootcert=\/path\/to\/ca.pem/,
    )
    expect(() => loadConfig({ DATABASE_URL: `${base}?sslmode=allow` })).toThrow(
      /sslmode=allow is not supported: use one of disable, prefer, require/,
    )
  })
})

async function queryDirect(url: string, text: string) {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return await c.query(text)
  } finally {
    await c.end()
  }
}
