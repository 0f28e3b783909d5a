// The overview: GET /stats (every 5 s, and soon after any status event), worker processes, the last
// hour per minute from GET /analytics (every 30 s), and a feed of GET /events.
import { barChart, lineChart } from './charts.js'
import {
  $,
  api,
  BASE,
  fmtDuration,
  fmtNumber,
  fmtPercent,
  fmtTime,
  follow,
  h,
  poller,
  setText,
  shortId,
  statusBadge,
  timeEl,
} from './common.js'

const PRIORITIES = ['critical', 'high', 'normal', 'low']
const MINUTE = 60_000
const FEED_LENGTH = 30

/** Set when the API lists GET /workers (live worker processes); else /metrics gives their count. */
let workersRoute = false

async function detectWorkersRoute() {
  try {
    const doc = await api('/openapi.json')
    workersRoute = Boolean(doc?.paths?.['/workers'])
  } catch {
    workersRoute = false
  }
}

function renderStats(s) {
  setText('q-total', fmtNumber(s.totalQueued))
  for (const p of PRIORITIES) {
    const n = s[`${p}QueueSize`]
    setText(`q-${p}`, fmtNumber(n))
    $(`q-${p}-bar`).style.width = `${s.totalQueued > 0 ? (100 * n) / s.totalQueued : 0}%`
  }
  setText('q-scheduled', fmtNumber(s.scheduled))
  setText('w-busy', fmtNumber(s.activeWorkers))
  setText('w-total', fmtNumber(s.totalWorkers))
  setText('w-util', `${s.avgWorkerUtilization}%`)
  setText('t-rate', fmtNumber(Math.round(s.tasksPerSecond * 60 * 10) / 10))
  setText('t-window', fmtDuration(s.windowSeconds * 1000))
  setText('t-retries', fmtNumber(s.retryCount))
  setText('t-timeouts', fmtNumber(s.timeoutCount))
  setText('e-rate', fmtPercent(s.errorRate))
  setText('e-failed', fmtNumber(s.failedTasks))
  setText('e-processed', fmtNumber(s.totalTasksProcessed))
  setText('r-avg', fmtDuration(s.avgExecutionTimeMs))
  setText('r-p95', fmtDuration(s.p95ExecutionTimeMs))
  setText('r-p99', fmtDuration(s.p99ExecutionTimeMs))
  setText('u-uptime', fmtDuration(s.uptimeSeconds * 1000))
  setText('u-updated', fmtTime(new Date().toISOString()))
}

const processes = (n) => (n === null ? '–' : `${fmtNumber(n)} ${n === 1 ? 'process' : 'processes'}`)

/** One row per live worker process (GET /workers, when the API has it). */
function renderWorkers(items) {
  setText('w-procs', processes(items.length))
  const table = $('w-table')
  table.hidden = items.length === 0
  table.tBodies[0].replaceChildren(
    ...items.map((w) =>
      h(
        'tr',
        {},
        h('td', { title: w.id }, `${w.host}:${w.pid}`),
        h('td', {}, `${w.busy} / ${w.concurrency}`),
        h('td', {}, w.rssMb === undefined ? '–' : `${Math.round(w.rssMb)} MB`),
        h('td', {}, timeEl(w.heartbeatAt)),
      ),
    ),
  )
}

async function refreshStats() {
  const [stats, workers] = await Promise.all([api('/stats'), api(workersRoute ? '/workers' : '/metrics')])
  renderStats(stats)
  if (workersRoute) renderWorkers(workers.items ?? workers)
  else {
    const count = /^tasklane_worker_processes(?:\{\})? (\d+)/m.exec(workers)?.[1]
    setText('w-procs', processes(count === undefined ? null : Number(count)))
  }
}

const drawThroughput = barChart($('chart-throughput'))
const drawRuntime = lineChart($('chart-runtime'))

/**
 * Sums GET /analytics rows (one per task name and minute) into one value per minute. Percentiles of
 * several task names in one minute are averaged, weighted by their task counts: an approximation
 * (the API gives percentiles per task name only); with one task name they are exact.
 */
