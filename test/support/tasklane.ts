import { loadConfig } from '../../src/config.ts'
import { createLogger } from '../../src/logger.ts'
import { createTasklane, type Tasklane } from '../../src/tasklane.ts'
import type { TasklaneOptions } from '../../src/tasklane-options.ts'

/**
 * A started tasklane on `url` with test-friendly settings (quiet logs, small pools, no migration:
 * the template is migrated already). Stop it in afterEach/afterAll.
 */
export async function startTasklane(
  url: string,
  tasks: TasklaneOptions['tasks'],
  opts: Partial<TasklaneOptions> & { env?: Record<string, string> } = {},
): Promise<Tasklane> {
  const { env, ...rest } = opts
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', ...env })
  const tasklane = createTasklane({
    config,
    tasks,
    migrate: false,
    poolSize: 4,
    logger: createLogger(config.logLevel),
    ...rest,
  })
  await tasklane.start()
  return tasklane
}
