import { context, isSpanContextValid, SpanKind } from '@opentelemetry/api'
import type { EnqueueRequest, EnqueueResult } from '../enqueue/enqueue-request.ts'
import { ATTR } from './semconv.ts'
import { injectCarrier } from './trace-context.ts'
import { messagingAttributes, recordError, spanName, startSpan } from './tracing.ts'

/**
 * Runs `write` inside a PRODUCER `send {queue}` span, a child of the caller's active context (the HTTP
 * request's span, say), and stamps every request with that span's context, so each attempt of each
 * task continues the caller's trace in whichever process runs it. One span per call: `addTasks` of
 * 100 tasks is one span with `messaging.batch.message_count` 100. Call it only when tracing is enabled.
 */
export async function traceEnqueue(
  requests: EnqueueRequest[],
  write: () => Promise<EnqueueResult[]>,
): Promise<EnqueueResult[]> {
  const queues = new Set(requests.map((r) => r.task.queue))
  const queue = queues.size === 1 ? requests[0]!.task.queue : undefined
  const attributes = messagingAttributes('send', 'send', queue)
  if (requests.length === 1) {
    const r = requests[0]!
    attributes[ATTR.taskName] = r.task.name
    attributes[ATTR.priority] = r.priority
    attributes[ATTR.scheduled] = r.deferred
  } else {
    attributes[ATTR.batchMessageCount] = requests.length
    const names = new Set(requests.map((r) => r.task.name))
    if (names.size === 1) attributes[ATTR.taskName] = requests[0]!.task.name
  }
  const { span, context: spanContext } = startSpan(
    spanName('send', queue),
    SpanKind.PRODUCER,
    attributes,
    context.active(),
  )
  // Stored even when this span is not sampled: the flags travel with it, so the attempts make the
  // same sampling decision the request did.
  if (isSpanContextValid(span.spanContext())) {
    const carrier = injectCarrier(spanContext, span.spanContext())
    for (const r of requests) r.traceContext = carrier
  }
  try {
    const results = await context.with(spanContext, write)
    if (results.length === 1) {
      span.setAttribute(ATTR.messageId, results[0]!.taskId)
      span.setAttribute(ATTR.deduplicated, results[0]!.deduplicated)
    }
    return results
  } catch (err) {
    recordError(span, err)
    throw err
  } finally {
    span.end()
  }
}
