// The app's tasks, in CommonJS. require('tasklane') loads the package's ES modules (Node >= 22.12).
// `tasklane serve --tasks ./tasks.js` runs this module too.
const { defineTask } = require('tasklane')

/** Confirms an order: a real app would send an e-mail here; this one returns the confirmation. */
const confirmOrder = defineTask({
  name: 'confirm-order',
  retry: { limit: 3, delay: '1s', backoff: 'exponential' },
  async run({ orderId, total }, ctx) {
    await ctx.progress(50, 'writing the confirmation')
    return { orderId, confirmation: `order ${orderId} confirmed: ${total} EUR` }
  },
})

module.exports = { confirmOrder, tasks: [confirmOrder] }
