// The Prometheus and Grafana examples (examples/prometheus, examples/grafana) against the real
// monitor: promtool accepts the scrape config, its commented token variant once uncommented, and
// the alert rules, and the rules' unit tests pass; every query of the dashboard parses as PromQL;
// every helpdesk_monitor_* name the rules and the dashboard use is in a live scrape of `run` after
// a forced remedy that killed a port squatter; and a real Prometheus, given the token variant,
// scrapes that monitor, evaluates the rules without error and answers every dashboard query.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { ROOT, createSandbox, exampleApp, injectFault, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { PidLedger, holdersOf } from '../helpers/holders.js';
import { configIn, freshDir, sandboxCliEnv, startHealthy } from '../helpers/operator.js';

const APP_PORT = 48580;
const HTTP_PORT = 48581;
const PROM_PORT = 48582;
const TOKEN = 'examples-token-0123456789abcdef';
const APP = 'ex-backend';
const T = { timeout: 180_000 };

const PROM_DIR = join(ROOT, 'examples', 'prometheus');
const SCRAPE_CONFIG = join(PROM_DIR, 'prometheus.yml');
const ALERTS = join(PROM_DIR, 'alerts.yml');
const ALERT_TESTS = join(PROM_DIR, 'alerts.test.yml');
const DASHBOARD = join(ROOT, 'examples', 'grafana', 'helpdesk-monitor.json');
const DS = '${DS_PROMETHEUS}';

let sb: Sandbox;
let run: RunningCli | undefined;
let prometheus: ChildProcess | undefined;
const ledger = new PidLedger();
/** The live scrape after the forced remedy (set by the test that forces it). */
let scrape: string | undefined;

before(async () => {
  sb = await createSandbox('examples');
  await startHealthy(sb, APP, APP_PORT, exampleApp(APP, APP_PORT));
  const config = configIn(sb.home, {
    http: { port: HTTP_PORT, token_env: 'HDM_EXAMPLES_TOKEN' },
    apps: [{
      name: APP, health: { url: `http://127.0.0.1:${APP_PORT}/health`, interval: '1s', timeout: '500ms', failure_threshold: 2 },
      startup_grace: '2s', ports: [APP_PORT], verify_timeout: '15s',
    }],
  });
  run = startCli(['run', '--config', config], sandboxCliEnv(sb, { HDM_EXAMPLES_TOKEN: TOKEN }), ledger);
  await run.waitForLine(new RegExp(`status server on http://127\\.0\\.0\\.1:${HTTP_PORT}`), 60_000);
});
after(async () => {
  if (prometheus && prometheus.exitCode === null) prometheus.kill('SIGTERM');
  if (run && run.child.exitCode === null) run.child.kill('SIGTERM');
  await run?.exited;
  // The example app's squatter (a detached child holding the port), if the monitor did not end it.
  for (const h of holdersOf(APP_PORT)) if (h.command.includes('--squatter')) ledger.add(h.pid);
  ledger.killAll();
  await sb?.teardown();
});

