import type { Hono } from 'hono'
import type { Tasklane } from '../../src/tasklane.ts'
import type { TasklaneOptions } from '../../src/tasklane-options.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

/** Every sleep of an example's tasks runs at 1/1000 of its time. */
export const TIME_SCALE = 0.001

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
export type Json = any

export interface ExampleRun {
  db: TestDatabase
  tasklane: Tasklane
  app: Hono
  get(path: string): Promise<{ status: number; body: Json }>
  post(path: string, body?: unknown): Promise<{ status: number; body: Json }>
  close(): Promise<void>
}

/**
 * An example's app on a fresh test database, with its tasks registered and workers running: the
 * example's curl lines become app.request() calls.
 * @example const ex = await runExample(tasks, (t) => createExampleApp(t, tasks))
 */
export async function runExample(
  tasks: Record<string, Parameters<typeof startTasklane>[1][number]>,
  createApp: (tasklane: Tasklane) => Hono,
  opts: Partial<TasklaneOptions> = {},
): Promise<ExampleRun> {
  const db = await createTestDatabase()
  const tasklane = await startTasklane(db.url, Object.values(tasks), {
    workers: 4,
    env: { DEMO_TIME_SCALE: String(TIME_SCALE) },
    ...opts,
  })
  const app = createApp(tasklane)
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    })
    const text = await res.text()
    return {
      status: res.status,
      body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
    }
  }
  return {
    db,
    tasklane,
    app,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    async close() {
      await tasklane.stop()
      await db.drop()
    },
  }
}
