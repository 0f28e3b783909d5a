// Regenerates docs/images/dashboard-overview.png and dashboard-task.png: a scratch database on the
// DATABASE_URL server, an hour of made-up history, a few live tasks, the dashboard in Chromium.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx scripts/dashboard-screenshots.ts
//   ... --serve   keeps the server up (prints its URL) to look around by hand; Ctrl-C drops the database

import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono } from 'hono'
import pg from 'pg'
import { loadConfig } from '../src/config.ts'
import { dashboardRoutes } from '../src/dashboard/dashboard-routes.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import { insertHistory } from '../src/history/history.repository.ts'
import { createApp } from '../src/http/app.ts'
import { engineOf } from '../src/internal.ts'
import { createLogger } from '../src/logger.ts'
import { createTasklane } from '../src/tasklane.ts'
import { defineTask } from '../src/tasks/define-task.ts'
import { TaskPriority, toBossPriority } from '../src/tasks/priority.ts'
import { chromiumPath, launchChromium, serveApp } from '../test/dashboard/support/browser.ts'

const serveOnly = process.argv.includes('--serve')
const serverUrl = process.env.DATABASE_URL
if (!serverUrl) {
  console.error(
    'dashboard-screenshots: set DATABASE_URL to a Postgres server (a scratch database is made on it)',
  )
  process.exit(2)
}

class ConnectionError extends Error {
  override name = 'ConnectionError'
}

const generateReport = defineTask({
  name: 'generate-report',
  queue: 'reports',
  async run(args: { account: string }, ctx) {
    const steps = ['Loading orders', 'Aggregating by region', 'Rendering charts', 'Writing PDF', 'Uploading']
    for (const [i, step] of steps.entries()) {
      await ctx.progress(Math.round((i / steps.length) * 100), step)
      await sleep(4000 + Math.random() * 2000, undefined, { signal: ctx.signal })
    }
    return { account: args.account, pages: 12 }
  },
})

const sendEmail = defineTask({
  name: 'send-email',
  queue: 'emails',
  async run(args: { to: string }) {
    await sleep(30 + Math.random() * 80)
    return { delivered: args.to }
  },
})

const syncCrm = defineTask({
  name: 'sync-crm',
  queue: 'emails',
  retry: { limit: 1, delay: '1s' },
  async run(args: { contact: string }) {
    await sleep(200)
    throw new ConnectionError(`crm.example.com refused the connection while syncing ${args.contact}`)
  },
})

const database = `tasklane_dashboard_shots_${process.pid}`
const admin = new pg.Client({ connectionString: serverUrl })
await admin.connect()
await admin.query(`CREATE DATABASE ${database}`)
const url = Object.assign(new URL(serverUrl), { pathname: `/${database}` }).toString()
const log = createLogger('warn')
await migrateToLatest({
  connectionString: url,
  schema: 'tasklane',
  bossSchema: 'pgboss',
  dbBackend: 'postgres',
  log,
})

const tasks = createTasklane({
  config: loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'warn' }),
  tasks: [generateReport, sendEmail, syncCrm],
  queues: { reports: { concurrency: 3 }, emails: { concurrency: 2 } },
  migrate: false,
  logger: log,
})
await tasks.start()

/** An hour of finished tasks, so the charts have something to show. */
async function seedHistory(): Promise<void> {
  const now = Date.now()
  const rows: Parameters<typeof insertHistory>[1] = []
  for (let minute = 60; minute >= 1; minute--) {
    const load = 0.6 + 0.4 * Math.sin(minute / 9)
    for (const [task, queue, perMinute, meanMs] of [
      ['send-email', 'emails', 40, 90],
      ['generate-report', 'reports', 4, 21_000],
      ['sync-crm', 'emails', 8, 400],
    ] as const) {
      for (let i = 0; i < Math.round(perMinute * load); i++) {
        const finishedAt = new Date(now - minute * 60_000 + Math.random() * 60_000)
        const duration = meanMs * Math.exp((Math.random() - 0.5) * 1.2)
        const startedAt = new Date(finishedAt.getTime() - duration)
        const createdAt = new Date(startedAt.getTime() - Math.random() * 300)
        const failed = Math.random() < (task === 'sync-crm' ? 0.12 : 0.01)
        rows.push({
          taskId: randomUUID(),
          task,
          queue,
          priority: toBossPriority(TaskPriority.NORMAL),
          status: failed ? 'failed' : 'completed',
          args: {},
          ...(failed
            ? { error: { type: 'ConnectionError', message: 'connection reset by peer', retryable: true } }
            : { result: {} }),
          attempts: failed ? 2 : 1,
          maxAttempts: 2,
          createdAt,
          startAfter: createdAt,
          startedAt,
          finishedAt,
        })
      }
    }
  }
  for (let i = 0; i < rows.length; i += 500) await insertHistory(engineOf(tasks).db, rows.slice(i, i + 500))
}

await seedHistory()
const reports = await tasks.addTasks(
  generateReport,
  ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark'].map((account) => ({ account })),
)
await tasks.addTask(generateReport, { account: 'wayne' }, { priority: TaskPriority.HIGH })
await tasks.addTask(generateReport, { account: 'tyrell' }, { priority: TaskPriority.CRITICAL, delay: '1h' })
await tasks.addTasks(
  sendEmail,
  Array.from({ length: 30 }, (_, i) => ({ to: `user${i}@example.com` })),
)
await tasks.addTask(syncCrm, { contact: 'c-1042' })

const app = new Hono()
app.route('/dashboard', dashboardRoutes({ tasks }))
app.route('/', createApp({ tasks }))
const served = await serveApp(app)

async function cleanup(): Promise<void> {
  await served.close()
  await tasks.stop({ timeout: '1s' })
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await admin.end()
}

if (serveOnly) {
  console.log(`dashboard: ${served.url}/dashboard (Ctrl-C to stop and drop ${database})`)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanup().then(() => process.exit(0)))
  }
} else {
  const executablePath = chromiumPath()
  if (!executablePath) {
    await cleanup()
    console.error(
      'dashboard-screenshots: Chromium is not installed (apt-get install -y chromium, or set CHROMIUM_PATH)',
    )
    process.exit(2)
  }
  const browser = await launchChromium(executablePath)
  try {
    // Let the reports get a few steps in and the heartbeat report busy workers.
    await sleep(9000)
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' })
    await mkdir('docs/images', { recursive: true })
    await page.goto(`${served.url}/dashboard`)
    await page.locator('#chart-throughput svg').waitFor()
    await page.locator('#feed li:not(.empty)').first().waitFor()
    await page.screenshot({ path: 'docs/images/dashboard-overview.png', fullPage: true })
    // The report furthest along (a leased report may still wait in its worker's local buffer).
    const running = await tasks.listTasks({ status: 'running', task: 'generate-report' })
    const furthest = running.items.sort((a, b) => (b.progress?.percent ?? 0) - (a.progress?.percent ?? 0))[0]
    await page.goto(`${served.url}/dashboard/tasks/${furthest?.taskId ?? reports[0]!.taskId}`)
    await page.locator('#t-progress-box:not([hidden])').waitFor()
    await page.screenshot({ path: 'docs/images/dashboard-task.png', fullPage: true })
    console.log('dashboard-screenshots: wrote docs/images/dashboard-overview.png and dashboard-task.png')
  } finally {
    await browser.close()
    await cleanup()
  }
}