function perMinute(a) {
  const start = Math.floor(Date.parse(a.from) / MINUTE) * MINUTE
  const end = Math.floor(Date.parse(a.to) / MINUTE) * MINUTE
  const times = []
  for (let t = start; t <= end; t += MINUTE) times.push(t)
  const zero = () => times.map(() => 0)
  const completed = zero()
  const failed = zero()
  const weight = zero()
  const sums = { p50: zero(), p95: zero(), p99: zero() }
  const byTask = new Map()
  for (const r of a.rows) {
    const i = Math.round((Date.parse(r.bucket) - start) / MINUTE)
    if (i < 0 || i >= times.length) continue
    completed[i] += r.completed
    failed[i] += r.failed
    const w = r.completed + r.failed
    if (r.runP50Ms !== null && w > 0) {
      weight[i] += w
      sums.p50[i] += w * r.runP50Ms
      sums.p95[i] += w * r.runP95Ms
      sums.p99[i] += w * r.runP99Ms
    }
    const t = byTask.get(r.task) ?? { completed: 0, failed: 0, weight: 0, p95: 0 }
    t.completed += r.completed
    t.failed += r.failed
    if (r.runP95Ms !== null && w > 0) {
      t.weight += w
      t.p95 += w * r.runP95Ms
    }
    byTask.set(r.task, t)
  }
  const mean = (key) => sums[key].map((s, i) => (weight[i] > 0 ? s / weight[i] : null))
  return { times, completed, failed, p50: mean('p50'), p95: mean('p95'), p99: mean('p99'), byTask }
}

const runtimeTask = $('runtime-task')

async function refreshAnalytics() {
  const query = '/analytics?window=1h&bucket=1m'
  const task = runtimeTask.value
  const [all, one] = await Promise.all([
    api(query),
    task ? api(`${query}&task=${encodeURIComponent(task)}`) : null,
  ])
  const m = perMinute(all)
  const total = (values) => values.reduce((n, v) => n + v, 0)
  drawThroughput({
    times: m.times,
    series: [
      { key: 'completed', name: 'completed', values: m.completed },
      { key: 'failed', name: 'failed', values: m.failed },
    ],
    fmt: (v) => fmtNumber(Math.round(v * 10) / 10),
    label: `Tasks finished per minute over the last hour: ${total(m.completed)} completed, ${total(m.failed)} failed.`,
  })
  const r = one ? perMinute(one) : m
  const latest = r.p95.findLast((v) => v !== null)
  drawRuntime({
    times: r.times,
    series: [
      { key: 'p50', name: 'p50', values: r.p50 },
      { key: 'p95', name: 'p95', values: r.p95 },
      { key: 'p99', name: 'p99', values: r.p99 },
    ],
    fmt: fmtDuration,
    label: `Run time percentiles per minute over the last hour of ${task || 'all tasks'}; latest p95 ${fmtDuration(latest ?? null)}.`,
  })
  $('runtime-note').hidden = Boolean(task)
  const rows = [...m.byTask.entries()].sort(
    (a, b) => b[1].completed + b[1].failed - (a[1].completed + a[1].failed),
  )
  $('by-task').tBodies[0].replaceChildren(
    ...(rows.length === 0
      ? [h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'Nothing finished in the last hour.'))]
      : rows.map(([task, t]) =>
          h(
            'tr',
            {},
            h('td', {}, h('a', { href: `${BASE}/tasks?task=${encodeURIComponent(task)}` }, task)),
            h('td', { class: 'num' }, fmtNumber(t.completed)),
            h(
              'td',
              { class: 'num' },
              t.failed > 0
                ? h(
                    'a',
                    { href: `${BASE}/tasks?status=failed&task=${encodeURIComponent(task)}` },
                    fmtNumber(t.failed),
                  )
                : '0',
            ),
            h('td', { class: 'num' }, fmtPercent(t.failed / Math.max(1, t.completed + t.failed))),
            h('td', { class: 'num' }, t.weight > 0 ? fmtDuration(t.p95 / t.weight) : '–'),
          ),
        )),
  )
}

const pending = []
let flushing = false

/** Status events join the feed at most once a frame, however fast they come. */
function addToFeed(event) {
  pending.push(event)
  if (pending.length > FEED_LENGTH) pending.splice(0, pending.length - FEED_LENGTH)
  if (flushing) return
  flushing = true
  requestAnimationFrame(() => {
    flushing = false
    const feed = $('feed')
    feed.querySelector('.empty')?.remove()
    for (const e of pending.splice(0)) {
      feed.prepend(
        h(
          'li',
          { 'data-task-id': e.taskId },
          timeEl(e.at),
          ' ',
          statusBadge(e.status),
          ' ',
          h('a', { href: `${BASE}/tasks/${e.taskId}` }, `${e.task} ${shortId(e.taskId)}`),
          e.attempt ? h('span', { class: 'hint' }, ` attempt ${e.attempt}`) : null,
        ),
      )
    }
    while (feed.children.length > FEED_LENGTH) feed.lastElementChild.remove()
  })
}

const stats = poller(refreshStats, 5000)
const analytics = poller(refreshAnalytics, 30_000)

runtimeTask.addEventListener('change', () => analytics.start())
await detectWorkersRoute()
stats.start()
analytics.start()
follow('/events', {
  status(e) {
    addToFeed(e)
    stats.poke()
  },
})
