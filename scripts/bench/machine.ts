// Where the figures come from: hardware, versions and the PostgreSQL settings that bound them.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import pg from 'pg'

export interface MachineInfo {
  date: string
  mode: string
  cpu: string
  cores: number
  memoryGb: number
  loadAtStart: number
  node: string
  postgres: string
  settings: Record<string, string>
  versions: Record<string, string>
  commit: string
}

function packageVersion(name: string): string {
  const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url)
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
    }).trim()
    return dirty ? `${head} (with uncommitted changes)` : head
  } catch {
    return 'unknown'
  }
}

export async function machineInfo(adminUrl: string, mode: string): Promise<MachineInfo> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  let postgres = ''
  const settings: Record<string, string> = {}
  try {
    postgres =
      (await client.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]?.v ?? ''
    const { rows } = await client.query<{ name: string; setting: string; unit: string | null }>(
      `select name, setting, unit from pg_settings
       where name in ('synchronous_commit', 'fsync', 'shared_buffers', 'max_connections', 'work_mem', 'wal_level')`,
    )
    for (const r of rows) settings[r.name] = r.unit ? `${r.setting} × ${r.unit}` : r.setting
  } finally {
    await client.end()
  }
  const tasklane = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return {
    date: new Date().toISOString(),
    mode,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    loadAtStart: loadavg()[0] ?? 0,
    node: process.version,
    postgres,
    settings,
    versions: {
      tasklane: tasklane.version,
      'pg-boss': packageVersion('pg-boss'),
      'graphile-worker': packageVersion('graphile-worker'),
      autocannon: packageVersion('autocannon'),
    },
    commit: gitCommit(),
  }
}
