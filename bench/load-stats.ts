/**
 * Latencies go into fixed log-scale buckets (1 % wide) rather than an array, so recording
 * 300,000 of them does not itself grow the heap whose flatness the run measures.
 */
export class LatencyHistogram {
  private static readonly MIN_MS = 0.01;
  private static readonly GROWTH = Math.log(1.01);
  private readonly buckets = new Uint32Array(2000);
  count = 0;
  max = 0;

  record(ms: number): void {
    const index = Math.max(
      0,
      Math.min(
        this.buckets.length - 1,
        Math.ceil(
          Math.log(Math.max(ms, LatencyHistogram.MIN_MS) / LatencyHistogram.MIN_MS) / LatencyHistogram.GROWTH,
        ),
      ),
    );
    this.buckets[index] = (this.buckets[index] ?? 0) + 1;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The upper edge of the bucket holding the p-th percentile (within 1 %). */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i] ?? 0;
      if (seen >= rank)
        return Math.min(this.max, LatencyHistogram.MIN_MS * Math.exp(i * LatencyHistogram.GROWTH));
    }
    return this.max;
  }
}

/** Least-squares slope of y over x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
