import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NonRetryableError } from '../../src/errors.ts'
import { createApp } from '../../src/http/app.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Issue 14, item 5: Prometheus's own checker finds nothing wrong with GET /metrics once work has run
// (every family populated: completed, failed, retried tasks, worker figures, the histogram).
function findPromtool(): string | null {
  for (const bin of ['promtool', '/usr/bin/promtool', '/usr/local/bin/promtool']) {
    if (spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0) return bin
  }
  return null
}
const promtool = findPromtool()
if (!promtool)
  console.log('[deploy] promtool: skipped: promtool is not installed (Debian: apt-get install -y prometheus)')

const ok = defineTask({
  name: 'ok',
  async run(args: { n: number }) {
    return { n: args.n }
  },
})
const flaky = defineTask({
  name: 'flaky',
  retry: { limit: 1, delay: 0 },
  async run(_args, ctx) {
    if (ctx.attempt === 1) throw new Error('first attempt fails')
    return { ok: true }
  },
})
const broken = defineTask({
  name: 'broken',
  async run() {
    throw new NonRetryableError('always fails')
  },
})

describe.skipIf(!promtool)('promtool check metrics on GET /metrics', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [ok, flaky, broken], { workers: 2 })
  })
  afterAll(async () => {
    await tasks?.stop({ timeout: '1s' })
    await db?.drop()
  })

  it('passes with no findings after work has run', async () => {
    const ids = [
      ...(await Promise.all([1, 2, 3].map((n) => tasks.addTask(ok, { n })))),
      await tasks.addTask(flaky, {}),
      await tasks.addTask(broken, {}),
    ].map((t) => t.taskId)
    const final = await Promise.all(ids.map((id) => tasks.waitFor(id, { timeout: '30s' })))
    expect(final.map((t) => t.status)).toEqual(['completed', 'completed', 'completed', 'completed', 'failed'])

    const res = await createApp({ tasks }).request('/metrics')
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).toMatch(/^tasklane_tasks_finished\{outcome="completed"\} 4$/m)
    const check = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' })
    // promtool prints its findings ("… should not have "_total" suffix") and exits 1 when there are any.
    expect({ status: check.status, findings: `${check.stdout}${check.stderr}`.trim() }).toEqual({
      status: 0,
      findings: '',
    })
  })
})
