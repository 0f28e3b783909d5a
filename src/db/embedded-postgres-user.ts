import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'

// PostgreSQL refuses to run as root (initdb, postgres and pg_ctl all check geteuid()). Containers and
// CI usually run Node as root, so there the embedded server runs as another OS user; everywhere
// else it runs as the current user and nothing here does anything.

const execFileAsync = promisify(execFile)

/** Who postgres runs as; `undefined` means "as this process". Passed straight to spawn(). */
export interface PgOsUser {
  uid: number
  gid: number
}

/** The user tasklane creates when it has to; a system account with no home and no login shell. */
export const TASKLANE_PG_USER = 'tasklane-pg'

/** Picks (and if need be creates) the OS user the server must run as for `dataDir`. */
export async function postgresOsUser(dataDir: string): Promise<PgOsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined
  // An existing data dir decides: postgres insists on running as the data dir's owner, and the dir
  // may predate a `postgres` user appearing on the machine (or vice versa).
  const stat = await fs.stat(dataDir).catch(() => undefined)
  if (stat && stat.uid !== 0) return { uid: stat.uid, gid: stat.gid }
  const existing = (await lookupUser(TASKLANE_PG_USER)) ?? (await lookupUser('postgres'))
  if (existing) return existing
  return createSystemUser(TASKLANE_PG_USER)
}

/**
 * Creates `dataDir` (0700, owned by `user`) and makes sure `user` can reach and run what it needs.
 * Only directories created here are loosened; an unreachable existing parent (say /root, 0700) is
 * left alone and surfaces as initdb's "Permission denied" in the start error.
 */
export async function prepareDataDir(dataDir: string, user: PgOsUser | undefined): Promise<void> {
  const firstCreated = await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
  if (!user) return
  // mkdir's mode went through the umask; parents we created must be searchable by the postgres user
  if (firstCreated) {
    for (let dir = path.dirname(dataDir); dir.length >= firstCreated.length; dir = path.dirname(dir)) {
      await fs.chmod(dir, 0o755)
    }
  }
  await fs.chown(dataDir, user.uid, user.gid)
}

/** Some installers drop the x bits of packaged binaries; they are harmless to restore. */
export async function ensureExecutable(file: string): Promise<void> {
  const { mode } = await fs.stat(file)
  if ((mode & 0o555) !== 0o555) await fs.chmod(file, mode | 0o555).catch(() => undefined)
}

async function lookupUser(name: string): Promise<PgOsUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]),
      execFileAsync('id', ['-g', name]),
    ])
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) }
  } catch {
    return undefined
  }
}

async function createSystemUser(name: string): Promise<PgOsUser> {
  const args = ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', name]
  let failure = ''
  try {
    await execFileAsync('useradd', args)
  } catch (err) {
    // Another process may have created it at the same moment; the lookup below settles that.
    failure = (err as { stderr?: string }).stderr?.trim() || (err as Error).message
  }
  const created = await lookupUser(name)
  if (created) return created
  throw new Error(
    `PostgreSQL cannot run as root and the OS user '${name}' could not be created (useradd ${args.join(' ')}: ${failure}). ` +
      `Create it yourself, run tasklane as a non-root user, or set DATABASE_URL.`,
  )
}
