// Shared by the dashboard pages: API calls, DOM building, formatting, live streams, confirmations
// and notices. Plain ES modules, no dependencies; text from the API only ever reaches the page
// through textContent and attributes (never innerHTML).

const { api: API_BASE = '', base: BASE = '' } = document.body.dataset

export { BASE }

export const CANCELLABLE = new Set(['scheduled', 'queued', 'retrying', 'running'])
export const RETRYABLE = new Set(['failed', 'cancelled'])
export const FINAL = new Set(['completed', 'failed', 'cancelled'])

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** Calls the HTTP API (the tasklane_token cookie authenticates it); JSON answers are parsed. */
export async function api(path, init = {}) {
  let res
  try {
    res = await fetch(API_BASE + path, { headers: { accept: 'application/json' }, ...init })
  } catch (err) {
    throw new ApiError(0, 'network', `the server did not answer (${err.message})`)
  }
  const text = await res.text()
  let body = null
  if ((res.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text)
  if (!res.ok) {
    if (res.status === 401) signedOut()
    const message = body?.error?.message ?? `${res.status} ${res.statusText}`
    throw new ApiError(res.status, body?.error?.code ?? 'http_error', message)
  }
  return body ?? text
}

function signedOut() {
  notify('The server refused the API token: sign in again (reload the page).', 'error')
}

/** Builds an element: props are attributes (on* are listeners), children are nodes or text. */
export function h(tag, props = {}, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag)
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value)
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    el.append(child instanceof Node ? child : String(child))
  }
  return el
}

export const $ = (id) => document.getElementById(id)

export function setText(id, value) {
  const el = $(id)
  if (el) el.textContent = value === null || value === undefined ? '–' : String(value)
}

const numberFormat = new Intl.NumberFormat()
export const fmtNumber = (n) => (n === null || n === undefined ? '–' : numberFormat.format(n))

export function fmtPercent(ratio, digits = 1) {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '–'
  return `${(ratio * 100).toFixed(digits)}%`
}

/** 850 ms, 1.2 s, 3 min 4 s, 2 h 5 min, 3 d 4 h. */
export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  const s = Math.round(ms / 1000)
  const two = (big, bigUnit, small, smallUnit) => `${big} ${bigUnit}${small ? ` ${small} ${smallUnit}` : ''}`
  if (s < 3600) return two(Math.floor(s / 60), 'min', s % 60, 's')
  if (s < 86_400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'min')
  return two(Math.floor(s / 86_400), 'd', Math.floor((s % 86_400) / 3600), 'h')
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
})
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })

/** A time of today as 14:03:07, any other as a date and time. */
export function fmtTime(iso) {
  if (!iso) return '–'
  const d = new Date(iso)
  return d.toDateString() === new Date().toDateString() ? timeFormat.format(d) : dateTimeFormat.format(d)
}

/** A <time> element showing fmtTime, with the full ISO instant as its machine value and tooltip. */
export function timeEl(iso) {
  if (!iso) return '–'
  return h('time', { datetime: iso, title: iso }, fmtTime(iso))
}

export const shortId = (id) => id.slice(0, 8)

export function statusBadge(status) {
  return h('span', { class: `badge s-${status}` }, status)
}

/** The progress bar and step of a task: a native <progress>, so assistive technology reads it. */
export function progressEl(progress, label) {
  const percent = Math.round(progress?.percent ?? 0)
  return h(
    'span',
    { class: 'progress' },
    h('progress', { max: 100, value: percent, 'aria-label': label }),
    h('span', { class: 'pct' }, `${percent}%`),
    progress?.step ? h('span', { class: 'step' }, progress.step) : null,
  )
}

/** Updates a progressEl in place (a live event must not rebuild the row around it). */
export function updateProgress(el, progress) {
  const bar = el.querySelector('progress')
  const percent = Math.round(progress.percent ?? 0)
  bar.value = percent
  el.querySelector('.pct').textContent = `${percent}%`
  let step = el.querySelector('.step')
  if (!step && progress.step) {
    step = h('span', { class: 'step' })
    el.append(step)
  }
  if (step) step.textContent = progress.step ?? ''
}

let noticeTimer = null

/** Reports an outcome in the page's live region (announced by screen readers). */
export function notify(message, kind = 'info') {
  const el = $('notice')
  const clear = () => {
    el.classList.remove('shown')
    el.textContent = ''
  }
  clearTimeout(noticeTimer)
  clear()
  el.dataset.kind = kind
  el.append(
    h('span', { class: 'message' }, message),
    h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss', onclick: clear }, '×'),
  )
  el.classList.add('shown')
  if (kind !== 'error') noticeTimer = setTimeout(clear, 10_000)
}

