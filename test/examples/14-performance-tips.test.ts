import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleApp, createTasks } from '../../examples/14-performance-tips.ts'
import { type ExampleRun, runExample, TIME_SCALE } from './example-harness.ts'

describe('example 14: performance tips', () => {
  const tasks = createTasks({ timeScale: TIME_SCALE })
  let ex: ExampleRun
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => createExampleApp(t, tasks), { threads: 1 })
  })
  afterAll(() => ex?.close())

  it('runs the I/O-bound, CPU-bound (in a thread) and batch tasks', async () => {
    const io = (await ex.post('/io-task')).body
    const cpu = (await ex.post('/cpu-task')).body
    const batch = (await ex.post('/batch-task')).body
    expect([io.type, cpu.type, batch]).toEqual([
      'io_bound',
      'cpu_bound',
      { task_id: expect.any(String), type: 'batch', items: 5 },
    ])
    expect((await ex.tasklane.getTask(cpu.task_id))?.priority).toBe('HIGH')
    const [ioDone, cpuDone, batchDone] = await Promise.all(
      [io, cpu, batch].map((t) => ex.tasklane.waitFor(t.task_id)),
    )
    expect(ioDone?.result).toEqual({ result: 'I/O operation completed' })
    expect(cpuDone?.result).toEqual({ computation_result: 333283335000 })
    expect(batchDone?.result).toEqual({
      batch_results: [
        'processed_item1',
        'processed_item2',
        'processed_item3',
        'processed_item4',
        'processed_item5',
      ],
      count: 5,
    })
  })
})
