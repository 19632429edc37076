// The installed module (`pm2 install` of the packed tarball) under PM2's own commands: `pm2 show
// helpdesk-monitor` lists its metrics and actions (and none of PM2's default ones: the preload is
// off), and `pm2 trigger helpdesk-monitor <action>` gets one JSON reply, errors included, well
// within 5 s: check-now, status, reset-circuit of an unknown app, pause and resume.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { METRIC_NAMES } from '../../src/app/pm2-io.js';
import { PM2_BIN, ROOT, createSandbox, exampleApp, httpStatus, waitFor, type Sandbox, moduleLogOf } from '../helpers/sandbox.js';

const PORT = 48560;
const HEALTH = `http://127.0.0.1:${PORT}/health`;
const ACTIONS = ['check-now', 'status', 'reset-circuit', 'pause', 'resume', 'reload-config'];
let sb: Sandbox;

before(async () => {
  sb = await createSandbox('module-actions');
});
after(async () => {
  await sb.teardown();
});

const moduleLog = (): string => moduleLogOf(sb);

interface Triggered {
  /** The module's reply (`[helpdesk-monitor:<id>:<namespace>]=<json>`, the line PM2 prints). */
  readonly reply: { ok: boolean; error?: string; [key: string]: unknown };
  readonly ms: number;
  readonly stdout: string;
}

/** `pm2 trigger helpdesk-monitor ...args`, timed; a trigger that hangs fails at 15 s, not never. */
function trigger(...args: string[]): Promise<Triggered> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [PM2_BIN, 'trigger', 'helpdesk-monitor', ...args], { env: sb.env, encoding: 'utf8', timeout: 15_000 }, (err, stdout, stderr) => {
      const ms = performance.now() - started;
      if (err) return reject(new Error(`pm2 trigger ${args.join(' ')} failed after ${Math.round(ms)} ms: ${err.message}\n${stdout}\n${stderr}`));
      const line = /^\[helpdesk-monitor:\d+:[^\]]*\]=(.*)$/m.exec(stdout);
      if (!line) return reject(new Error(`no reply line in:\n${stdout}`));
      resolve({ reply: JSON.parse(line[1]!) as Triggered['reply'], ms, stdout });
    });
  });
}

