// The shape of src/: dependencies point one way (doors -> app -> engine -> strategies/probes/ports/
// pm2 -> leaves), with no import circle. Read from the sources themselves, type imports included:
// a circle of types is still a circle in the design.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SRC = join(ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** file (relative to src/, no extension) -> the src/ files it imports. */
function graph(): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  const spec = /(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const file of sources(SRC)) {
    const key = relative(SRC, file).replace(/\.ts$/, '');
    const deps = new Set<string>();
    for (const m of readFileSync(file, 'utf8').matchAll(spec)) {
      const target = m[1] ?? m[2];
      if (!target?.startsWith('.')) continue;
      deps.add(relative(SRC, resolve(dirname(file), target)).replace(/\.js$/, ''));
    }
    g.set(key, deps);
  }
  return g;
}

const folder = (key: string): string => (key.includes('/') ? key.slice(0, key.indexOf('/')) : key);

test('the graph is read from the sources (a sanity check of the reader)', () => {
  const g = graph();
  assert.ok(g.size > 50, `found only ${g.size} source files`);
  assert.ok(g.get('engine/worker')?.has('engine/decide'), 'engine/worker imports engine/decide');
});

test('no import circle in src/', () => {
  const g = graph();
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const visit = (node: string, path: string[]): void => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      circles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
      return;
    }
    state.set(node, 'open');
    for (const next of g.get(node) ?? []) if (g.has(next)) visit(next, [...path, node]);
    state.set(node, 'done');
  };
  for (const node of g.keys()) visit(node, []);
  assert.deepEqual(circles, []);
});

/** Folders a folder must never import from. */
const FORBIDDEN: Readonly<Record<string, readonly string[]>> = {
  strategies: ['engine', 'app', 'cli', 'watch', 'lock'],
  engine: ['app', 'cli', 'lock', 'watch', 'state', 'alarms', 'update', 'git'],
  // The update asks the engine only through the files it writes (update/hold.ts) and its proof of health.
  update: ['app', 'cli', 'watch', 'state', 'alarms', 'strategies', 'ports'],
  // git is a leaf: it runs git and answers.
  git: ['engine', 'app', 'cli', 'update', 'lock', 'pm2', 'strategies', 'ports', 'alarms'],
  // The alarm table trigger asks the engine; it never restarts, kills or writes files itself.
  alarms: ['app', 'cli', 'lock', 'watch', 'state', 'strategies', 'ports', 'pm2'],
  state: ['app', 'cli', 'watch', 'lock'],
  probes: ['engine', 'app', 'cli', 'strategies'],
  ports: ['engine', 'app', 'cli', 'strategies'],
  pm2: ['engine', 'app', 'cli', 'strategies'],
  proc: ['engine', 'app', 'cli', 'strategies', 'ports', 'pm2'],
  steps: ['engine', 'app', 'cli', 'strategies'],
  app: ['cli'],
  // The status server renders and answers from what it is handed (engine records and times only); it never acts or asks PM2.
  web: ['app', 'cli', 'pm2', 'ports', 'strategies', 'update', 'alarms', 'state', 'lock'],
  // Metrics read views and incidents: no PM2, no files, no doors.
  metrics: ['app', 'cli', 'web', 'pm2', 'ports', 'strategies', 'state', 'lock', 'update'],
  // The status document is pure: rows from what others observed.
  status: ['app', 'cli', 'web', 'metrics', 'pm2', 'ports', 'strategies', 'lock'],
  net: ['app', 'cli', 'engine', 'web', 'update', 'pm2'],
  // The schedule takeover acts on PM2 through the adapter only; it never restarts by strategy, kills or asks the engine.
  schedules: ['app', 'cli', 'web', 'metrics', 'engine', 'strategies', 'ports', 'state', 'lock', 'alarms', 'update', 'git', 'watch'],
  // The daemon watchdog looks at /proc, the dump and PM2's socket; it knows no engine or door.
  supervisor: ['app', 'cli', 'engine', 'watch', 'strategies', 'alarms', 'update', 'web', 'metrics', 'status'],
};

test('dependencies point one way: strategies never import the engine, the engine never the doors, the lock or files', () => {
  const bad: string[] = [];
  for (const [file, deps] of graph()) {
    const banned = FORBIDDEN[folder(file)] ?? [];
    for (const d of deps) if (banned.includes(folder(d))) bad.push(`${file} imports ${d}`);
  }
  assert.deepEqual(bad, []);
});

test('the engine reads and writes no files of its own (state, control and config belong to src/app)', () => {
  const offenders = sources(join(SRC, 'engine')).filter((f) => /from ['"](node:)?fs(\/promises)?['"]/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(offenders.map((f) => relative(SRC, f)), []);
});
