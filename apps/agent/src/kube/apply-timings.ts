/** The time to apply the last {@link capacity} watch events, for percentiles in `/metrics`. */
export class ApplyTimings {
  static readonly capacity = 4096;
  private readonly samples = new Float64Array(ApplyTimings.capacity);
  private count = 0;

  record(ms: number): void {
    this.samples[this.count % ApplyTimings.capacity] = ms;
    this.count += 1;
  }

  summary(): { events: number; p50_ms: number; p99_ms: number; max_ms: number } {
    const n = Math.min(this.count, ApplyTimings.capacity);
    if (n === 0) return { events: 0, p50_ms: 0, p99_ms: 0, max_ms: 0 };
    const sorted = this.samples.slice(0, n).sort();
    const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))] as number;
    return { events: this.count, p50_ms: at(0.5), p99_ms: at(0.99), max_ms: sorted[n - 1] as number };
  }
}