function promtool(args: readonly string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` };
}

async function metrics(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${HTTP_PORT}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of the first series of `name` whose labels include `labels` (undefined when none). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const got = Object.fromEntries([...line.slice(name.length + 1, line.indexOf('}')).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** Names of the series that have a sample in an exposition text (a histogram's _bucket, _sum, _count). */
function seriesNames(text: string): Set<string> {
  return new Set(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)?.[0] ?? ''));
}

interface Dashboard {
  readonly panels: readonly { id: number; title: string; datasource?: { uid?: string }; gridPos: { x: number; y: number; w: number; h: number }; targets?: { expr: string; datasource?: { uid?: string } }[] }[];
  readonly templating: { list: { name: string; type: string; query: unknown; datasource?: { uid?: string } }[] };
}

const dashboard = (): Dashboard => JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;

/** Every PromQL query of the dashboard: the panels' targets and the query variables (label_values(...) taken apart). */
function dashboardQueries(): { where: string; expr: string }[] {
  const d = dashboard();
  const panels = d.panels.flatMap((p) => (p.targets ?? []).map((t, i) => ({ where: `panel "${p.title}" target ${i}`, expr: t.expr })));
  const vars = d.templating.list.filter((v) => v.type === 'query').map((v) => {
    const q = typeof v.query === 'string' ? v.query : (v.query as { query: string }).query;
    const m = /^label_values\((.+), *(\w+)\)$/.exec(q);
    assert.ok(m, `variable ${v.name}: expected label_values(SELECTOR, LABEL), got ${q}`);
    return { where: `variable ${v.name}`, expr: m[1]! };
  });
  return [...panels, ...vars];
}

/** A dashboard query as Prometheus sees it: Grafana's variables replaced by what they stand for. */
function asPromql(expr: string): string {
  const out = expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__range', '1h')
    .replaceAll('$instance', '.*')
    .replaceAll('$app', '.*');
  assert.ok(!out.includes('$'), `a variable the test does not know in ${expr}`);
  return out;
}

function alertExprs(): { alert: string; expr: string }[] {
  const doc = YAML.parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

/** The scrape config with its commented token lines uncommented (exactly those three). */
function tokenVariant(): string {
  const text = readFileSync(SCRAPE_CONFIG, 'utf8');
  let n = 0;
  const out = text.replace(/^( *)# ( *(?:authorization:|type: Bearer|credentials_file: .*))$/gm, (_m, indent: string, rest: string) => {
    n++;
    return indent + rest;
  });
  assert.equal(n, 3, 'the commented authorization block (authorization:, type: Bearer, credentials_file:)');
  return out;
}

test('promtool: the scrape config and the rules check; the rules\' unit tests pass', T, () => {
  for (const args of [['check', 'config', SCRAPE_CONFIG], ['check', 'rules', ALERTS], ['test', 'rules', ALERT_TESTS]]) {
    const r = promtool(args);
    assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.output}`);
    assert.match(r.output, /SUCCESS/);
  }
  assert.match(promtool(['check', 'config', SCRAPE_CONFIG]).output, /1 rule files found/);
  const alerts = alertExprs().map((r) => r.alert).sort();
  assert.deepEqual(alerts, ['HelpdeskAppCircuitOpen', 'HelpdeskAppRemediedTooOften', 'HelpdeskAppUnhealthy', 'HelpdeskMonitorDown']);
  // Every alert has a case in the unit tests.
  const tested = new Set([...readFileSync(ALERT_TESTS, 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
  assert.deepEqual(alerts.filter((a) => !tested.has(a)), []);
});

test('the token variant of the scrape config, uncommented, checks too', T, () => {
  const dir = freshDir(sb.home, 'prom-token');
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  copyFileSync(ALERTS, join(dir, 'alerts.yml'));
  const doc = YAML.parse(tokenVariant()) as { scrape_configs: { authorization: { type: string; credentials_file: string } }[] };
  assert.equal(doc.scrape_configs[0]!.authorization.type, 'Bearer');
  doc.scrape_configs[0]!.authorization.credentials_file = tokenFile;
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, YAML.stringify(doc));
  const r = promtool(['check', 'config', file]);
  assert.equal(r.status, 0, r.output);
});

