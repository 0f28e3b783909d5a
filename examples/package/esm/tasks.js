// The app's tasks, in plain JavaScript (ESM). `tasklane serve --tasks ./tasks.js` runs this module too.
import { defineTask } from 'tasklane'

/** Confirms an order: a real app would send an e-mail here; this one returns the confirmation. */
export const confirmOrder = defineTask({
  name: 'confirm-order',
  retry: { limit: 3, delay: '1s', backoff: 'exponential' },
  async run({ orderId, total }, ctx) {
    await ctx.progress(50, 'writing the confirmation')
    return { orderId, confirmation: `order ${orderId} confirmed: ${total} EUR` }
  },
})

export const tasks = [confirmOrder]
