import { Hono } from 'hono'
import type { Tasklane } from '../tasklane.ts'
import { pendingMigrations } from '../db/migrate.ts'
import { sql } from 'kysely'

export interface AppOptions {
  tasks: Tasklane
  /** Routes of the task module (e.g. the demo's seed routes), served beside tasklane's. */
  extraRoutes?: Hono | undefined
}

/** The HTTP app of `tasklane serve`: tasklane's routes (health, ready, tasks, stats, …). */
export function createApp({ tasks, extraRoutes }: AppOptions): Hono {
  const app = new Hono()
  app.get('/health', (c) => c.json({ status: 'ok' }))
  app.get('/ready', async (c) => {
    try {
      await sql`select 1`.execute(tasks.db)
      const pending = await pendingMigrations(tasks.db, tasks.config.schema)
      if (pending.length > 0) return c.json({ status: 'not_ready', reason: 'migrations pending', pending }, 503)
      return c.json({ status: 'ready' })
    } catch (err) {
      c.header('Retry-After', '5')
      return c.json({ status: 'not_ready', reason: (err as Error).message }, 503)
    }
  })
  if (extraRoutes) app.route('/', extraRoutes)
  return app
}
