import { it, expect } from 'vitest'
import { defineTask, TaskPriority } from 'tasklane'
import { defineTask as inner } from '../../src/tasks/define-task.ts'
it('resolves', () => { expect(TaskPriority.HIGH).toBe('HIGH'); expect(defineTask).toBe(inner) })
