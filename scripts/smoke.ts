import { createTasklane, defineTask, loadConfig } from '../src/index.ts'

const hello = defineTask({
  name: 'hello',
  async run(args: { n: number }, ctx) {
    await ctx.progress(50, 'half')
    return { doubled: args.n * 2 }
  },
})
const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' })
const tasks = createTasklane({ databaseUrl: process.env.DATABASE_URL!, tasks: [hello], config })
await tasks.start()
const t0 = performance.now()
const { taskId } = await tasks.addTask(hello, { n: 21 })
const done = await tasks.waitFor(taskId, { timeout: '10s' })
console.log(done, performance.now() - t0)
const n = 5000
const t1 = performance.now()
const res = await tasks.addTasks(hello, Array.from({ length: n }, (_, i) => ({ n: i })))
await tasks.waitFor(res.at(-1)!.taskId, { timeout: '60s' })
console.log('drain', n, 'in', performance.now() - t1)
await tasks.stop()
