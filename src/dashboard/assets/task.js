// One task: GET /tasks/:id, followed live with GET /tasks/:id/events until it is final; cancel
// and retry; position and ETA refreshed while it waits.
import {
  $,
  actionButtons,
  actionsOf,
  api,
  FINAL,
  fmtDuration,
  follow,
  h,
  poller,
  setLive,
  setText,
  shortId,
  timeEl,
} from './common.js'

const id = document.body.dataset.taskId
let info = null
let source = null
let shownActions = null
/** The API answered 404: nothing more to read. */
let gone = false

const json = (v) => (v === undefined ? '' : JSON.stringify(v, null, 2))

function setTime(elId, iso) {
  $(elId).replaceChildren(timeEl(iso))
}

function errorEl(error) {
  if (!error) return '–'
  return h(
    'div',
    {},
    h('strong', {}, error.type),
    ' ',
    error.message,
    error.stack ? h('details', {}, h('summary', {}, 'stack'), h('pre', {}, error.stack)) : null,
  )
}

/**
 * The attempts to list: those the API reports (attemptsHistory, when it has it), then the current
 * or last attempt from the TaskInfo itself when it is not among them.
 */
function attemptsOf(t) {
  const listed = Array.isArray(t.attemptsHistory) ? [...t.attemptsHistory] : []
  const last = listed.at(-1)?.attempt ?? 0
  if (t.attempts > last) {
    listed.push({
      attempt: t.attempts,
      outcome: t.status,
      startedAt: t.startedAt,
      finishedAt: FINAL.has(t.status) ? t.finishedAt : null,
      durationMs: t.durationMs,
      error: ['failed', 'retrying'].includes(t.status) ? t.error : undefined,
    })
  }
  return listed
}

function renderAttempts(t) {
  const attempts = attemptsOf(t)
  const body = $('t-attempt-table').tBodies[0]
  if (attempts.length === 0) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'Not started yet.')))
    return
  }
  const rows = attempts.map((a) =>
    h(
      'tr',
      {},
      h('td', { 'data-label': '#' }, String(a.attempt)),
      h('td', { 'data-label': 'Outcome' }, a.outcome),
      h('td', { 'data-label': 'Started' }, timeEl(a.startedAt)),
      h('td', { 'data-label': 'Finished' }, timeEl(a.finishedAt)),
      h('td', { 'data-label': 'Ran for', class: 'num' }, fmtDuration(a.durationMs)),
      h('td', { 'data-label': 'Error' }, errorEl(a.error)),
    ),
  )
  const first = attempts[0].attempt
  if (first > 1) {
    const earlier = first === 2 ? 'Attempt 1 failed' : `Attempts 1–${first - 1} failed`
    const note = h('td', { colspan: 6, class: 'hint note' }, `${earlier}; the API gives no details of it.`)
    rows.unshift(h('tr', {}, note))
  }
  body.replaceChildren(...rows)
}

function renderProgress(t) {
  const show = Boolean(t.progress) || t.status === 'running'
  $('t-progress-box').hidden = !show
  if (!show) return
  const percent = Math.round(t.progress?.percent ?? 0)
  $('t-progress').value = percent
  setText('t-percent', `${percent}%`)
  setText('t-step', t.progress ? (t.progress.step ?? '') : 'no progress reported yet')
}

function render(t) {
  info = t
  document.title = `${t.task} ${shortId(t.taskId)} · tasklane`
  setText('t-name', t.task)
  const badge = $('t-status')
  badge.className = `badge s-${t.status}`
  badge.textContent = t.status
  if (shownActions !== actionsOf(t.status)) {
    shownActions = actionsOf(t.status)
    const focused = $('t-actions').contains(document.activeElement)
    $('t-actions').replaceChildren(...actionButtons(() => info, changed))
    if (focused) ($('t-actions').querySelector('button') ?? $('main')).focus()
  }
  renderProgress(t)
  const queued = t.status === 'queued' && t.position !== undefined
  $('t-queue-box').hidden = !queued
  if (queued) {
    setText('t-position', t.position)
    $('t-eta').replaceChildren(t.eta ? timeEl(t.eta) : 'unknown: no live worker serves this queue')
  }
  setText('t-queue', t.queue)
  setText('t-priority', t.priority.toLowerCase())
  setText('t-attempts', `${t.attempts} of ${t.maxAttempts}`)
  setTime('t-created', t.createdAt)
  setTime('t-start-after', t.startAfter)
  setTime('t-started', t.startedAt)
  setTime('t-finished', t.finishedAt)
  setText('t-wait', fmtDuration(t.waitMs))
  renderDuration()
  $('t-error-box').hidden = !t.error
  if (t.error) {
    setText('t-error-type', `${t.error.type}:`)
    setText('t-error-message', t.error.message)
    setText('t-error-retryable', t.error.retryable ? 'retryable' : 'not retryable: the task failed at once')
    $('t-stack-box').hidden = !t.error.stack
    setText('t-stack', t.error.stack ?? '')
  }
  setText('t-args', json(t.args))
  $('t-result-box').hidden = !('result' in t)
  setText('t-result', json(t.result))
  renderAttempts(t)
}

/** How long it ran; while it runs, how long so far (ticking each second). */
function renderDuration() {
  const t = info
  const running = t.status === 'running' && t.startedAt
  setText(
    't-duration',
    running ? `${fmtDuration(Date.now() - Date.parse(t.startedAt))} so far` : fmtDuration(t.durationMs),
  )
}
setInterval(() => {
  if (info?.status === 'running' && !document.hidden) renderDuration()
}, 1000)

function changed(t) {
  render(t)
  if (!FINAL.has(t.status)) followTask()
  else if (!source) setLive('idle')
}

function followTask() {
  if (source) return
  const finish = (t) => {
    source?.close()
    source = null
    setLive('idle')
    render(t)
  }
  source = follow(`/tasks/${id}/events`, {
    progress(e) {
      if (!info) return
      render({
        ...info,
        status: info.status === 'queued' ? 'running' : info.status,
        progress: { percent: e.percent, step: e.step, updatedAt: e.at },
      })
    },
    status(e) {
      if (info && e.status !== info.status) {
        render({ ...info, status: e.status })
        refresh.poke()
      }
    },
    result: finish,
    error: finish,
  })
}

async function load() {
  if (gone || (info && FINAL.has(info.status))) return
  try {
    changed(await api(`/tasks/${id}`))
  } catch (err) {
    if (err.status !== 404) throw err
    gone = true
    $('main').classList.add('missing')
    const missing = $('t-missing')
    missing.textContent = `No task has the id ${id}: it never existed, or retention removed it.`
    missing.hidden = false
    setText('t-status', 'unknown')
    setLive('idle')
  }
}

/** Reads the task again every 5 s while it is not final: its queue position and ETA move. */
const refresh = poller(load, 5000)
refresh.start()
