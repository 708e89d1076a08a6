/**
 * The daemon's /metrics in the Prometheus text exposition format 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats): request counts by
 * route, method and status, request latency as a histogram by route, and, read
 * from the store at scrape time, the session count and the cache counters.
 */
import type { Counters } from '../store/types.js';

/** Latency buckets in seconds: the handshake path cares about the sub-millisecond ones. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export const METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();
  readonly #started = Date.now();

  /** Record one finished request. `route` is a fixed name ("lookup", "update"...), never a key. */
  observe(route: string, method: string, status: number, seconds: number): void {
    const id = `route="${route}",method="${method}",code="${status}"`;
    this.#requests.set(id, (this.#requests.get(id) ?? 0) + 1);
    let h = this.#latency.get(route);
    if (h === undefined) {
      h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#latency.set(route, h);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.counts[i]! += 1;
    h.sum += seconds;
    h.count += 1;
  }

  /** The exposition text, with the store's figures read just now. */
  render(store: { sessions: number; counters: Counters; droppedConnections: number }): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    metric('sessctl_sessions', 'gauge', 'Sessions in the backing store, expired ones included.');
    lines.push(`sessctl_sessions ${store.sessions}`);
    for (const [name, value] of Object.entries(store.counters)) {
      metric(`sessctl_cache_${name}_total`, 'counter', `The store's ${name} counter (OpenSSL SSL_CTX_sess_* naming).`);
      lines.push(`sessctl_cache_${name}_total ${value}`);
    }
    metric('sessctl_http_requests_total', 'counter', 'HTTP requests answered, by route, method and status code.');
    for (const [labels, n] of this.#requests) lines.push(`sessctl_http_requests_total{${labels}} ${n}`);
    metric('sessctl_http_request_duration_seconds', 'histogram', 'Time to answer an HTTP request, by route.');
    for (const [route, h] of this.#latency) {
      BUCKETS.forEach((le, i) => lines.push(`sessctl_http_request_duration_seconds_bucket{route="${route}",le="${le}"} ${h.counts[i]}`));
      lines.push(`sessctl_http_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${h.count}`);
      lines.push(`sessctl_http_request_duration_seconds_sum{route="${route}"} ${h.sum}`);
      lines.push(`sessctl_http_request_duration_seconds_count{route="${route}"} ${h.count}`);
    }
    metric('sessctl_connections_dropped_total', 'counter', 'Connections closed on arrival because maxConnections was reached.');
    lines.push(`sessctl_connections_dropped_total ${store.droppedConnections}`);
    metric('sessctl_uptime_seconds', 'gauge', 'Seconds since the daemon started.');
    lines.push(`sessctl_uptime_seconds ${Math.floor((Date.now() - this.#started) / 1000)}`);
    return `${lines.join('\n')}\n`;
  }
}
