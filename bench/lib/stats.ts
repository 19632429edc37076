/** Small statistics over trial durations; a trial that never recovered counts as +Infinity. */

export interface Summary {
  readonly n: number;
  readonly recovered: number;
  readonly median: number;
  /** Nearest-rank 90th percentile (with 5 trials this is the maximum). */
  readonly p90: number;
  readonly min: number;
  readonly max: number;
}

/** Summarise durations in ms; `null` means not recovered within the cap (sorted as +Infinity). */
export function summarize(values: readonly (number | null)[]): Summary {
  const xs = values.map((v) => (v === null ? Infinity : v)).sort((a, b) => a - b);
  const n = xs.length;
  if (n === 0) return { n: 0, recovered: 0, median: NaN, p90: NaN, min: NaN, max: NaN };
  const median = n % 2 === 1 ? xs[(n - 1) / 2]! : (xs[n / 2 - 1]! + xs[n / 2]!) / 2;
  const rank = (p: number): number => xs[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
  return { n, recovered: xs.filter(Number.isFinite).length, median, p90: rank(0.9), min: xs[0]!, max: xs[n - 1]! };
}

/** "0.41 s", "never", with a fixed number of decimals. */
export function secs(ms: number, digits = 2): string {
  if (!Number.isFinite(ms)) return 'never';
  return `${(ms / 1000).toFixed(digits)} s`;
}

/** JSON-safe: Infinity and NaN become null. */
export function jsonNumber(v: number): number | null {
  return Number.isFinite(v) ? Math.round(v * 10) / 10 : null;
}

/** A Summary with JSON-safe numbers (ms, one decimal). */
export function summaryJson(s: Summary): Record<string, number | null> {
  return { n: s.n, recovered: s.recovered, medianMs: jsonNumber(s.median), p90Ms: jsonNumber(s.p90), minMs: jsonNumber(s.min), maxMs: jsonNumber(s.max) };
}

/** Render rows as a plain text table with a header rule. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Least-squares slope of ys over xs (units of y per unit of x); NaN with fewer than 2 points. */
export function leastSquaresSlope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return NaN;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den > 0 ? num / den : NaN;
}
