/** Word wrapping for terminal text. A leaf: imports nothing. */

/**
 * Wrap `text` to `width` columns at spaces; continuation lines start with `indent`. A word longer
 * than a line stays whole on its own line (a path or URL is never cut in two).
 */
export function wrap(text: string, width: number, indent = ''): string[] {
  const lines: string[] = [];
  const lead = /^ */.exec(text)![0];
  let line = lead;
  for (const word of text.slice(lead.length).split(' ')) {
    const candidate = line.trim() === '' ? `${line}${word}` : `${line} ${word}`;
    if ([...candidate].length <= width || line.trim() === '') {
      line = candidate;
    } else {
      lines.push(line);
      line = `${indent}${word}`;
    }
  }
  if (line.trim() !== '') lines.push(line);
  return lines;
}
