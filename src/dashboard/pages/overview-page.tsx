import { Layout, type PageContext } from './layout.tsx'

const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const

/** A headline card: a title, one big figure (filled in by overview.js) and what explains it. */
function StatCard({
  id,
  title,
  valueId,
  children,
}: {
  id: string
  title: string
  valueId: string
  children: unknown
}) {
  return (
    <article class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <output id={valueId} class="big">
        –
      </output>
      {children}
    </article>
  )
}

function Figure({ id, label, hint }: { id: string; label: string; hint?: string }) {
  return (
    <div class="figure">
      <span class="label">{label}</span>
      <output id={id} class="value">
        –
      </output>
      {hint ? (
        <span id={`${id}-hint`} class="hint">
          {hint}
        </span>
      ) : null}
    </div>
  )
}

/**
 * GET /dashboard: queue sizes, workers, rates, error rate, uptime (from GET /stats), per-minute
 * charts of the last hour (GET /analytics), and a feed of live events (GET /events).
 */
export function OverviewPage({ ctx, taskNames }: { ctx: PageContext; taskNames: readonly string[] }) {
  return (
    <Layout ctx={ctx} page="overview" title="Overview">
      <h1>Overview</h1>
      <section class="cards" aria-label="Current figures">
        <article class="card" aria-labelledby="h-queued">
          <h2 id="h-queued">Queued</h2>
          <output id="q-total" class="big">
            –
          </output>
          <ul class="bars" aria-label="Ready tasks by priority">
            {PRIORITIES.map((p) => (
              <li>
                <span class="name">{p}</span>
                <span class="track">
                  <span class={`fill p-${p}`} id={`q-${p}-bar`} />
                </span>
                <output id={`q-${p}`} class="count">
                  –
                </output>
              </li>
            ))}
          </ul>
          <p class="hint">
            Scheduled for later: <output id="q-scheduled">–</output>
          </p>
        </article>
        <StatCard id="h-workers" title="Workers" valueId="w-busy">
          <p class="hint">
            busy of <output id="w-total">–</output> slots in <output id="w-procs">–</output>; utilisation{' '}
            <output id="w-util">–</output>
          </p>
          <table id="w-table" class="compact" hidden>
            <caption>By process</caption>
            <thead>
              <tr>
                <th scope="col">Process</th>
                <th scope="col">Busy</th>
                <th scope="col">Memory</th>
                <th scope="col">Heartbeat</th>
              </tr>
            </thead>
            <tbody />
          </table>
        </StatCard>
        <StatCard id="h-rates" title="Throughput" valueId="t-rate">
          <p class="hint">
            tasks per minute over the last <output id="t-window">–</output>; retries{' '}
            <output id="t-retries">–</output>, timeouts <output id="t-timeouts">–</output>
          </p>
        </StatCard>
        <StatCard id="h-errors" title="Error rate" valueId="e-rate">
          <p class="hint">
            <output id="e-failed">–</output> failed of <output id="e-processed">–</output> finished
          </p>
        </StatCard>
        <article class="card" aria-labelledby="h-runtime">
          <h2 id="h-runtime">Run time</h2>
          <div class="figures">
            <Figure id="r-avg" label="mean" />
            <Figure id="r-p95" label="p95" />
            <Figure id="r-p99" label="p99" />
          </div>
        </article>
        <article class="card" aria-labelledby="h-uptime">
          <h2 id="h-uptime">Uptime</h2>
          <output id="u-uptime" class="big">
            –
          </output>
          <p class="hint">
            updated <output id="u-updated">–</output>
          </p>
        </article>
      </section>

      <section class="charts" aria-label="Last hour">
        <figure class="chart-box">
          <figcaption>Finished per minute, last hour</figcaption>
          <div id="chart-throughput" class="chart" />
          <p class="legend">
            <span class="key k-completed">completed</span> <span class="key k-failed">failed</span>
          </p>
        </figure>
        <figure class="chart-box">
          <figcaption>
            Run time per minute, last hour{' '}
            <label class="inline">
              <span class="sr-only">of task</span>
              <select id="runtime-task" aria-describedby="runtime-note">
                <option value="">all tasks</option>
                {taskNames.map((n) => (
                  <option value={n}>{n}</option>
                ))}
              </select>
            </label>
          </figcaption>
          <div id="chart-runtime" class="chart" />
          <p class="legend">
            <span class="key k-p50">p50</span> <span class="key k-p95">p95</span>{' '}
            <span class="key k-p99">p99</span>
          </p>
          <p id="runtime-note" class="hint">
            With all tasks, each minute averages the percentiles of its task names, weighted by count: choose
            a task for exact figures.
          </p>
        </figure>
      </section>

      <div class="two">
        <section aria-labelledby="h-by-task">
          <h2 id="h-by-task">By task, last hour</h2>
          <div class="scroll">
            <table id="by-task">
              <thead>
                <tr>
                  <th scope="col">Task</th>
                  <th scope="col" class="num">
                    Completed
                  </th>
                  <th scope="col" class="num">
                    Failed
                  </th>
                  <th scope="col" class="num">
                    Error rate
                  </th>
                  <th scope="col" class="num">
                    p95 run
                  </th>
                </tr>
              </thead>
              <tbody />
            </table>
          </div>
        </section>
        <section aria-labelledby="h-feed">
          <h2 id="h-feed">Live activity</h2>
          <ol id="feed" class="feed" aria-live="off">
            <li class="empty">Waiting for events…</li>
          </ol>
        </section>
      </div>
    </Layout>
  )
}
