// The task list: one bounded page of GET /tasks (cursor pagination), kept live by GET /events
// (progress bars, status changes, new tasks), with cancel and retry per row and a bulk retry.
import {
  $,
  actionButtons,
  actionsOf,
  api,
  BASE,
  confirmAction,
  FINAL,
  fmtDuration,
  follow,
  h,
  notify,
  progressEl,
  shortId,
  statusBadge,
  timeEl,
  updateProgress,
} from './common.js'

const LIMIT = 50
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const params = new URLSearchParams(location.search)
const filter = {
  status: params.get('status') ?? '',
  task: params.get('task') ?? '',
  queue: params.get('queue') ?? '',
  q: (params.get('q') ?? '').trim().toLowerCase(),
}
const cursor = params.get('cursor')

/** The rows on the page: taskId → { info, tr }. */
const rows = new Map()
/** Latest progress event per task, applied at the next frame. */
const progressQueue = new Map()
let frameRequested = false
/** Tasks not on the page that changed, since it loaded, into a state the filter shows. */
const unseen = new Set()

function filterQuery() {
  const q = new URLSearchParams()
  for (const key of ['status', 'task', 'queue']) if (filter[key]) q.set(key, filter[key])
  return q
}

const label = (t) => `${t.task} ${t.taskId}`

function progressCell(t) {
  if (FINAL.has(t.status) || (!t.progress && t.status !== 'running')) return '–'
  return progressEl(t.progress, `Progress of ${label(t)}`)
}

function finishedCell(t) {
  if (!t.finishedAt) return '–'
  return h(
    'span',
    {},
    timeEl(t.finishedAt),
    t.durationMs === null ? null : h('span', { class: 'hint' }, ` after ${fmtDuration(t.durationMs)}`),
  )
}

function cell(name, labelText, content, cls) {
  return h('td', { 'data-cell': name, 'data-label': labelText, class: cls }, content)
}

function buildRow(t) {
  return h(
    'tr',
    { 'data-id': t.taskId, 'data-status': t.status },
    cell(
      'id',
      'Id',
      h(
        'a',
        { href: `${BASE}/tasks/${t.taskId}`, class: 'mono', 'aria-label': `Task ${label(t)}` },
        shortId(t.taskId),
      ),
    ),
    cell('task', 'Task', t.task),
    cell('status', 'Status', statusBadge(t.status)),
    cell('progress', 'Progress', progressCell(t), 'progress-cell'),
    cell('queue', 'Queue', t.queue),
    cell('priority', 'Priority', t.priority.toLowerCase()),
    cell('attempts', 'Attempts', `${t.attempts} / ${t.maxAttempts}`, 'num'),
    cell('created', 'Created', timeEl(t.createdAt)),
    cell('finished', 'Finished', finishedCell(t)),
    cell(
      'actions',
      'Actions',
      actionButtons(() => rows.get(t.taskId)?.info ?? t, update),
      'actions',
    ),
  )
}

/**
 * Brings a row up to date in place: a live update must not rebuild the row under the user's focus,
 * so the buttons are rebuilt only when the actions the status allows change.
 */
function update(info) {
  const entry = rows.get(info.taskId)
  if (!entry) return
  const before = entry.info
  entry.info = { ...before, ...info }
  const t = entry.info
  const td = (name) => entry.tr.querySelector(`[data-cell="${name}"]`)
  entry.tr.dataset.status = t.status
  if (before.status !== t.status) td('status').replaceChildren(statusBadge(t.status))
  const bar = td('progress').querySelector('.progress')
  if (bar && t.progress && !FINAL.has(t.status)) updateProgress(bar, t.progress)
  else td('progress').replaceChildren(progressCell(t))
  td('attempts').textContent = `${t.attempts} / ${t.maxAttempts}`
  td('finished').replaceChildren(finishedCell(t))
  if (actionsOf(before.status) !== actionsOf(t.status)) {
    const focused = td('actions').contains(document.activeElement)
    td('actions').replaceChildren(...actionButtons(() => entry.info, update))
    if (focused) td('actions').querySelector('button')?.focus()
  }
}

function render(items, note) {
  rows.clear()
  const body = $('rows')
  if (items.length === 0) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 10, class: 'empty' }, 'No tasks match.')))
  } else {
    body.replaceChildren(
      ...items.map((t) => {
        const tr = buildRow(t)
        rows.set(t.taskId, { info: t, tr })
        return tr
      }),
    )
  }
  $('list-note').textContent = note
}

