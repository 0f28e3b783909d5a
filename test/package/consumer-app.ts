// Helpers of the package test: run a command in a throwaway consumer app the way its user would, with
// the Node of this test first on PATH (so `npx tasklane` and `#!/usr/bin/env node` get Node 22).
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import path from 'node:path'
import { createInterface } from 'node:readline'

const NODE_DIR = path.dirname(process.execPath)

/**
 * The environment of a user's shell: this test's, without what `npm test` adds. npm run exports its
 * config as npm_config_* (local_prefix among them), and a child npm would read it and install into
 * this checkout instead of the app; NODE_OPTIONS would carry the test runner's flags.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !/^npm_config_(registry|cache|userconfig)$/i.test(key)) continue
    if (key === 'NODE_OPTIONS' || key.startsWith('VITEST')) continue
    env[key] = value
  }
  env.PATH = `${NODE_DIR}${path.delimiter}${process.env.PATH ?? ''}`
  return { ...env, ...extra }
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command to its end (killed after `timeoutMs`). */
export function run(
  command: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: userEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 300_000,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Runs a command and throws, naming the app and the step, unless it exits 0. */
export async function step(
  app: string,
  what: string,
  command: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<RunResult> {
  const result = await run(command, args, opts)
  if (result.code !== 0) {
    throw new Error(
      `${app} app: ${what} (${command} ${args.join(' ')}) exited with ${result.code}\n` +
        `stdout: ${result.stdout.slice(-3000)}\nstderr: ${result.stderr.slice(-3000)}`,
    )
  }
  return result
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface Server {
  url: string
  /** SIGTERM to the whole process group (npx and the Node it started), then waits for the exit. */
  stop(): Promise<void>
}

/**
 * Starts a long-running command (`npx tasklane serve …`) in its own process group and resolves once
 * it prints `listening on`.
 */
export async function startServer(
  app: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string>; port: number; timeoutMs?: number },
): Promise<Server> {
  const child: ChildProcess = spawn('npx', args, {
    cwd: opts.cwd,
    env: userEnv({ ...opts.env, PORT: String(opts.port), HOST: '127.0.0.1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let stderr = ''
  child.stderr!.on('data', (d) => {
    stderr += d
  })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    try {
      process.kill(-child.pid!, 'SIGTERM')
    } catch {
      return
    }
    const killer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
    }, 15_000)
    await exited
    clearTimeout(killer)
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new Error(`${app} app: npx ${args.join(' ')} did not listen in time; stderr: ${stderr.slice(-3000)}`),
      )
    }, opts.timeoutMs ?? 120_000)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (/listening on/.test(line)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(
        new Error(`${app} app: npx ${args.join(' ')} exited with ${code}; stderr: ${stderr.slice(-3000)}`),
      )
    })
  }).catch(async (err) => {
    await stop()
    throw err
  })
  return { url: `http://127.0.0.1:${opts.port}`, stop }
}
