import { Layout, type PageContext } from './layout.tsx'

export const STATUSES = [
  'scheduled',
  'queued',
  'running',
  'retrying',
  'completed',
  'failed',
  'cancelled',
] as const

export interface TaskFilter {
  status: string
  task: string
  queue: string
  /** Text searched in task ids. */
  q: string
}

function Select({
  name,
  label,
  value,
  options,
}: {
  name: string
  label: string
  value: string
  options: readonly string[]
}) {
  // A value not in the list (a task of another process's module) is kept selectable.
  const all = value && !options.includes(value) ? [...options, value] : options
  return (
    <label>
      <span>{label}</span>
      <select name={name}>
        <option value="">any</option>
        {all.map((o) => (
          <option value={o} selected={o === value}>
            {o}
          </option>
        ))}
      </select>
    </label>
  )
}

/**
 * GET /dashboard/tasks: the filter form (a plain GET form, so a filtered list is a link), the
 * table the script fills from GET /tasks one bounded page at a time, and the bulk retry form.
 */
export function TasksPage({
  ctx,
  filter,
  taskNames,
  queues,
}: {
  ctx: PageContext
  filter: TaskFilter
  taskNames: readonly string[]
  queues: readonly string[]
}) {
  return (
    <Layout ctx={ctx} page="tasks" title="Tasks">
      <h1>Tasks</h1>
      <form class="filters" method="get" action={`${ctx.base}/tasks`} aria-label="Filter tasks">
        <Select name="status" label="Status" value={filter.status} options={STATUSES} />
        <Select name="task" label="Task" value={filter.task} options={taskNames} />
        <Select name="queue" label="Queue" value={filter.queue} options={queues} />
        <label class="grow">
          <span>Task id</span>
          <input
            type="search"
            name="q"
            value={filter.q}
            placeholder="full id, or part of one"
            autocomplete="off"
            spellcheck={false}
          />
        </label>
        <div class="buttons">
          <button type="submit">Apply</button>
          <a class="button secondary" href={`${ctx.base}/tasks`}>
            Clear
          </a>
        </div>
      </form>

      <p id="list-note" class="hint" />
      <p id="new-tasks" hidden>
        <button type="button" id="show-new" class="secondary" />
      </p>
      <div class="scroll">
        <table id="tasks" class="tasks" aria-describedby="list-note">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Task</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">Queue</th>
              <th scope="col">Priority</th>
              <th scope="col" class="num">
                Attempts
              </th>
              <th scope="col">Created</th>
              <th scope="col">Finished</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody id="rows">
            <tr>
              <td colspan={10} class="empty">
                Loading…
              </td>
            </tr>
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        <a id="page-first" href={`${ctx.base}/tasks`} class="button secondary" hidden>
          First page
        </a>
        <a id="page-newer" href={`${ctx.base}/tasks`} class="button secondary" rel="prev" hidden>
          ← Newer
        </a>
        <a id="page-older" href={`${ctx.base}/tasks`} class="button secondary" rel="next" hidden>
          Older →
        </a>
      </nav>

      <form id="retry-all" class="bulk" aria-labelledby="h-bulk">
        <h2 id="h-bulk">Retry every failed task of one name</h2>
        <label>
          <span>Task</span>
          <select name="task" required>
            <option value="">choose…</option>
            {taskNames.map((n) => (
              <option value={n} selected={n === filter.task}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Retry all failed…</button>
      </form>
    </Layout>
  )
}
