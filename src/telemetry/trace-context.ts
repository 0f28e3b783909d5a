import {
  type Context,
  createTraceState,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type SpanContext,
  TraceFlags,
  trace,
} from '@opentelemetry/api'

/**
 * The trace context stored with a job, in its pg-boss `data` under the key `trace`: W3C Trace Context
 * (`traceparent`, `tracestate`) plus whatever the application's propagator adds (W3C baggage).
 * @example { "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }
 */
export type TraceCarrier = Record<string, string>

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/**
 * The carrier for `ctx`, whose span is `spanContext`. The application's propagator writes first; the
 * W3C headers are then written here if it wrote none, so an application that set up a tracer provider
 * without a propagator (a BasicTracerProvider never `register()`ed) still gets one trace across
 * processes.
 */
export function injectCarrier(ctx: Context, spanContext: SpanContext): TraceCarrier {
  const carrier: TraceCarrier = {}
  propagation.inject(ctx, carrier)
  if (carrier.traceparent === undefined) {
    const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0')
    carrier.traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`
    const state = spanContext.traceState?.serialize()
    if (state) carrier.tracestate = state
  }
  return carrier
}

/**
 * The context a job was enqueued in, read back from its carrier (ROOT_CONTEXT when it has none or
 * it is malformed: a job written by another client, or by the SQL enqueue function without one).
 */
export function extractContext(carrier: unknown): Context {
  if (!carrier || typeof carrier !== 'object' || Array.isArray(carrier)) return ROOT_CONTEXT
  const headers = carrier as Record<string, unknown>
  const ctx = propagation.extract(ROOT_CONTEXT, headers)
  if (trace.getSpanContext(ctx)) return ctx
  const match = typeof headers.traceparent === 'string' ? TRACEPARENT.exec(headers.traceparent) : null
  if (!match) return ctx
  const spanContext: SpanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(typeof headers.tracestate === 'string' ? { traceState: createTraceState(headers.tracestate) } : {}),
  }
  return isSpanContextValid(spanContext) ? trace.setSpanContext(ctx, spanContext) : ctx
}
