import { readdirSync } from 'node:fs'
import { join } from 'node:path'

// queue/ is the only part of src/ that knows pg-boss (its API, its tables, its states): everything
// above speaks tasklane's types through the JobStore port (src/queue/job-store.ts). These find the
// places outside queue/ that reach past the port (test/foundation/queue-seam.test.ts).

/**
 * Files that may name pg-boss's schema setting or build pg-boss: the settings that hold it, and the
 * composition roots that build the store (runtime) and install its schema (migrations).
 */
const ROOTS = new Set([
  'config.ts',
  'resolve-settings.ts',
  'tasklane-runtime.ts',
  'db/migrate.ts',
  'cli/migrate-command.ts',
])

const IMPORTS_BOSS = /from\s+['"](pg-boss|[./]+queue\/boss\.ts)['"]/
const NAMES_SCHEMA = /\bbossSchema\b/
// pg-boss's tables and functions as SQL names them (`${schema}.job`, `"pgboss".queue`, pgboss.job,
// job_now(), job_state), and its job states compared on a `state` column (tasklane's tables say
// `status`; TypeScript compares with ===, which this does not match).
const BOSS_TABLE = /(?:[}"]\.(?:job|queue|schedule)\b|\bpgboss\.\w|\bjob_now\s*\(|\bjob_state\b)/
const BOSS_STATE =
  /\bstate\s*(?:=|<>|<=?|>=?|\bin\s*\(|=\s*any\s*\()\s*'(?:created|retry|active|completed|cancelled|failed)'/

// pg-boss's own failure output, `{ value: { message } }` (a lapsed heartbeat, an expiry): read as a
// property (`.value?.message`), typed or built (`value?: { message`), tested for (`'value' in`), or as a
// jsonb key in SQL (`output ? 'value'`, `->'value'`). queue/boss-failure.ts turns it into ErrorInfo. A
// variable that happens to be called `value` (`value.message` of a caught error) is not matched.
const BOSS_FAILURE =
  /(?:\.value\??\.message\b|\bvalue\??:\s*\{\s*message\b|['"]value['"]\s+in\b|(?:\?|->>?)\s*'value')/

/** The source without comments (prose about pg-boss is welcome; code is what is checked). */
function code(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:\\])\/\/.*$/gm, '$1')
}

/** What a file outside queue/ does that only queue/ may: one line per finding. */
export function seamViolations(path: string, source: string): string[] {
  const text = code(source)
  const found: string[] = []
  if (IMPORTS_BOSS.test(text) && !ROOTS.has(path)) found.push(`${path}: imports pg-boss or queue/boss.ts`)
  if (NAMES_SCHEMA.test(text) && !ROOTS.has(path)) found.push(`${path}: names bossSchema`)
  text.split('\n').forEach((line, i) => {
    if (BOSS_TABLE.test(line)) found.push(`${path}:${i + 1}: SQL names a pg-boss table: ${line.trim()}`)
    if (BOSS_STATE.test(line))
      found.push(`${path}:${i + 1}: SQL compares a pg-boss job state: ${line.trim()}`)
    if (BOSS_FAILURE.test(line))
      found.push(`${path}:${i + 1}: reads pg-boss's failure output ({ value: { message } }): ${line.trim()}`)
  })
  return found
}

/** Every .ts file under `dir`. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}
