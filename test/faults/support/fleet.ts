import { readFileSync } from 'node:fs'
import { type Child, spawnTs } from '../../support/child-process.ts'

const CLI = 'src/cli/main.ts'
export const FAULT_TASKS = 'test/faults/fixtures/fault-tasks.ts'

export interface TasklaneProcess extends Child {
  readonly pid: number
  readonly name: string
  /** `serve` only: http://127.0.0.1:<port> it listens on. */
  readonly baseUrl: string
  /** Still running (no exit code, no signal). */
  alive(): boolean
  /** Resident set size in MiB, from /proc (0 once exited). */
  rssMb(): number
}

/**
 * The OS processes of one fault test: `tasklane serve` and `tasklane worker` (the real CLI, with the
 * fixture task module) and fixture scripts. Every process inherits the fleet's env (DATABASE_URL,
 * short heartbeat timeout, …) plus its own; killAll() in afterAll leaves nothing behind.
 * @example const fleet = new Fleet({ DATABASE_URL: pg.url }); const w = await fleet.worker()
 */
export class Fleet {
  readonly #env: Record<string, string>
  readonly #all: TasklaneProcess[] = []
  #count = 0

  constructor(env: Record<string, string>) {
    this.#env = {
      LOG_LEVEL: 'info',
      TASKLANE_TASKS: FAULT_TASKS,
      TASKLANE_MIGRATE: 'false',
      TASKLANE_HEARTBEAT_TIMEOUT: '5s',
      TASKLANE_POLL_INTERVAL: '500ms',
      TASKLANE_SHUTDOWN_TIMEOUT: '5s',
      TASKLANE_API_TOKEN: '',
      HOST: '127.0.0.1',
      PORT: '0',
      ...env,
    }
  }

  get processes(): readonly TasklaneProcess[] {
    return this.#all
  }

  /** `tasklane worker`; resolves once it logged "tasklane started" (leasing from then on). */
  /**
   * A worker process, returned at once without waiting for it to report that it started: a task it
   * leases during start() may end the process before that line is written (scenario 7).
   */
  spawnWorker(env: Record<string, string> = {}): TasklaneProcess {
    return this.#spawn(CLI, env, ['worker'], 'worker')
  }

  async worker(env: Record<string, string> = {}): Promise<TasklaneProcess> {
    const p = this.#spawn(CLI, env, ['worker'], 'worker')
    await p.waitForLine(/"msg":"tasklane started"/)
    return p
  }

  /** `tasklane serve [args]`; resolves once it listens (baseUrl set). */
  async serve(env: Record<string, string> = {}, args: string[] = []): Promise<TasklaneProcess> {
    const p = this.#spawn(CLI, env, ['serve', ...args], 'serve')
    const listening = await p.waitForLine(/^tasklane: listening on http:\/\/\S+/)
    const port = /:(\d+)\s*$/.exec(listening)?.[1]
    ;(p as { baseUrl: string }).baseUrl = `http://127.0.0.1:${port}`
    return p
  }

  /** A fixture script that prints `ready` once started. */
  async script(file: string, env: Record<string, string> = {}): Promise<TasklaneProcess> {
    const p = this.#spawn(file, env, [], 'script')
    await p.waitForLine(/^ready$/)
    return p
  }

  alive(): TasklaneProcess[] {
    return this.#all.filter((p) => p.alive())
  }

  /** SIGKILLs every process still running and waits for them to be gone. */
  async killAll(): Promise<void> {
    const running = this.alive()
    for (const p of running) p.proc.kill('SIGKILL')
    await Promise.all(running.map((p) => p.exited))
  }

  #spawn(file: string, env: Record<string, string>, args: string[], kind: string): TasklaneProcess {
    const child = spawnTs(file, { ...this.#env, ...env }, args)
    const pid = child.proc.pid!
    const p = Object.assign(child, {
      pid,
      name: `${kind}#${++this.#count}(pid ${pid})`,
      baseUrl: '',
      alive: () => child.proc.exitCode === null && child.proc.signalCode === null,
      rssMb: () => rssMb(pid),
    })
    this.#all.push(p)
    return p
  }
}

function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0)
    return Math.round((kb / 1024) * 10) / 10
  } catch {
    return 0
  }
}

export interface HttpAnswer {
  status: number
  retryAfter: string | null
  // biome-ignore lint/suspicious/noExplicitAny: a parsed JSON answer, read field by field by the tests
  body: any
  ms: number
  /** Set when no HTTP answer came at all (connection refused or reset). */
  networkError?: string
}

/** One JSON request; a network failure is an answer too (status 0), so load loops never throw. */
export async function request(
  url: string,
  {
    method = 'POST',
    body,
    headers = {},
  }: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const start = performance.now()
  try {
    const res = await fetch(url, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    })
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {}
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: parsed,
      ms: performance.now() - start,
    }
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code
    return {
      status: 0,
      retryAfter: null,
      body: null,
      ms: performance.now() - start,
      networkError: cause ?? (err as Error).message,
    }
  }
}
