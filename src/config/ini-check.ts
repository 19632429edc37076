/**
 * The imported config must load: each key is checked by the loader's own schema (not a copy of
 * its ranges), as load.ts checks it (defaults alone first, then every app with the defaults
 * under it). A key the schema refuses is switched off (written commented out, with the reason)
 * and named in a warning; a block that still cannot load (the `alarms:` block without a user) is
 * written commented out as a whole. Repeated until nothing is refused.
 */
import type { z } from 'zod';
import { fieldOf, valuesOf, type Block, type Model } from './ini-model.js';
import { defaultsSchema, rootSchema } from './schema.js';

type Issue = z.core.$ZodIssue;

/** Keys of `alarms:` that say which database it reads: never replaced by a default. */
const WHERE_KEYS = new Set(['host', 'port', 'socket', 'user', 'database']);

/** Each round switches off at least one key or block; a config has far fewer than this. */
const MAX_ROUNDS = 50;

/** Switch off what would not load; throws when something cannot be placed (a bug of the mapping). */
export function checkModel(model: Model): void {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const issues = refusals(model);
    if (issues.length === 0) return;
    if (!issues.some((i) => settle(model, i))) {
      throw new Error(`the imported config would not load: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
  }
  throw new Error('the imported config would not load after switching off every refused key');
}

/** What the loader would refuse now, as zod issues with paths from the root. */
function refusals(model: Model): Issue[] {
  const defaults = valuesOf(model.defaults);
  const checked = defaultsSchema.safeParse(defaults);
  if (!checked.success) return checked.error.issues.map((i) => ({ ...i, path: ['defaults', ...i.path] }));
  const root = {
    ...(model.alarms && !model.alarms.off ? { alarms: valuesOf(model.alarms) } : {}),
    log: valuesOf(model.log),
    apps: model.apps.map((app) => ({ ...defaults, ...valuesOf(app), name: app.name })),
  };
  const parsed = rootSchema.safeParse(root);
  return parsed.success ? [] : parsed.error.issues;
}

/** Switch off what one issue is about; false when nothing could be. */
function settle(model: Model, issue: Issue): boolean {
  const [head, second, third] = issue.path;
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
  if (head === 'defaults') return switchOff(model, model.defaults, keys ?? [second], issue.message);
  if (head === 'log') return switchOff(model, model.log, keys ?? [second], issue.message) || blockOff(model, 'log', model.log, issue);
  if (head === 'alarms' && model.alarms) {
    // Without its own server or database the block would read another (our default) one: off whole.
    if (typeof second === 'string' && WHERE_KEYS.has(second)) return blockOff(model, 'alarms', model.alarms, issue);
    return switchOff(model, model.alarms, keys ?? [second], issue.message) || blockOff(model, 'alarms', model.alarms, issue);
  }
  if (head === 'apps' && typeof second === 'number') {
    const app = model.apps[second];
    if (!app) return false;
    // restart_strategy process without a process: block (ini-map.ts avoids it; this is the net).
    const about = third === 'process' ? ['restart_strategy'] : (keys ?? [third]);
    return switchOff(model, app, about, issue.message) || switchOff(model, model.defaults, about, issue.message);
  }
  return false;
}

function switchOff(model: Model, block: Block, keys: readonly (PropertyKey | undefined)[], message: string): boolean {
  let done = false;
  for (const key of keys) {
    const f = typeof key === 'string' ? fieldOf(block, key) : undefined;
    if (!f) continue;
    f.off = message;
    model.warnings.push(`${f.origin}: ${f.key}: ${message}; left out (commented)`);
    done = true;
  }
  return done;
}

function blockOff(model: Model, name: string, block: Block, issue: Issue): boolean {
  if (block.off) return false;
  const where = issue.path.length > 1 ? `${issue.path.slice(1).join('.')}: ` : '';
  block.off = `${where}${issue.message}`;
  model.warnings.push(`${model.file}: the ${name}: block would not load (${block.off}); written commented out`);
  return true;
}
