// The app's tasks. The schema checks args at enqueue and at run, and gives `run` and addTask() their
// type. `tasklane serve --tasks ./dist/tasks.js` runs the compiled module (or ./src/tasks.ts on a Node
// that strips types, >= 22.18).
import { defineTask } from 'tasklane'
import { z } from 'zod'

/** Confirms an order: a real app would send an e-mail here; this one returns the confirmation. */
export const confirmOrder = defineTask({
  name: 'confirm-order',
  schema: z.object({ orderId: z.string(), total: z.number().int().positive() }),
  retry: { limit: 3, delay: '1s', backoff: 'exponential' },
  async run({ orderId, total }, ctx) {
    await ctx.progress(50, 'writing the confirmation')
    return { orderId, confirmation: `order ${orderId} confirmed: ${total} EUR` }
  },
})

export const tasks = [confirmOrder]
