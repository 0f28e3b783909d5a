import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'

/**
 * How long a child may take to print what a test waits for, starting with its readiness line: a hang
 * detector, not a speed claim. A tasklane process needs ~1.2 s of CPU to start (tsx, modules, pg-boss);
 * on a 2-core machine at load 25-30 that took 7-15 s of wall time, and over 60 s at load ~35 with
 * other test files starting processes too.
 */
export const CHILD_LINE_TIMEOUT_MS = 180_000

export interface Child {
  proc: ChildProcess
  /** Lines the child printed on stdout so far. */
  lines: string[]
  /** Resolves with the first stdout line matching `pattern` (rejects if the child exits first or after `timeoutMs`, CHILD_LINE_TIMEOUT_MS by default). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** Resolves when `count` lines match `pattern`. */
  waitForLines(pattern: RegExp, count: number, timeoutMs?: number): Promise<string[]>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  stderr(): string
}

/**
 * Runs a TypeScript file in a child Node process (same Node as the test, with tsx), watching its stdout.
 * @example const child = spawnTs('test/engine/fixtures/worker-process.ts', { DATABASE_URL: db.url })
 */
export function spawnTs(
  file: string,
  env: Record<string, string>,
  args: string[] = [],
  /**
   * A command to run Node under. It must exec Node, not fork it: the returned `proc` is the
   * wrapper, and a signal to a wrapper that forks leaves Node running. (The `faketime` command
   * forks; use `skewedClockEnv()` for a skewed clock instead.)
   */
  wrapper: string[] = [],
): Child {
  const [command, ...prefix] = [...wrapper, process.execPath]
  const proc = spawn(command!, [...prefix, '--import', 'tsx', file, ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let err = ''
  proc.stderr!.on('data', (d) => {
    err += d
  })
  const waiters = new Set<() => void>()
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(line)
    for (const w of waiters) w()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      resolve({ code, signal })
      for (const w of waiters) w()
    }),
  )
  const waitForLines = (pattern: RegExp, count: number, timeoutMs = CHILD_LINE_TIMEOUT_MS) =>
    new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(
          new Error(
            `timed out waiting for ${count} × ${pattern} (got ${lines.filter((l) => pattern.test(l)).length}); stderr: ${err.slice(-2000)}`,
          ),
        )
      }, timeoutMs)
      const check = () => {
        const matched = lines.filter((l) => pattern.test(l))
        if (matched.length >= count) {
          clearTimeout(timer)
          waiters.delete(check)
          resolve(matched)
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          clearTimeout(timer)
          waiters.delete(check)
          reject(new Error(`child exited before printing ${pattern}; stderr: ${err.slice(-2000)}`))
        }
      }
      waiters.add(check)
      check()
    })
  return {
    proc,
    lines,
    waitForLine: (pattern, timeoutMs) => waitForLines(pattern, 1, timeoutMs).then((m) => m[0]!),
    waitForLines,
    exited,
    stderr: () => err,
  }
}

/** libfaketime, from Debian's `faketime` package. */
export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'

/**
 * Environment that runs a child Node with its wall clock moved by `offset` (libfaketime's syntax:
 * '-10m', '+1h'), the monotonic clock left alone. Preloaded into Node itself rather than through the
 * `faketime` command, which forks: killing that command would leave the skewed Node running (and
 * connected to the test's database, so dropping it failed with "being accessed by other users").
 * @example spawnTs('fixture.ts', { DATABASE_URL: url, ...skewedClockEnv('-10m') })
 */
export function skewedClockEnv(offset: string): Record<string, string> {
  if (!existsSync(LIBFAKETIME)) {
    throw new Error(`${LIBFAKETIME} is missing: install libfaketime (Debian: apt-get install -y faketime)`)
  }
  return { LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' }
}