test('the dashboard: JSON, the datasource variable on every panel and query, a grid that fits, PromQL that parses', T, () => {
  const d = dashboard();
  const ds = d.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
  assert.equal(ds?.type, 'datasource');
  assert.equal(ds?.query, 'prometheus');
  const ids = d.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of d.panels) {
    assert.equal(p.datasource?.uid, DS, `panel "${p.title}"`);
    assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" has a query`);
    for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, DS, `panel "${p.title}"`);
    assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `panel "${p.title}" fits the 24 columns`);
  }
  for (const v of d.templating.list.filter((x) => x.type === 'query')) assert.equal(v.datasource?.uid, DS, `variable ${v.name}`);
  // No two panels on the same cell.
  const cells = new Set<string>();
  for (const p of d.panels) {
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `panel "${p.title}" overlaps another at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
  }
  // promtool parses each query as a recording rule's expression.
  const queries = dashboardQueries();
  const file = join(freshDir(sb.home, 'dash-rules'), 'dashboard-queries.yml');
  writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: asPromql(q.expr) })) }] }));
  const r = promtool(['check', 'rules', file]);
  assert.equal(r.status, 0, `${r.output}\n${queries.map((q, i) => `query_${i}: ${q.where}`).join('\n')}`);
});

test('every helpdesk_monitor_* name in the rules and the dashboard is in a live scrape after a remedy that killed a squatter', T, async () => {
  await waitFor('the app healthy in the scrape', async () => sample(await metrics(), 'helpdesk_monitor_app_healthy', { app: APP }) === 1, 30_000);
  // The example app hands its socket to a detached child and exits: a crash with a port squatter.
  await injectFault(APP_PORT, 'squat');
  scrape = await waitFor('remedies_total and port_kills_total after the remedy', async () => {
    const text = await metrics();
    const healed = sample(text, 'helpdesk_monitor_remedies_total', { app: APP, result: 'healed' }) ?? 0;
    const killed = sample(text, 'helpdesk_monitor_port_kills_total', { app: APP, outcome: 'killed' }) ?? 0;
    return healed >= 1 && killed >= 1 && sample(text, 'helpdesk_monitor_app_healthy', { app: APP }) === 1 ? text : undefined;
  }, 60_000, 250);
  const live = seriesNames(scrape);
  const used = new Map<string, string>();
  for (const r of alertExprs()) for (const m of r.expr.matchAll(/helpdesk_monitor_[a-z0-9_]+/g)) used.set(m[0], `alert ${r.alert}`);
  for (const q of dashboardQueries()) for (const m of q.expr.matchAll(/helpdesk_monitor_[a-z0-9_]+/g)) used.set(m[0], `dashboard ${q.where}`);
  // The examples use the metrics the task names (not a test that passes on an empty list).
  for (const name of ['helpdesk_monitor_app_healthy', 'helpdesk_monitor_circuit_state', 'helpdesk_monitor_remedies_total', 'helpdesk_monitor_time_to_healthy_seconds_bucket',
    'helpdesk_monitor_probe_duration_seconds_bucket', 'helpdesk_monitor_port_kills_total', 'helpdesk_monitor_process_resident_memory_bytes']) {
    assert.ok(used.has(name), `the examples use ${name}`);
  }
  const missing = [...used].filter(([name]) => !live.has(name)).map(([name, where]) => `${name} (${where})`);
  assert.deepEqual(missing, [], `names the examples use that the live scrape does not have:\n${missing.join('\n')}`);
});

interface PromAnswer { status: string; data: { resultType?: string; result?: { metric: Record<string, string>; value: [number, string] }[]; groups?: { rules: { name: string; health: string; lastError?: string }[] }[] }; error?: string }

async function prom(path: string): Promise<PromAnswer> {
  const res = await fetch(`http://127.0.0.1:${PROM_PORT}${path}`, { signal: AbortSignal.timeout(10_000) });
  return (await res.json()) as PromAnswer;
}

test('a real Prometheus with the token variant scrapes the monitor, evaluates the rules and answers every dashboard query', T, async () => {
  assert.ok(scrape, 'runs after the remedy test');
  const dir = freshDir(sb.home, 'prometheus');
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  const doc = YAML.parse(tokenVariant()) as {
    global: Record<string, string>; rule_files: string[];
    scrape_configs: { scrape_interval: string; static_configs: { targets: string[] }[]; authorization: { credentials_file: string } }[];
  };
  doc.global = { scrape_interval: '1s', evaluation_interval: '1s' };
  doc.rule_files = [ALERTS];
  const job = doc.scrape_configs[0]!;
  job.scrape_interval = '1s';
  job.static_configs = [{ targets: [`127.0.0.1:${HTTP_PORT}`] }];
  job.authorization.credentials_file = tokenFile;
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, YAML.stringify(doc));
  let log = '';
  prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${PROM_PORT}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (prometheus.pid) ledger.add(prometheus.pid);
  prometheus.stderr?.setEncoding('utf8').on('data', (c: string) => (log += c));
  try {
    await waitFor('Prometheus scraped the monitor (up 1)', async () => {
      const up = await prom('/api/v1/query?query=up').catch(() => undefined);
      return up?.data.result?.some((r) => r.metric['job'] === 'helpdesk-monitor' && r.value[1] === '1');
    }, 60_000, 250);
    const healthy = await waitFor('app_healthy through Prometheus', async () => (await prom(`/api/v1/query?query=${encodeURIComponent('helpdesk_monitor_app_healthy')}`)).data.result?.find((r) => r.metric['app'] === APP), 20_000, 250);
    assert.equal(healthy.value[1], '1');
    const rules = await waitFor('every rule evaluated', async () => {
      const r = (await prom('/api/v1/rules')).data.groups?.flatMap((g) => g.rules) ?? [];
      return r.length > 0 && r.every((x) => x.health !== 'unknown') ? r : undefined;
    }, 30_000, 250);
    assert.deepEqual(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`), []);
    assert.equal(rules.length, alertExprs().length);
    for (const q of dashboardQueries()) {
      const a = await prom(`/api/v1/query?query=${encodeURIComponent(asPromql(q.expr))}`);
      assert.equal(a.status, 'success', `${q.where}: ${a.error ?? ''}`);
    }
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nprometheus log:\n${log}`, { cause: err });
  } finally {
    prometheus.kill('SIGTERM');
    await new Promise((r) => (prometheus!.exitCode !== null ? r(undefined) : prometheus!.once('exit', r)));
  }
});
