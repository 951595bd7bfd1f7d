// Prometheus metrics of one sidecar (prom-client), served as GET /metrics on its unix socket only:
//   curl --unix-socket var/run/sidecar.sock http://sidecar/metrics
// Each sidecar has its own registry; with several sidecars, scrape each socket. Values that other parts already
// count (file cache, mirror table, statistics flushes) are read when scraped, not mirrored per request.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Mirror } from '../core/types.ts';

export interface MetricsSources {
  cache: { hits: number; misses: number; size: number };
  mirrors: { all(): Mirror[]; listening: boolean; loadedAt: Date | null };
  stats: { flushes: number; failedFlushes: number; droppedFileCounts: number; pendingRows: number; lastFlushAt: number | null };
}

/** Latencies kept between scrapes before they are folded into the histogram anyway. */
const MAX_PENDING = 10_000;
// Decisions take tens of microseconds warm and up to the database's latency cold.
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** A counter whose value is kept elsewhere: set to `read()` at each scrape. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** The same with one label: a series per [label value, count] that `read()` gives at each scrape. */
function mirroredLabelledCounter(registry: Registry, name: string, help: string, label: string, read: () => Iterable<[string, number]>): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, n] of read()) this.inc({ [label]: value }, n);
    },
  });
}

export class SidecarMetrics {
  readonly registry = new Registry();
  private readonly latency: Histogram<'kind'>;
  private readonly local: Counter;
  private readonly localBytes: Counter;
  // prom-client hashes the labels of every inc() and observe(); per request that was a tenth of the sidecar's
  // time. These plain tallies are what the request path touches.
  private readonly decisionCounts = new Map<string, number>();
  private readonly perMirror = new Map<string, { requests: number; bytes: number }>();
  private readonly pendingKinds: string[] = [];
  private readonly pendingSeconds: number[] = [];

  constructor(src: MetricsSources, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    // Counted per request in plain maps and arrays (cheap), handed to prom-client when scraped.
    const drain = () => this.drainLatencies();
    mirroredLabelledCounter(
      this.registry,
      'mirrorlane_decisions_total',
      'Answers of the sidecar by kind: redirect, local, notfound, dir, body, error (decide failed), mirrorstats',
      'kind',
      () => this.decisionCounts,
    );
    this.latency = new Histogram({
      name: 'mirrorlane_decision_duration_seconds',
      help: 'Time from the request reaching the sidecar to its decision, by kind',
      labelNames: ['kind'],
      buckets: LATENCY_BUCKETS,
      registers,
      collect() {
        drain();
      },
    });
    mirroredLabelledCounter(this.registry, 'mirrorlane_redirects_total', 'Redirects per mirror', 'mirror', () =>
      [...this.perMirror].map(([m, c]): [string, number] => [m, c.requests]),
    );
    mirroredLabelledCounter(this.registry, 'mirrorlane_redirect_bytes_total', 'Bytes sent to mirrors by redirects (the file sizes), per mirror', 'mirror', () =>
      [...this.perMirror].map(([m, c]): [string, number] => [m, c.bytes]),
    );
    this.local = new Counter({ name: 'mirrorlane_local_deliveries_total', help: 'Downloads the origin served itself', registers });
    this.localBytes = new Counter({ name: 'mirrorlane_local_delivery_bytes_total', help: 'Bytes of the downloads the origin served itself (when the file row was known)', registers });

    mirroredCounter(this.registry, 'mirrorlane_file_cache_hits_total', 'File-row cache hits', () => src.cache.hits);
    mirroredCounter(this.registry, 'mirrorlane_file_cache_misses_total', 'File-row cache misses (one database query each)', () => src.cache.misses);
    new Gauge({
      name: 'mirrorlane_file_cache_entries',
      help: 'File rows (and known-absent paths) in the cache',
      registers,
      collect() {
        this.set(src.cache.size);
      },
    });
    new Gauge({
      name: 'mirrorlane_mirrors',
      help: 'Mirrors in the in-memory table by enabled flag and health',
      labelNames: ['enabled', 'health'],
      registers,
      collect() {
        this.reset();
        // Every combination, zeros included, so that series do not vanish.
        for (const enabled of ['true', 'false']) for (const health of ['up', 'down', 'unknown']) this.set({ enabled, health }, 0);
        for (const m of src.mirrors.all()) this.inc({ enabled: String(m.enabled), health: m.health });
      },
    });
    new Gauge({
      name: 'mirrorlane_mirror_table_loaded_timestamp_seconds',
      help: 'When the mirror table was last loaded from the database (0: never)',
      registers,
      collect() {
        this.set((src.mirrors.loadedAt?.getTime() ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'mirrorlane_database_up',
      help: '1 while the sidecar is connected to PostgreSQL (its LISTEN connection), else 0',
      registers,
      collect() {
        this.set(src.mirrors.listening ? 1 : 0);
      },
    });
    new Counter({
      name: 'mirrorlane_stats_flushes_total',
      help: 'Batched writes of download statistics by result',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        this.inc({ result: 'ok' }, src.stats.flushes);
        this.inc({ result: 'error' }, src.stats.failedFlushes);
      },
    });
    mirroredCounter(
      this.registry,
      'mirrorlane_stats_dropped_file_counts_total',
      'Downloads counted per mirror but not per file because too many rows waited to be saved',
      () => src.stats.droppedFileCounts,
    );
    new Gauge({
      name: 'mirrorlane_stats_pending_rows',
      help: 'Statistics rows in memory, not yet saved to the database',
      registers,
      collect() {
        this.set(src.stats.pendingRows);
      },
    });
    new Gauge({
      name: 'mirrorlane_stats_last_flush_timestamp_seconds',
      help: 'When statistics were last saved (0: not yet)',
      registers,
      collect() {
        this.set((src.stats.lastFlushAt ?? 0) / 1000);
      },
    });
  }

  /** One answer of kind `kind`; seconds null for answers that are not timed decisions. */
  decision(kind: string, seconds: number | null): void {
    this.decisionCounts.set(kind, (this.decisionCounts.get(kind) ?? 0) + 1);
    if (seconds === null) return;
    this.pendingKinds.push(kind);
    this.pendingSeconds.push(seconds);
    // Bounded between scrapes: fold into the histogram now and then even when nobody scrapes.
    if (this.pendingKinds.length >= MAX_PENDING) this.drainLatencies();
  }

  /** One download: to `mirror` (identifier), or from the origin when null. */
  download(mirror: string | null, bytes: number): void {
    if (mirror === null) {
      this.local.inc();
      this.localBytes.inc(bytes);
      return;
    }
    const c = this.perMirror.get(mirror);
    if (c) {
      c.requests++;
      c.bytes += bytes;
    } else {
      this.perMirror.set(mirror, { requests: 1, bytes });
    }
  }

  /** Hand the latencies measured since the last scrape to the histogram. */
  private drainLatencies(): void {
    for (let i = 0; i < this.pendingKinds.length; i++) this.latency.observe({ kind: this.pendingKinds[i] }, this.pendingSeconds[i]);
    this.pendingKinds.length = 0;
    this.pendingSeconds.length = 0;
  }

  async render(): Promise<{ type: string; body: string }> {
    return { type: this.registry.contentType, body: await this.registry.metrics() };
  }
}
