import { createTraceState, ROOT_CONTEXT, type SpanContext, TraceFlags, trace } from '@opentelemetry/api'
import { describe, expect, it } from 'vitest'
import { extractContext, injectCarrier } from '../../src/telemetry/trace-context.ts'

// No propagator is registered in this file: tasklane must write and read W3C Trace Context itself.
const sampled: SpanContext = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.SAMPLED,
  traceState: createTraceState('vendor=abc'),
}

describe('the trace context stored with a job', () => {
  it('writes traceparent and tracestate without a registered propagator, and reads them back', () => {
    const carrier = injectCarrier(trace.setSpanContext(ROOT_CONTEXT, sampled), sampled)
    expect(carrier).toEqual({
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'vendor=abc',
    })
    const back = trace.getSpanContext(extractContext(carrier))
    expect(back).toMatchObject({
      traceId: sampled.traceId,
      spanId: sampled.spanId,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    })
    expect(back?.traceState?.serialize()).toBe('vendor=abc')
  })

  it('keeps an unsampled decision', () => {
    const unsampled = { ...sampled, traceFlags: TraceFlags.NONE, traceState: undefined }
    const carrier = injectCarrier(trace.setSpanContext(ROOT_CONTEXT, unsampled), unsampled)
    expect(carrier).toEqual({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' })
    expect(trace.getSpanContext(extractContext(carrier))?.traceFlags).toBe(TraceFlags.NONE)
  })

  it.each([
    ['no carrier', undefined],
    ['null', null],
    ['a string', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['an array', ['x']],
    ['a non-string traceparent', { traceparent: 42 }],
    ['a malformed traceparent', { traceparent: '00-xyz-00f067aa0ba902b7-01' }],
    ['an all-zero trace id', { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }],
    ['an unknown version', { traceparent: 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }],
  ])('starts a new trace from %s', (_what, carrier) => {
    expect(trace.getSpanContext(extractContext(carrier))).toBeUndefined()
  })
})
