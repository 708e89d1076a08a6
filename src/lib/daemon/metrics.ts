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

/** One process's request figures, to add up those of several workers (plain JSON: sent over IPC). */
export interface MetricsSnapshot {
  requests: [labels: string, count: number][];
  latency: [route: string, histogram: Histogram][];
  droppedConnections: number;
}

export const METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export class Metrics {
  /** Request counts by route, method and status: nested maps, so counting builds no label string. */
  readonly #requests = new Map<string, Map<string, Map<number, number>>>();
  readonly #latency = new Map<string, Histogram>();
  readonly #started = Date.now();

  /** Record one finished request. `route` is a fixed name ("lookup", "update"...), never a key. */
  observe(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.#requests.get(route);
    if (byMethod === undefined) this.#requests.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    let h = this.#latency.get(route);
    if (h === undefined) {
      h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#latency.set(route, h);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.counts[i]! += 1;
    h.sum += seconds;
    h.count += 1;
  }

  snapshot(droppedConnections: number): MetricsSnapshot {
    return { requests: [...this.#requestCounts()], latency: [...this.#latency], droppedConnections };
  }

  /** Request counts by their labels, `route="...",method="...",code="..."`. */
  #requestCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [route, byMethod] of this.#requests) {
      for (const [method, byStatus] of byMethod) {
        for (const [status, n] of byStatus) counts.set(`route="${route}",method="${method}",code="${status}"`, n);
      }
    }
    return counts;
  }

  /**
   * The exposition text, with the store's figures read just now; `others`
   * are the snapshots of the other workers of the same daemon, added in.
   */
  render(store: { sessions: number; counters: Counters; droppedConnections: number }, others: MetricsSnapshot[] = []): string {
    const requests = this.#requestCounts();
    const latency = new Map([...this.#latency].map(([route, h]) => [route, { counts: [...h.counts], sum: h.sum, count: h.count }]));
    let dropped = store.droppedConnections;
    for (const other of others) {
      for (const [labels, n] of other.requests) requests.set(labels, (requests.get(labels) ?? 0) + n);
      for (const [route, h] of other.latency) {
        const mine = latency.get(route);
        if (mine === undefined) latency.set(route, { counts: [...h.counts], sum: h.sum, count: h.count });
        else {
          h.counts.forEach((n, i) => (mine.counts[i]! += n));
          mine.sum += h.sum;
          mine.count += h.count;
        }
      }
      dropped += other.droppedConnections;
    }
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    metric('sessctl_sessions', 'gauge', 'Sessions in the backing store, expired ones included.');
    lines.push(`sessctl_sessions ${store.sessions}`);
    for (const [name, value] of Object.entries(store.counters)) {
      metric(`sessctl_cache_${name}_total`, 'counter', `The store's ${name} counter (OpenSSL SSL_CTX_sess_* naming).`);
      lines.push(`sessctl_cache_${name}_total ${value}`);
    }
    metric('sessctl_http_requests_total', 'counter', 'HTTP requests answered, by route, method and status code.');
    for (const [labels, n] of requests) lines.push(`sessctl_http_requests_total{${labels}} ${n}`);
    metric('sessctl_http_request_duration_seconds', 'histogram', 'Time to answer an HTTP request, by route.');
    for (const [route, h] of latency) {
      BUCKETS.forEach((le, i) => lines.push(`sessctl_http_request_duration_seconds_bucket{route="${route}",le="${le}"} ${h.counts[i]}`));
      lines.push(`sessctl_http_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${h.count}`);
      lines.push(`sessctl_http_request_duration_seconds_sum{route="${route}"} ${h.sum}`);
      lines.push(`sessctl_http_request_duration_seconds_count{route="${route}"} ${h.count}`);
    }
    metric('sessctl_connections_dropped_total', 'counter', 'Connections closed on arrival because maxConnections was reached.');
    lines.push(`sessctl_connections_dropped_total ${dropped}`);
    metric('sessctl_workers', 'gauge', 'Worker processes whose request figures this scrape adds up.');
    lines.push(`sessctl_workers ${1 + others.length}`);
    metric('sessctl_uptime_seconds', 'gauge', 'Seconds since the daemon started.');
    lines.push(`sessctl_uptime_seconds ${Math.floor((Date.now() - this.#started) / 1000)}`);
    return `${lines.join('\n')}\n`;
  }
}
