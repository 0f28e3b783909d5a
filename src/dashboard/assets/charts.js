// Hand-made SVG charts: stacked bars and lines over a time axis. Drawn at the container's pixel
// width (redrawn when it changes), so text stays legible from a phone to a wide screen. Colours
// come from classes (c-<series>) in dashboard.css.
import { h } from './common.js'

const HEIGHT = 180
const M = { top: 10, right: 10, bottom: 22, left: 48 }

const svg = (tag, props, ...children) => h(`svg:${tag}`, props, ...children)

/** The smallest 1, 2, 2.5 or 5 × 10^n at or above v. */
function niceMax(v) {
  if (!(v > 0)) return 1
  const mag = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= v) return m * mag
  return 10 * mag
}

const hhmm = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })

/** Axes, gridlines and labels; returns the svg and the scales. */
function frame({ times, max, fmt, label }, width) {
  const plotW = width - M.left - M.right
  const plotH = HEIGHT - M.top - M.bottom
  const band = plotW / Math.max(1, times.length)
  const x = (i) => M.left + i * band
  const y = (v) => M.top + plotH - (v / max) * plotH
  const root = svg('svg', {
    width,
    height: HEIGHT,
    viewBox: `0 0 ${width} ${HEIGHT}`,
    role: 'img',
    'aria-label': label,
  })
  for (const v of [0, max / 2, max]) {
    root.append(
      svg('line', { class: 'grid', x1: M.left, x2: width - M.right, y1: y(v), y2: y(v) }),
      svg('text', { class: 'tick', x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmt(v)),
    )
  }
  const every = width < 420 ? 30 : 15
  times.forEach((t, i) => {
    const d = new Date(t)
    if (d.getMinutes() % every !== 0) return
    root.append(
      svg('line', {
        class: 'tick-mark',
        x1: x(i) + band / 2,
        x2: x(i) + band / 2,
        y1: M.top + plotH,
        y2: M.top + plotH + 4,
      }),
      svg(
        'text',
        { class: 'tick', x: x(i) + band / 2, y: HEIGHT - 6, 'text-anchor': 'middle' },
        hhmm.format(d),
      ),
    )
  })
  return { root, x, y, band, plotH }
}

/** Redraws `draw(data, width)` into `container` on new data and on width changes. */
function responsive(container, draw) {
  let data = null
  let drawnWidth = 0
  const render = () => {
    const width = Math.max(240, Math.floor(container.clientWidth))
    if (!data || width === drawnWidth) return
    drawnWidth = width
    container.replaceChildren(draw(data, width))
  }
  new ResizeObserver(render).observe(container)
  return (next) => {
    data = next
    drawnWidth = 0
    render()
  }
}

/**
 * Stacked bars: `series` [{ key, name, values }] over `times`. Each band has a tooltip with every
 * series' value.
 * @example const draw = barChart(el); draw({ times, series, fmt: String, label: '…' })
 */
export function barChart(container) {
  return responsive(container, (data, width) => {
    const totals = data.times.map((_, i) => data.series.reduce((n, s) => n + (s.values[i] ?? 0), 0))
    const max = niceMax(Math.max(0, ...totals))
    const { root, x, y, band } = frame({ ...data, max }, width)
    const barW = Math.max(1, band * 0.8)
    data.times.forEach((t, i) => {
      let base = 0
      const group = svg('g', {}, svg('title', {}, tooltip(t, data.series, i, data.fmt)))
      for (const s of data.series) {
        const v = s.values[i] ?? 0
        if (v > 0) {
          group.append(
            svg('rect', {
              class: `c-${s.key}`,
              x: x(i) + (band - barW) / 2,
              y: y(base + v),
              width: barW,
              height: y(base) - y(base + v),
            }),
          )
        }
        base += v
      }
      group.append(svg('rect', { class: 'hit', x: x(i), y: M.top, width: band, height: y(0) - M.top }))
      root.append(group)
    })
    return root
  })
}

/**
 * Lines: `series` [{ key, name, values }] over `times`; a null value is a gap. Points are marked,
 * so a lone value between gaps still shows.
 */
export function lineChart(container) {
  return responsive(container, (data, width) => {
    const all = data.series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined))
    const max = niceMax(Math.max(0, ...all))
    const { root, x, y, band } = frame({ ...data, max }, width)
    const cx = (i) => x(i) + band / 2
    for (const s of data.series) {
      let d = ''
      let pen = false
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) {
          pen = false
          return
        }
        d += `${pen ? 'L' : 'M'}${cx(i).toFixed(1)} ${y(v).toFixed(1)} `
        pen = true
      })
      if (d) root.append(svg('path', { class: `line c-${s.key}`, d }))
      s.values.forEach((v, i) => {
        if (v !== null && v !== undefined)
          root.append(svg('circle', { class: `c-${s.key}`, cx: cx(i), cy: y(v), r: 2 }))
      })
    }
    data.times.forEach((t, i) => {
      root.append(
        svg(
          'rect',
          { class: 'hit', x: x(i), y: M.top, width: band, height: y(0) - M.top },
          svg('title', {}, tooltip(t, data.series, i, data.fmt)),
        ),
      )
    })
    return root
  })
}

function tooltip(t, series, i, fmt) {
  const values = series.map(
    (s) => `${s.name} ${s.values[i] === null || s.values[i] === undefined ? '–' : fmt(s.values[i])}`,
  )
  return `${hhmm.format(new Date(t))}: ${values.join(', ')}`
}
