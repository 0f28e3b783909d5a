// A dependency-free horizontal grouped bar chart, enough for docs/images/bench-*.svg.

export interface Bar {
  series: string
  value: number | undefined
}

export interface Group {
  label: string
  bars: Bar[]
}

export interface ChartSpec {
  title: string
  subtitle: string
  /** A warning line under the subtitle (provisional figures). */
  note?: string
  unit: string
  groups: Group[]
  series: readonly string[]
  /** true: one axis for every group; false: each group scaled to its own largest bar. */
  sharedScale: boolean
}

export const COLORS: Readonly<Record<string, string>> = {
  tasklane: '#2563eb',
  'pg-boss': '#9ca3af',
  'graphile-worker': '#f59e0b',
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const fmt = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: v < 10 ? 2 : v < 100 ? 1 : 0 })

export function barChart(spec: ChartSpec): string {
  const width = 760
  const labelWidth = 190
  const barArea = width - labelWidth - 110
  const barHeight = 16
  const gap = 4
  const groupGap = 18
  const top = spec.note ? 80 : 64
  const all = spec.groups.flatMap((g) => g.bars.map((b) => b.value ?? 0))
  const sharedMax = Math.max(1e-9, ...all)
  let y = top
  const parts: string[] = []
  for (const group of spec.groups) {
    const max = spec.sharedScale ? sharedMax : Math.max(1e-9, ...group.bars.map((b) => b.value ?? 0))
    const groupHeight = group.bars.length * (barHeight + gap) - gap
    parts.push(
      `<text x="${labelWidth - 10}" y="${y + groupHeight / 2 + 4}" text-anchor="end" class="group">${xml(group.label)}</text>`,
    )
    for (const bar of group.bars) {
      const w = bar.value === undefined ? 0 : Math.max(1, (bar.value / max) * barArea)
      const color = COLORS[bar.series] ?? '#6b7280'
      parts.push(
        `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${color}" rx="2"/>`,
      )
      const text = bar.value === undefined ? 'not measured' : `${fmt(bar.value)} ${spec.unit}`
      parts.push(`<text x="${labelWidth + w + 6}" y="${y + barHeight - 4}" class="value">${xml(text)}</text>`)
      y += barHeight + gap
    }
    y += groupGap - gap
  }
  const legend = spec.series
    .map((s, i) => {
      const x = labelWidth + i * 150
      return `<rect x="${x}" y="${y + 4}" width="12" height="12" fill="${COLORS[s] ?? '#6b7280'}" rx="2"/><text x="${x + 18}" y="${y + 14}" class="value">${xml(s)}</text>`
    })
    .join('')
  const height = y + 32
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>.title{font-size:16px;font-weight:600;fill:#111827}.sub{font-size:12px;fill:#4b5563}.group{font-size:13px;fill:#111827}.value{font-size:12px;fill:#374151}.note{font-size:12px;font-weight:600;fill:#b91c1c}</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="16" y="26" class="title">${xml(spec.title)}</text>
<text x="16" y="46" class="sub">${xml(spec.subtitle)}</text>
${spec.note ? `<text x="16" y="64" class="note">${xml(spec.note)}</text>` : ''}
${parts.join('\n')}
${legend}
</svg>
`
}
