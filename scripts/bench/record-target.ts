// Where a benchmark run writes its record, and whether it rewrites docs/benchmarks.md from it. A run
// changes tracked files only when asked (--publish, --report), so running the benchmark leaves
// `git status` clean.
import path from 'node:path'
import type { Mode } from './scale.ts'

/** The ignored folder (see .gitignore) that receives every run's record by default. */
export const LOCAL_RESULTS_DIR = 'bench-results'
/** The tracked records the docs are drawn from; only --publish writes them. */
export const PUBLISHED_RESULTS_DIR = 'scripts/bench/results'

export interface RecordFlags {
  mode: Mode
  /** Only some scenarios or systems (--scenario, --system). */
  partial: boolean
  /** --out=FILE (relative to the working directory) */
  out?: string
  /** --publish: write the tracked record (and, for a full run, the report). */
  publish: boolean
  /** --report: rewrite docs/benchmarks.md and the charts from this run's record. */
  report: boolean
}

export interface RecordTarget {
  /** Absolute path of the record to write, or undefined for none. */
  out?: string
  /** Rewrite docs/benchmarks.md and docs/images/bench-*.svg from the record. */
  report: boolean
}

/**
 * Decides the record file and the report from the flags, relative to `repoRoot`:
 * - default: `bench-results/<mode>.jsonl` (ignored by git), no report; smoke and partial runs write none;
 * - `--publish`: `scripts/bench/results/<mode>.jsonl` (tracked), and the report for a full run;
 * - `--out=FILE`: that file; `--report` adds the report to any run that writes a record.
 * Throws (with what to do instead) for a partial or smoke run with --publish: it cannot replace the
 * record the docs are drawn from.
 * @example recordTarget({ mode: 'quick', partial: false, publish: false, report: false }, '/repo')
 *   // → { out: '/repo/bench-results/quick.jsonl', report: false }
 */
export function recordTarget(flags: RecordFlags, repoRoot: string): RecordTarget {
  const { mode, partial, out, publish, report } = flags
  if (publish && (partial || mode === 'smoke')) {
    throw new Error(
      `--publish needs a whole quick or full run: a ${partial ? 'partial' : 'smoke'} run cannot replace ${PUBLISHED_RESULTS_DIR}/${mode}.jsonl. Drop --publish, or use --out=FILE to keep this record.`,
    )
  }
  if (publish && out)
    throw new Error('--publish writes the tracked record: give either --publish or --out, not both')
  const file = out
    ? path.resolve(out)
    : publish
      ? path.join(repoRoot, PUBLISHED_RESULTS_DIR, `${mode}.jsonl`)
      : mode === 'smoke' || partial
        ? undefined
        : path.join(repoRoot, LOCAL_RESULTS_DIR, `${mode}.jsonl`)
  return { out: file, report: file !== undefined && (report || (publish && mode === 'full')) }
}
