import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { ConfigError, loadConfig } from '../config.ts'
import { createLogger } from '../logger.ts'
import { runMigrate } from './migrate-command.ts'
import { runServe } from './serve-command.ts'
import { runStats } from './stats-command.ts'

const USAGE = `Usage: tasklane <command> [options]

Commands:
  serve [--no-workers] [--insecure] [--tasks <module>]   HTTP API + dashboard + workers
  worker [--tasks <module>]                                workers only
  migrate                                                  apply pg-boss's and tasklane's migrations
  stats                                                    print TaskStats as JSON

Configuration comes from environment variables (see README): DATABASE_URL, PORT, HOST, TASKLANE_WORKERS, …`

/** Commands that print their result on stdout, for a pipe. */
const RESULT_ON_STDOUT = new Set(['stats'])

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'no-workers': { type: 'boolean', default: false },
      insecure: { type: 'boolean', default: false },
      tasks: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const command = positionals[0]
  if (values.help || !command) {
    console.log(USAGE)
    return command || values.help ? 0 : 2
  }
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`tasklane: ${err.message}`)
      return 2
    }
    throw err
  }
  // A command whose stdout is its result (stats: JSON for jq) logs to stderr, so nothing else lands in it.
  const log = createLogger(
    config.logLevel,
    RESULT_ON_STDOUT.has(command) ? pino.destination({ fd: 2, sync: false }) : undefined,
  )
  const tasksModule = values.tasks ?? config.tasksModule
  switch (command) {
    case 'serve':
      return runServe({ config, log, tasksModule, workers: !values['no-workers'], insecure: values.insecure })
    case 'worker':
      return runServe({ config, log, tasksModule, workers: true, http: false, insecure: values.insecure })
    case 'migrate':
      return runMigrate({ config, log })
    case 'stats':
      return runStats({ config, log, tasksModule })
    default:
      console.error(`tasklane: unknown command '${command}'\n\n${USAGE}`)
      return 2
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined && code !== -1) process.exitCode = code
  },
  (err) => {
    console.error(`tasklane: ${(err as Error).stack ?? err}`)
    process.exit(1)
  },
)
