import { Layout, type PageContext } from './layout.tsx'

function Field({ label, id }: { label: string; id: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd id={id}>–</dd>
    </div>
  )
}

/**
 * GET /dashboard/tasks/:id: one task's state, progress, args, result, error with its stack, its
 * attempts and, while queued, its position and ETA. The script reads GET /tasks/:id and follows
 * GET /tasks/:id/events until the task is final.
 */
export function TaskPage({ ctx, taskId }: { ctx: PageContext; taskId: string }) {
  return (
    <Layout ctx={ctx} page="task" title={`Task ${taskId.slice(0, 8)}`} data={{ 'task-id': taskId }}>
      <p class="crumbs">
        <a href={`${ctx.base}/tasks`}>Tasks</a> / <code>{taskId}</code>
      </p>
      <div class="title-row">
        <h1 id="t-name">Task</h1>
        <span id="t-status" class="badge">
          …
        </span>
        <span class="spacer" />
        <div id="t-actions" class="actions" />
      </div>
      <p id="t-missing" class="empty" hidden />

      <section id="t-progress-box" class="card progress-box" aria-labelledby="h-progress" hidden>
        <h2 id="h-progress">Progress</h2>
        <progress id="t-progress" max={100} value={0} aria-labelledby="h-progress" />
        <p>
          <output id="t-percent">0%</output> <span id="t-step" class="step" />
        </p>
      </section>

      <section id="t-queue-box" class="card" aria-labelledby="h-queue" hidden>
        <h2 id="h-queue">In the queue</h2>
        <p>
          <output id="t-position">–</output> ready tasks ahead; estimated start <output id="t-eta">–</output>
        </p>
      </section>

      <section class="card" aria-labelledby="h-details">
        <h2 id="h-details">Details</h2>
        <dl class="fields">
          <Field label="Queue" id="t-queue" />
          <Field label="Priority" id="t-priority" />
          <Field label="Attempts" id="t-attempts" />
          <Field label="Created" id="t-created" />
          <Field label="Start after" id="t-start-after" />
          <Field label="Started" id="t-started" />
          <Field label="Finished" id="t-finished" />
          <Field label="Waited" id="t-wait" />
          <Field label="Ran for" id="t-duration" />
        </dl>
      </section>

      <section id="t-error-box" class="card error-box" aria-labelledby="h-error" hidden>
        <h2 id="h-error">Error</h2>
        <p>
          <strong id="t-error-type" /> <span id="t-error-message" />
        </p>
        <p id="t-error-retryable" class="hint" />
        <details id="t-stack-box">
          <summary>Stack trace</summary>
          <pre id="t-stack" />
        </details>
      </section>

      <div class="two">
        <section class="card" aria-labelledby="h-args">
          <h2 id="h-args">Arguments</h2>
          <pre id="t-args" class="json" />
        </section>
        <section id="t-result-box" class="card" aria-labelledby="h-result" hidden>
          <h2 id="h-result">Result</h2>
          <pre id="t-result" class="json" />
        </section>
      </div>

      <section class="card" aria-labelledby="h-attempts">
        <h2 id="h-attempts">Attempts</h2>
        <div class="scroll">
          <table id="t-attempt-table">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Outcome</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
                <th scope="col" class="num">
                  Ran for
                </th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody />
          </table>
        </div>
      </section>
    </Layout>
  )
}
