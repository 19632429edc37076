/**
 * `import-config`'s conversion: monitor_service's config.ini text in, our YAML config out, with
 * comments saying where each renamed key came from, what was left out and why, and where the
 * password goes. Written by hand (the yaml package quotes the scalars): the comments are the
 * point, and their places are easier to keep by writing lines than through a document tree.
 */
import { stringify } from 'yaml';
import { printable } from '../text/printable.js';
import { parseIni } from './import-ini.js';
import { checkModel } from './ini-check.js';
import { completeDefaults, mapIni } from './ini-map.js';
import { hasFields, type Block, type Item, type Model } from './ini-model.js';

export interface ImportResult {
  readonly yaml: string;
  /** What was not imported or needs a hand, one line each, naming file:line. */
  readonly warnings: readonly string[];
  /** What the operator must still do (where the password goes). */
  readonly notes: readonly string[];
}

/** Convert the text of a config.ini; throws ConfigError (naming file:line) when it is malformed. */
export function importIni(text: string, file: string): ImportResult {
  const model = mapIni(parseIni(text, file));
  checkModel(model);
  completeDefaults(model);
  checkModel(model);
  return { yaml: render(model), warnings: model.warnings, notes: model.notes };
}

/** One scalar as YAML writes it: plain when that reads back the same, quoted otherwise. */
const scalar = (v: string | number): string => stringify(v, { lineWidth: 0 }).trimEnd();

function render(model: Model): string {
  const out: string[] = [...header(model.file), ''];
  const block = (name: string, b: Block): void => {
    if (b.items.length === 0) return;
    const live = hasFields(b) && !b.off;
    if (!live) out.push(`# ${name}: is commented out: ${b.off ?? 'nothing in it loads'}`);
    out.push(`${live ? '' : '# '}${name}:`, ...items(b.items, '  ', !live), '');
  };
  if (model.alarms) block('alarms', model.alarms);
  block('log', model.log);
  block('defaults', model.defaults);
  out.push('apps:');
  for (const app of model.apps) out.push(`  - name: ${scalar(app.name)}`, ...items(app.items, '    ', false));
  if (model.trailer.length > 0) out.push('', ...model.trailer.map((t) => `# ${t}`));
  return `${out.join('\n')}\n`;
}

/**
 * The lines of a block's items at `indent`. `commented` writes the whole block as comments that
 * read back as the block once one leading `# ` is taken off each line.
 */
function items(list: readonly Item[], indent: string, commented: boolean): string[] {
  const lead = commented ? `# ${indent}` : indent;
  return list.flatMap((item) => {
    if (item.kind === 'comment') return [`${lead}# ${item.text}`];
    const line = `${item.key}: ${scalar(item.value)}${item.note ? `  # ${item.note}` : ''}`;
    if (item.off) return [`${lead}# not imported, the value is refused: ${item.off}`, `${lead}# ${line}`];
    return [`${lead}${line}`];
  });
}

function header(file: string): string[] {
  return [
    `# helpdesk-monitor config imported from monitor_service's ${printable(file)}`,
    '# by `helpdesk-monitor import-config`. Read it through, then try it without acting on anything:',
    '#   helpdesk-monitor check --config THIS_FILE --dry-run',
    '#',
    '# What works differently here:',
    '# - health_check_command also runs at every check (health.interval, 5s unless set), not only',
    '#   after a restart. The INI\'s health_check_timeout (how long a restart may take to pass the',
    '#   check) is verify_timeout here; our health_check_timeout bounds one run of the command.',
    '# - Only processes listed under apps: can be restarted: an alarm whose process_name has no',
    '#   app here is not acted on (alarms.map can point other process names at an app).',
    '# - Durations are written with a unit (300s); sizes too (5120k = 5120 KB).',
  ];
}
