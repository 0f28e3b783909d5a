import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import { createTasklane } from '../tasklane.ts'
import { loadTaskModule } from './task-module.ts'

/** `tasklane stats`: TaskStats of the database as JSON on stdout. */
export async function runStats(o: {
  config: Readonly<Config>
  log: Logger
  tasksModule: string | undefined
}) {
  const mod = await loadTaskModule(o.tasksModule)
  const tasklane = createTasklane({
    config: o.config,
    logger: o.log,
    tasks: mod.tasks,
    workers: 0,
    supervise: false,
  })
  await tasklane.start()
  try {
    console.log(JSON.stringify(await tasklane.getTaskStats(), null, 2))
    return 0
  } finally {
    await tasklane.stop()
  }
}
