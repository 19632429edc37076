/**
 * What architecture.test.ts (no circles, one-way layers) does not cover: only src/app/ builds a
 * running monitor (no door wires the log, the lock or PM2 itself), and what only some configs or
 * doors need is not loaded by the others. Static value imports only: `import type` and
 * `import()` load nothing at start.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from '../helpers/sandbox.js';

const SRC = join(ROOT, 'src');

/** What a source file loads when it is loaded: its value imports and re-exports (src files by path, packages by name). */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[\s\S]*?\s+from\s+)?'([^']+)';/gm)) {
    if (m[1]) continue;
    const spec = m[2]!;
    out.push(spec.startsWith('.') ? resolve(dirname(file), spec.replace(/\.js$/, '.ts')) : spec);
  }
  return out;
}

/** Everything loaded, transitively, when `entry` is (src paths relative to src/, packages by name). */
function loadedBy(entry: string): Set<string> {
  const seen = new Set<string>();
  const walk = (file: string): void => {
    for (const dep of staticImports(file)) {
      const key = dep.startsWith('/') ? relative(SRC, dep) : dep;
      if (seen.has(key)) continue;
      seen.add(key);
      if (dep.startsWith('/')) walk(dep);
    }
  };
  walk(join(SRC, entry));
  return seen;
}

describe('layers', () => {
  test('the import reader sees value imports, and not type imports', () => {
    const worker = loadedBy('engine/worker.ts');
    assert.ok(worker.has('engine/view.ts'), 'remedyEntry is a value import');
    assert.ok(!loadedBy('engine/view.ts').has('engine/decide.ts'), 'view.ts imports decide.ts for types only');
  });

  test('only the app root builds a monitor: no door wires winston, the lock or PM2 itself', () => {
    for (const f of ['watch/session.ts', 'cli/run.ts', 'cli/module.ts', 'cli/check.ts', 'cli/watch.ts']) {
      const direct = staticImports(join(SRC, f)).map((d) => (d.startsWith('/') ? relative(SRC, d) : d));
      for (const dep of ['winston', 'lock/lock.ts', 'pm2/load.ts', 'pm2/adapter.ts', 'log/logger.ts', 'engine/engine.ts']) {
        assert.ok(!direct.includes(dep), `${f} imports ${dep}`);
      }
    }
  });

  test('the notifier, yaml and the watch story are loaded only where needed', () => {
    for (const door of ['app/lifetime.ts', 'app/check.ts']) {
      const loaded = loadedBy(door);
      assert.ok(loaded.has('engine/engine.ts'), `${door} loads the engine`);
      for (const lazy of ['notify/notifier.ts', 'nodemailer', 'yaml', 'watch/story.ts', 'watch/session.ts', 'node-schedule', 'node:https']) assert.ok(!loaded.has(lazy), `${door} loads ${lazy} at start`);
    }
    // nodemailer only on the first email: a webhook-only notifier never loads it.
    assert.ok(loadedBy('notify/notifier.ts').has('notify/email.ts'), 'the reader follows the notifier to its email channel');
    assert.ok(!loadedBy('notify/notifier.ts').has('nodemailer'), 'the notifier loads nodemailer at start');
    // node-schedule (and luxon's Intl, ~10 MiB of RSS) only when the log shows the debug-level report.
    assert.ok(loadedBy('app/lifetime.ts').has('app/self-report.ts'), 'the reader follows the lifetime to its self-report');
  });

  test('@pm2/io is loaded by the module door only, once the monitor runs', () => {
    const files = sourceFiles(SRC);
    const naming = files.filter((f) => /['"]@pm2\/io['"/]/.test(readFileSync(f, 'utf8'))).map((f) => relative(SRC, f));
    assert.deepEqual(naming, ['app/pm2-io.ts'], 'one file loads @pm2/io');
    const importing = files.filter((f) => /import\(\s*'[./]*app\/pm2-io\.js'\s*\)/.test(readFileSync(f, 'utf8'))).map((f) => relative(SRC, f));
    assert.deepEqual(importing, ['cli/module.ts'], 'only the module door loads it, on demand');
    for (const entry of ['cli/index.ts', 'module.ts', 'app/lifetime.ts', 'app/check.ts', 'cli/run.ts']) {
      assert.ok(!loadedBy(entry).has('app/pm2-io.ts'), `${entry} loads app/pm2-io.ts at start`);
    }
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}
