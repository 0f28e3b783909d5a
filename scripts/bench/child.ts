// Runs a benchmark child (an HTTP server, a worker process) in its own Node process, so the load
// generator or the parent's pools never share its event loop or its RSS. Protocol: the child
// prints JSON lines on stdout (the first one says it is ready); its stderr is passed through.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

export interface Child<Ready> {
  ready: Ready
  /** Every later JSON line the child prints. */
  next(): Promise<unknown>
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>
  process: ChildProcess
}

const CHILDREN = new URL('./children/', import.meta.url)

/**
 * Starts scripts/bench/children/<name> under the same Node (the `node` devDependency when run
 * through npx): `<name>.ts` with tsx, `<name>.mjs` as plain JavaScript (one that imports the compiled
 * package, as users run it).
 */
export async function startChild<Ready>(
  name: string,
  env: Record<string, string>,
  { readyTimeoutMs = 60_000, nodeArgs = [] as string[] } = {},
): Promise<Child<Ready>> {
  const plain = name.endsWith('.mjs')
  const file = fileURLToPath(new URL(plain ? name : `${name}.ts`, CHILDREN))
  // BENCH_CHILD_CPU_PROF=DIR: every child writes a .cpuprofile there when it exits (profiling).
  const profDir = process.env.BENCH_CHILD_CPU_PROF
  const profArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []
  const loader = plain ? [] : ['--import', 'tsx']
  const child = spawn(process.execPath, [...profArgs, ...nodeArgs, ...loader, file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines: unknown[] = []
  const waiters: Array<(line: unknown) => void> = []
  let buffered = ''
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl).trim()
      buffered = buffered.slice(nl + 1)
      if (!line.startsWith('{')) continue
      const parsed = JSON.parse(line) as unknown
      const waiter = waiters.shift()
      if (waiter) waiter(parsed)
      else lines.push(parsed)
    }
  })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      if (lines.length > 0) return resolve(lines.shift())
      waiters.push(resolve)
      void exited.then((code) =>
        reject(new Error(`bench child ${name} exited (code ${code}) before reporting`)),
      )
    })
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`bench child ${name} not ready after ${readyTimeoutMs} ms`)),
      readyTimeoutMs,
    )
  })
  let ready: Ready
  try {
    ready = (await Promise.race([next(), timeout])) as Ready
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  } finally {
    clearTimeout(timer)
  }
  return {
    ready,
    next,
    process: child,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs)
      try {
        return await exited
      } finally {
        clearTimeout(kill)
      }
    },
  }
}
