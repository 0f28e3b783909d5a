import { type ChildProcessByStdio, spawn } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs/promises'
import net, { type AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts'

// Each test runs initdb and starts a server: 10-15 s on a loaded 2-core machine, so 2 min of margin.
const TIMEOUT = 120_000
const FIXTURE = fileURLToPath(new URL('./fixtures/start-embedded-postgres.ts', import.meta.url))
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))

describe('startEmbeddedPostgres', () => {
  it(
    'initialises the data dir on first start and serves the tasklane database',
    () =>
      withDataDir(async (dataDir) => {
        const handle = await startEmbeddedPostgres({ dataDir, port: await freePort() })
        try {
          await expect(fs.stat(path.join(dataDir, 'PG_VERSION'))).resolves.toBeTruthy()
          const rows = await query(handle.connectionString, 'SELECT 1 AS one, current_database() AS db')
          expect(rows).toEqual([{ one: 1, db: 'tasklane' }])
        } finally {
          await Promise.all([handle.stop(), handle.stop()])
        }
        await handle.stop() // idempotent, also after completion
        expect(await postmasterPid(dataDir)).toBeUndefined()
        await expect(query(handle.connectionString, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/)
      }),
    TIMEOUT,
  )

  it(
    'reuses the data on the next start instead of initialising again',
    () =>
      withDataDir(async (dataDir) => {
        const port = await freePort()
        const first = await startEmbeddedPostgres({ dataDir, port })
        try {
          await query(first.connectionString, "CREATE TABLE kept AS SELECT 'still here' AS v")
        } finally {
          await first.stop()
        }

        const logs: string[] = []
        const second = await startEmbeddedPostgres({ dataDir, port, log: (msg) => logs.push(msg) })
        try {
          expect(await query(second.connectionString, 'SELECT v FROM kept')).toEqual([{ v: 'still here' }])
          expect(logs.join('\n')).not.toMatch(/initialising/)
        } finally {
          await second.stop()
        }
      }),
    TIMEOUT,
  )

  it(
    'stops a postmaster orphaned by a SIGKILLed Node process and starts afresh',
    () =>
      withDataDir(async (dataDir) => {
        const port = await freePort()
        // detached: its own process group, so one kill reaches npx, tsx and the Node running the fixture
        // (but not the postmaster, which startEmbeddedPostgres puts in a session of its own)
        const child = spawn('npx', ['tsx', FIXTURE, dataDir, String(port)], {
          cwd: REPO_ROOT,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        const childExited = once(child, 'exit')
        try {
          const started = JSON.parse(await firstStdoutLine(child)) as { connectionString: string }
          expect(await query(started.connectionString, 'SELECT 1 AS one')).toEqual([{ one: 1 }])
        } finally {
          killGroup(child.pid, 'SIGKILL')
        }
        await childExited

        const orphan = await postmasterPid(dataDir)
        expect(orphan).toBeDefined()
        expect(isAlive(orphan!)).toBe(true)

        const logs: string[] = []
        const handle = await startEmbeddedPostgres({ dataDir, port, log: (msg) => logs.push(msg) })
        try {
          expect(logs.join('\n')).toMatch(
            `stopping PostgreSQL (pid ${orphan}) left running by a previous process`,
          )
          expect(await query(handle.connectionString, 'SELECT 1 AS one')).toEqual([{ one: 1 }])
          const current = await postmasterPid(dataDir)
          expect(current).toBeDefined()
          expect(current).not.toBe(orphan)
        } finally {
          await handle.stop()
        }
      }),
    TIMEOUT,
  )

  it(
    'ignores a stale postmaster.pid whose pid now belongs to an unrelated process',
    () =>
      withDataDir(async (dataDir) => {
        const port = await freePort()
        await (await startEmbeddedPostgres({ dataDir, port })).stop()
        // The pid now belongs to a live process of the server's own OS user (say, another cluster's
        // postgres). Postgres alone refuses to start over such a file ("lock file already exists");
        // for other users' pids it gets EPERM and carries on, so the stranger must run as that user.
        const { uid, gid } = await fs.stat(dataDir)
        const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], {
          ...(process.getuid?.() === 0 ? { uid, gid } : {}),
          stdio: 'ignore',
        })
        await once(stranger, 'spawn')
        try {
          await fs.writeFile(path.join(dataDir, 'postmaster.pid'), `${stranger.pid}\n${dataDir}\n`)
          const logs: string[] = []
          const handle = await startEmbeddedPostgres({ dataDir, port, log: (msg) => logs.push(msg) })
          try {
            expect(logs.join('\n')).toMatch(/removing stale .*postmaster\.pid/)
            expect(await query(handle.connectionString, 'SELECT 1 AS one')).toEqual([{ one: 1 }])
          } finally {
            await handle.stop()
          }
          expect(isAlive(stranger.pid!)).toBe(true) // left alone
        } finally {
          const exited = once(stranger, 'exit')
          stranger.kill()
          await exited
        }
      }),
    TIMEOUT,
  )

  it(
    'rejects with the server log when the port is taken by another listener',
    () =>
      withDataDir(async (dataDir) => {
        const blocker = net.createServer()
        blocker.listen(0, '127.0.0.1')
        await once(blocker, 'listening')
        const { port } = blocker.address() as AddressInfo
        try {
          const error = await startOrError(dataDir, port)
          expect(error).toBeInstanceOf(Error)
          expect(error.message).toMatch(/could not bind IPv4 address "127\.0\.0\.1": Address already in use/)
          expect(error.message).toMatch(/could not create any TCP\/IP sockets/)
          expect(await postmasterPid(dataDir)).toBeUndefined()
        } finally {
          blocker.close()
        }
      }),
    TIMEOUT,
  )

  it(
    'rejects with the server log when the data dir is corrupt',
    () =>
      withDataDir(async (dataDir) => {
        const port = await freePort()
        await (await startEmbeddedPostgres({ dataDir, port })).stop()
        await fs.writeFile(path.join(dataDir, 'global', 'pg_control'), Buffer.alloc(8192))

        const error = await startOrError(dataDir, port)
        expect(error).toBeInstanceOf(Error)
        expect(error.message).toMatch(
          /Last server log lines:\n.*FATAL: +database files are incompatible with server/,
        )
      }),
    TIMEOUT,
  )
})

/** Runs `fn` on a fresh data dir path under the OS temp dir and removes it afterwards. */
async function withDataDir(fn: (dataDir: string) => Promise<void>): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'tasklane-embedded-pg-'))
  // mkdtemp makes it 0700; as root the server runs as another user, which must be able to traverse
  // it like any ordinary project directory.
  await fs.chmod(root, 0o755)
  const dataDir = path.join(root, '.tasklane', 'pgdata')
  try {
    await fn(dataDir)
  } finally {
    // If a test failed half-way a server may still be running; ask it to shut down (fast).
    const pid = await postmasterPid(dataDir)
    if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGINT')
    await fs.rm(root, { recursive: true, force: true })
  }
}

async function startOrError(dataDir: string, port: number): Promise<Error> {
  try {
    const handle = await startEmbeddedPostgres({ dataDir, port })
    await handle.stop()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected startEmbeddedPostgres to reject')
}

async function freePort(): Promise<number> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

async function query(connectionString: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const contents = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined)
  return contents === undefined ? undefined : Number.parseInt(contents, 10)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  try {
    if (pid !== undefined) process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

function firstStdoutLine(child: ChildProcessByStdio<null, Readable, Readable>): Promise<string> {
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve)
    child.once('exit', (code, signal) =>
      reject(new Error(`fixture exited (${code ?? signal}) before reporting a started server:\n${stderr}`)),
    )
  })
}
