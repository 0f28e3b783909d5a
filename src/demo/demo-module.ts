// The task module `tasklane serve` runs by default: the seed document's tasks and routes.
//   npm start
//   curl -X POST http://localhost:8000/process-data
//   curl http://localhost:8000/task-progress/<task_id>
import type { Hono } from 'hono'
import { loadConfig } from '../config.ts'
import type { Tasklane } from '../tasklane.ts'
import type { TasklaneOptions } from '../tasklane-options.ts'
import { createDemoRoutes } from './demo-routes.ts'
import { createDemoTasks } from './demo-tasks.ts'

const config = loadConfig()

export const demoTasks = createDemoTasks({ timeScale: config.demoTimeScale })

export const tasks = Object.values(demoTasks)

export function routes(tasklane: Tasklane): Hono {
  return createDemoRoutes(tasklane, demoTasks)
}

// The seed's enable_background_tasks(enable_profiling=True, memory_pool_mb=500); a memory budget set
// in the environment (TASKLANE_MEMORY_POOL_MB) wins.
export const options: Partial<TasklaneOptions> = {
  enableProfiling: true,
  memoryPoolMb: config.memoryPoolMb || 500,
}
