/** TCP port numbers as people type them. A leaf: imports nothing. */

/**
 * A port written as a plain decimal number 1-65535, or undefined. Number() would also take
 * `0x50` (80), `1e3`, ` 80`, `+80` and `080`; a port is one of those only by accident, so they are
 * refused rather than guessed at.
 */
export function parsePort(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,4}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}
