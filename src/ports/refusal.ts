/**
 * A port holder the safety scope refused: a leaf type, so the kill log (which the scope writes
 * to) and the freeing algorithm share it without an import circle.
 */
export interface Refusal {
  readonly port: number;
  readonly pid: number;
  readonly command: string;
  readonly uid: number;
  readonly why: string;
  /** The rule of the verdict and the holder's start time (for the kill log). */
  readonly rule?: string;
  readonly startTicks?: number;
}