function pager(nextCursor) {
  const base = filterQuery()
  const link = (id, c) => {
    const a = $(id)
    const q = new URLSearchParams(base)
    if (c) q.set('cursor', c)
    a.href = `${BASE}/tasks${q.size ? `?${q}` : ''}`
    a.hidden = false
    return a
  }
  const key = (c) => `tasklane.prev.${base}.${c}`
  if (cursor) {
    link('page-first', null)
    const prev = sessionStorage.getItem(key(cursor))
    if (prev !== null) link('page-newer', prev)
  }
  if (nextCursor) {
    link('page-older', nextCursor).addEventListener('click', () =>
      sessionStorage.setItem(key(nextCursor), cursor ?? ''),
    )
  }
}

async function load() {
  unseen.clear()
  $('new-tasks').hidden = true
  if (UUID.test(filter.q)) {
    try {
      render([await api(`/tasks/${filter.q}`)], 'The task with this id.')
    } catch (err) {
      if (err.status !== 404) throw err
      render([], `No task has the id ${filter.q}.`)
    }
    return
  }
  const q = filterQuery()
  q.set('limit', String(LIMIT))
  if (cursor) q.set('cursor', cursor)
  const page = await api(`/tasks?${q}`)
  let items = page.items
  let note = `${items.length} tasks, newest first: live tasks (by creation), then finished ones (by finish time).`
  if (filter.q) {
    items = items.filter((t) => t.taskId.includes(filter.q))
    const verb = items.length === 1 ? 'has' : 'have'
    note = `${items.length} of the ${page.items.length} tasks on this page ${verb} “${filter.q}” in their id: a full id finds any task.`
  }
  render(items, note)
  pager(page.nextCursor)
}

// Live updates: progress is applied at most once a frame per task, however fast it comes.

function onProgress(e) {
  if (!rows.has(e.taskId)) return
  progressQueue.set(e.taskId, e)
  if (frameRequested) return
  frameRequested = true
  requestAnimationFrame(() => {
    frameRequested = false
    for (const p of progressQueue.values()) {
      const status = rows.get(p.taskId)?.info.status
      update({
        taskId: p.taskId,
        status: status === 'queued' ? 'running' : status,
        progress: { percent: p.percent, step: p.step, updatedAt: p.at },
      })
    }
    progressQueue.clear()
  })
}

/**
 * Whether a status event of a task that is not on the page means the page is out of date: only the
 * first page, unsearched, shows newcomers, and only those in the filtered status. (Enqueueing
 * publishes no event, so a new task is first seen when it starts.)
 */
function belongsOnPage(e) {
  return (!filter.status || filter.status === e.status) && !filter.q && !cursor
}

async function onStatus(e) {
  const entry = rows.get(e.taskId)
  if (!entry) {
    if (belongsOnPage(e)) {
      unseen.add(e.taskId)
      const n = unseen.size
      $('show-new').textContent = `${n} more ${n === 1 ? 'task' : 'tasks'} since this page loaded: show`
      $('new-tasks').hidden = false
    }
    return
  }
  update({ taskId: e.taskId, status: e.status, ...(e.attempt ? { attempts: e.attempt } : {}) })
  // A final state brings timings and the result: read the task once.
  if (FINAL.has(e.status)) update(await api(`/tasks/${e.taskId}`))
}

/** Retries every failed task of one name with one request (POST /tasks/:name/retry-failed). */
async function retryAllFailed(task) {
  const ok = await confirmAction(
    `Retry every failed ${task}?`,
    `Every failed task named ${task} runs again, with one more attempt each.`,
    'Retry all failed',
  )
  if (!ok) return
  const { retried } = await api(`/tasks/${encodeURIComponent(task)}/retry-failed`, { method: 'POST' })
  notify(
    retried === 0
      ? `No failed ${task} tasks to retry.`
      : `Retried ${retried} failed ${task} ${retried === 1 ? 'task' : 'tasks'}.`,
    'info',
  )
  await load()
}

$('show-new').addEventListener('click', () => load().catch((err) => notify(err.message, 'error')))
$('retry-all').addEventListener('submit', (e) => {
  e.preventDefault()
  const task = new FormData(e.currentTarget).get('task')
  if (task) retryAllFailed(String(task)).catch((err) => notify(err.message, 'error'))
})

const streamQuery = filterQuery()
streamQuery.delete('status')
follow(`/events${streamQuery.size ? `?${streamQuery}` : ''}`, {
  progress: onProgress,
  status: (e) => onStatus(e).catch((err) => notify(err.message, 'error')),
  // The page fell behind a busy stream: the latest state of each task follows, unless too many
  // changed (complete: false), when only a reload is right.
  lagged: (e) => {
    if (!e.complete) load().catch((err) => notify(err.message, 'error'))
  },
})
load().catch((err) => {
  render([], '')
  notify(err.message, 'error')
})
