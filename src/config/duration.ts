/**
 * Durations in config files: a number is seconds (`60`), a string may carry a unit
 * (`500ms`, `5s`, `2m`, `1h`); a bare numeric string is seconds too.
 */
/**
 * The longest delay Node's timers hold: setTimeout turns anything longer into 1 ms, so a
 * `timeout: 700h` would fire at once. Every configured duration must fit.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** Probe timeouts and check intervals: beyond a day a probe says nothing useful about health. */
export const MAX_PROBE_MS = 24 * 3_600_000;
/** The body cap of the HTTP probe: the body is buffered, so the cap is memory the monitor may use. */
export const MAX_BODY_BYTES = 16 * 1024 ** 2;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/;

/** Parse a duration into milliseconds; returns undefined when the input is not a duration. */
export function parseDuration(input: unknown): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.round(input * 1000) : undefined;
  if (typeof input !== 'string') return undefined;
  const m = PATTERN.exec(input);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000));
}

/** Render milliseconds the way a person reads them (`450ms`, `2.5s`, `3m`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(2)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)}m`;
  return `${+(ms / 3_600_000).toFixed(1)}h`;
}

const SIZE_UNITS: Readonly<Record<string, number>> = { b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** Parse a byte size (`10MB`, `512k`, or a plain number of bytes). */
export function parseSize(input: unknown): number | undefined {
  if (typeof input === 'number') return Number.isInteger(input) && input >= 0 ? input : undefined;
  if (typeof input !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!m) return undefined;
  const unit = SIZE_UNITS[(m[2] ?? '').toLowerCase() || 'b'];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}
