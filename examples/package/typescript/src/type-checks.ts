// Compile-time checks of the package's types, never run: a task's args type flows from its schema
// into addTask(), so tsc rejects wrong args (each @ts-expect-error fails the build if it stops failing).
import type { Tasklane } from 'tasklane'
import { confirmOrder } from './tasks.js'

export function wrongArgsAreRejected(tasklane: Tasklane) {
  // @ts-expect-error total must be a number
  void tasklane.addTask(confirmOrder, { orderId: 'o1', total: 'forty-two' })
  // @ts-expect-error orderId is required
  void tasklane.addTask(confirmOrder, { total: 42 })
  return tasklane.addTask(confirmOrder, { orderId: 'o1', total: 42 })
}
