/**
 * The YAML config being built from an INI file, before it is written out: blocks of keys and
 * comment lines in output order. A key can be switched off (kept as a comment with the reason)
 * when its value would not load. Pure data and small helpers; shared by the mapping
 * (ini-map.ts), the check against the schema (ini-check.ts) and the writer (ini-to-yaml.ts).
 */

/** One `key: value` of the output. */
export interface Field {
  readonly kind: 'field';
  readonly key: string;
  readonly value: string | number;
  /** Trailing comment: where it came from, the unit. */
  readonly note?: string;
  /** The INI line it came from (file:line), for warnings. */
  readonly origin: string;
  /** Set when the key is written commented out: why. */
  off?: string;
}

/** A comment line (without `# `), or an INI line that was not imported. */
export interface Comment {
  readonly kind: 'comment';
  readonly text: string;
}

export type Item = Field | Comment;

export interface Block {
  readonly items: Item[];
  /** Set when the whole block is written commented out (it cannot load): why. */
  off?: string;
}

export interface AppBlock extends Block {
  readonly name: string;
}

export interface Model {
  /** The INI file, for the header. */
  readonly file: string;
  alarms?: Block;
  readonly log: Block;
  readonly defaults: Block;
  readonly apps: AppBlock[];
  /** Comment lines after everything else (sections not imported). */
  readonly trailer: string[];
  /** For stderr: what was not imported or needs a hand, each naming file:line. */
  readonly warnings: string[];
  /** For stderr: what the operator must still do (the password). */
  readonly notes: string[];
}

export const comment = (text: string): Comment => ({ kind: 'comment', text });

export function field(key: string, value: string | number, origin: string, note?: string): Field {
  return { kind: 'field', key, value, origin, ...(note === undefined ? {} : { note }) };
}

/** The keys a block writes (switched-off ones left out), as an object for the schema. */
export function valuesOf(block: Block): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (block.off) return out;
  for (const item of block.items) if (item.kind === 'field' && !item.off) out[item.key] = item.value;
  return out;
}

export function fieldOf(block: Block, key: string): Field | undefined {
  return block.items.find((i): i is Field => i.kind === 'field' && !i.off && i.key === key);
}

/** Does the block write anything but comments? */
export const hasFields = (block: Block): boolean => Object.keys(valuesOf(block)).length > 0;