test('pm2 show lists the metrics and actions; pm2 trigger replies JSON within 5 s, errors included', { timeout: 240_000 }, async (t) => {
  const packDir = join(sb.home, 'tmp');
  // The suite has just built dist/; skip prepack's rebuild.
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], { cwd: ROOT, encoding: 'utf8', env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
  sb.pm2Cli(['install', join(packDir, out.trim().split('\n').at(-1)!)]);
  const mod = await waitFor('module online', async () => (await sb.list()).find((p) => p.name === 'helpdesk-monitor' && p.isModule && p.status === 'online'));
  await sb.start(exampleApp('hd', PORT));
  await waitFor('app healthy', async () => (await httpStatus(HEALTH)) === 200);
  const configFile = join(sb.home, 'monitor.yaml');
  writeFileSync(configFile, YAML.stringify({
    apps: [{ name: 'hd', health: { url: HEALTH, interval: '1s', timeout: '500ms', failure_threshold: 2 }, startup_grace: 0, ports: [PORT] }],
  }));
  sb.pm2Cli(['set', 'helpdesk-monitor:config', configFile]);
  await waitFor('the restarted module', async () => (await sb.list()).find((p) => p.name === 'helpdesk-monitor' && p.status === 'online' && p.pid !== mod.pid));
  await waitFor('module sees hd healthy', () => /\[hd\] \w+ -> healthy/.test(moduleLog()), 30_000);

  // pm2 show: our five metrics (values arrive within a second or two) and our five actions.
  const show = await waitFor('metrics in pm2 show', () => {
    const text = sb.pm2Cli(['show', 'helpdesk-monitor']);
    return METRIC_NAMES.every((m) => text.includes(m)) && /Probe p95 \(ms\)\s*│\s*\d+/.test(text) ? text : undefined;
  }, 20_000, 500);
  assert.match(show, /Apps watched\s*│\s*1 /);
  assert.match(show, /Unhealthy apps\s*│\s*0 /);
  assert.match(show, /Open circuits\s*│\s*0 /);
  assert.match(show, /Remedies\s*│\s*0 /);
  for (const a of ACTIONS) assert.match(show, new RegExp(`│ ${a}\\s`), `action ${a} listed`);
  // `apps.pmx: false`: PM2 preloads nothing into the module, so none of its default metrics show.
  assert.doesNotMatch(show, /Heap Size|Event Loop Latency/);

  const all = await trigger('check-now');
  assert.ok(all.ms < 5000, `check-now replied in ${Math.round(all.ms)} ms`);
  assert.deepEqual(all.reply, { ok: true, healthy: true, apps: [{ name: 'hd', healthy: true, phase: 'healthy' }] });
  const one = await trigger('check-now', 'hd');
  assert.ok(one.ms < 5000, `check-now hd replied in ${Math.round(one.ms)} ms`);
  assert.equal(one.reply.ok, true);

  const unknown = await trigger('reset-circuit', 'nosuchapp');
  assert.ok(unknown.ms < 5000);
  t.diagnostic(`pm2 trigger round trips (the pm2 CLI's start included): check-now ${Math.round(all.ms)} ms, check-now hd ${Math.round(one.ms)} ms, reset-circuit nosuchapp ${Math.round(unknown.ms)} ms`);
  assert.deepEqual(unknown.reply, { ok: false, error: 'unknown app "nosuchapp" (watched: hd)' });
  assert.equal((await trigger('reset-circuit', 'hd')).reply.ok, true);

  // PM2 passes one parameter: unquoted, `5m` never arrives, and the pause is refused rather than
  // made endless.
  const unquoted = await trigger('pause', 'hd', '5m');
  assert.equal(unquoted.reply.ok, false);
  assert.match(unquoted.reply.error!, /usage: pm2 trigger helpdesk-monitor pause "APP DURATION"/);
  assert.match((await trigger('pause', 'hd 5x')).reply.error!, /^DURATION: expected a duration like 30m/);

  const before = Date.now();
  const paused = await trigger('pause', 'hd 5m');
  assert.equal(paused.reply.ok, true, paused.stdout);
  const until = Date.parse(String(paused.reply['paused_until']));
  assert.ok(until >= before + 5 * 60_000 - 1000 && until <= Date.now() + 5 * 60_000 + 1000, `paused until ${String(paused.reply['paused_until'])}`);
  // Applied at once by the module (not within the watcher's second), with who asked.
  const status = (await trigger('status')).reply as unknown as { ok: boolean; status: { apps: { name: string; monitor?: { paused_until?: string } }[] } };
  assert.equal(status.ok, true);
  assert.equal(status.status.apps[0]?.name, 'hd');
  assert.equal(status.status.apps[0]?.monitor?.paused_until, new Date(until).toISOString());
  const control = JSON.parse(readFileSync(join(sb.home, 'helpdesk-monitor', 'control.json'), 'utf8')) as { apps: Record<string, { paused_by?: { via?: string } }> };
  assert.equal(control.apps['hd']?.paused_by?.via, 'pm2 trigger');
  await waitFor('the pause in the module log', () => /\[hd\] paused by .*via pm2 trigger.* until /.test(moduleLog()), 10_000);

  assert.equal((await trigger('resume', 'hd')).reply.ok, true);
  const resumed = (await trigger('status')).reply as unknown as { status: { apps: { monitor?: { paused_until?: string } }[] } };
  assert.equal(resumed.status.apps[0]?.monitor?.paused_until, undefined);

  // reload-config does what SIGHUP does, and says what came of it: a bad file is refused with
  // its key path and the last good config keeps working; a good one is applied.
  writeFileSync(configFile, YAML.stringify({ apps: [{ name: 'hd', health: { url: HEALTH, interval: 'soon' }, ports: [PORT] }] }));
  const bad = await trigger('reload-config');
  assert.equal(bad.reply.ok, false, bad.stdout);
  assert.match(bad.reply.error!, /keeping the last good config: [^]*apps\[0\]\.health\.interval: expected a duration/);
  assert.equal((await trigger('check-now', 'hd')).reply.ok, true, 'the last good config still watches hd');
  writeFileSync(configFile, YAML.stringify({ apps: [{ name: 'hd', health: { url: HEALTH, interval: '2s', timeout: '500ms', failure_threshold: 2 }, startup_grace: 0, ports: [PORT] }] }));
  const good = await trigger('reload-config');
  assert.deepEqual(good.reply.ok, true, good.stdout);
  assert.match(String(good.reply['message']), /^config (reloaded from .*: 1 app\(s\): hd|.* unchanged)$/);

  sb.pm2Cli(['uninstall', 'helpdesk-monitor']);
  await waitFor('module gone', async () => !(await sb.list()).some((p) => p.name === 'helpdesk-monitor'), 30_000);
});
