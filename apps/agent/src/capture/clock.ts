/** Converts bpf_ktime_get_ns() stamps (CLOCK_MONOTONIC, which process.hrtime also reads) to wall-clock
 * time. The offset is re-read at every drain so wall-clock steps (NTP) show up within one interval. */
export class KtimeClock {
  private offsetNs = 0n;

  constructor() {
    this.resync();
  }

  resync(): void {
    this.offsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  }

  /** RFC 3339 UTC text of a kernel monotonic stamp. */
  toIso(ktimeNs: bigint): string {
    return new Date(Number((ktimeNs + this.offsetNs) / 1_000_000n)).toISOString();
  }

  nowKtime(): bigint {
    return process.hrtime.bigint();
  }
}