/** Asks for confirmation in the page's <dialog>; resolves true when confirmed. */
export function confirmAction(title, text, confirmLabel) {
  const dialog = $('confirm')
  $('confirm-title').textContent = title
  $('confirm-text').textContent = text
  $('confirm-ok').textContent = confirmLabel
  dialog.returnValue = ''
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true })
    dialog.showModal()
  })
}

/**
 * Cancels or retries one task after a confirmation; reports the outcome, or the API's refusal
 * (409 when the state no longer allows it). Resolves with the task's new TaskInfo, or null.
 */
export async function taskAction(verb, task) {
  const what = `${task.task} ${shortId(task.taskId)}`
  const ok = await confirmAction(
    verb === 'cancel' ? 'Cancel this task?' : 'Retry this task?',
    verb === 'cancel'
      ? `${what} is ${task.status}. Cancelled, it never runs${task.status === 'running' ? ' on (its signal aborts)' : ''}.`
      : `${what} is ${task.status}. It runs again, with one more attempt.`,
    verb === 'cancel' ? 'Cancel task' : 'Retry task',
  )
  if (!ok) return null
  try {
    const info = await api(`/tasks/${encodeURIComponent(task.taskId)}/${verb}`, { method: 'POST' })
    notify(`${verb === 'cancel' ? 'Cancelled' : 'Retried'} ${what}: it is now ${info.status}.`)
    return info
  } catch (err) {
    notify(`${verb === 'cancel' ? 'Cancel' : 'Retry'} refused: ${err.message}`, 'error')
    return null
  }
}

/**
 * The action buttons a task's status allows. `current` returns the task as it is now (live updates
 * change it after the buttons are made), so the confirmation describes its present state.
 */
export function actionButtons(current, onChange) {
  const task = current()
  const act = (verb) => async (e) => {
    const button = e.currentTarget
    button.disabled = true
    const info = await taskAction(verb, current())
    button.disabled = false
    if (info) onChange(info)
  }
  const name = `${task.task} ${shortId(task.taskId)}`
  if (CANCELLABLE.has(task.status)) {
    return [
      h(
        'button',
        {
          type: 'button',
          class: 'small danger',
          'data-action': 'cancel',
          'aria-label': `Cancel ${name}`,
          onclick: act('cancel'),
        },
        'Cancel',
      ),
    ]
  }
  if (RETRYABLE.has(task.status)) {
    return [
      h(
        'button',
        {
          type: 'button',
          class: 'small',
          'data-action': 'retry',
          'aria-label': `Retry ${name}`,
          onclick: act('retry'),
        },
        'Retry',
      ),
    ]
  }
  return []
}

/** Which action buttons a status gets: rebuild them only when this changes. */
export const actionsOf = (status) =>
  CANCELLABLE.has(status) ? 'cancel' : RETRYABLE.has(status) ? 'retry' : ''

/** Shows the state of the live connection in the header. */
export function setLive(state) {
  const el = $('live')
  if (!el) return
  el.dataset.state = state
  el.textContent =
    { live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…', idle: 'up to date' }[state] ??
    state
}

/**
 * Follows a Server-Sent Events route of the API. `on` maps event names to handlers of the parsed
 * data; EventSource reconnects by itself, and the header shows the connection's state.
 */
export function follow(path, on) {
  const source = new EventSource(API_BASE + path)
  setLive('connecting')
  source.onopen = () => setLive('live')
  source.onerror = () => setLive(source.readyState === EventSource.CLOSED ? 'idle' : 'reconnecting')
  for (const [event, handler] of Object.entries(on)) {
    source.addEventListener(event, (e) => handler(JSON.parse(e.data)))
  }
  window.addEventListener('pagehide', () => source.close())
  return source
}

/**
 * Runs `task` now and then every `intervalMs` after each run ends, never two at once, and not while
 * the page is hidden (it runs again when the page shows). poke() runs it soon (within a second),
 * however many events poke it: a busy cluster costs one refresh a second, not one per event.
 */
export function poller(task, intervalMs) {
  let timer = null
  let dueAt = 0
  let running = false
  let again = false
  const schedule = (ms) => {
    clearTimeout(timer)
    dueAt = Date.now() + ms
    timer = setTimeout(run, ms)
  }
  const run = async () => {
    clearTimeout(timer)
    timer = null
    if (running) {
      again = true
      return
    }
    running = true
    try {
      await task()
    } catch (err) {
      notify(err.message, 'error')
    } finally {
      running = false
    }
    if (!document.hidden) schedule(again ? Math.min(1000, intervalMs) : intervalMs)
    again = false
  }
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && timer === null && !running) run()
  })
  return {
    start: run,
    poke() {
      if (running) again = true
      // A stream of pokes must not keep pushing the run back: only bring a later run forward.
      else if (!document.hidden && (timer === null || dueAt - Date.now() > 1000)) schedule(1000)
    },
  }
}
