// BENCH_OTEL=1 registers an OpenTelemetry SDK in the bench process, the way an application would
// (NodeTracerProvider.register(): AsyncLocalStorage context, W3C propagation), with the batch span
// processor and an exporter that discards what it is given: it measures what tracing costs tasklane
// and the SDK, not a collector's network. Without it no SDK is registered (tracing off).
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'

class DiscardingExporter implements SpanExporter {
  exported = 0
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    this.exported += spans.length
    done({ code: 0 })
  }
  async shutdown(): Promise<void> {}
}

export function registerBenchTracing(): void {
  if (process.env.BENCH_OTEL !== '1') return
  const exporter = new DiscardingExporter()
  new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }).register()
  process.on('exit', () => console.error(`# BENCH_OTEL: ${exporter.exported} spans exported`))
  console.error('# BENCH_OTEL: OpenTelemetry SDK registered (batch processor, discarding exporter)')
}
