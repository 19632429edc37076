// The packed package installs as a PM2 module (`pm2 install <abs tgz>`), takes its config from
// `pm2 set helpdesk-monitor:config`, remedies a hung app, and uninstalls cleanly.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { ROOT, createSandbox, exampleApp, httpStatus, waitFor, type Sandbox, moduleLogOf } from '../helpers/sandbox.js';
import { runCli } from '../helpers/cli.js';
import { sandboxCliEnv } from '../helpers/operator.js';

const PORT = 47300;
const HEALTH = `http://127.0.0.1:${PORT}/health`;
let sb: Sandbox;

before(async () => {
  sb = await createSandbox('module');
});
after(async () => {
  await sb.teardown();
});

const moduleLog = (): string => moduleLogOf(sb);

test('pm2 install of the packed tarball runs the module, which remedies a hung app', { timeout: 240_000 }, async () => {
  const packDir = join(sb.home, 'tmp');
  // The suite has just built dist/; skip prepack's rebuild.
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], { cwd: ROOT, encoding: 'utf8', env: sb.env });
  const tgz = join(packDir, out.trim().split('\n').at(-1)!);
  sb.pm2Cli(['install', tgz]);
  const mod = await waitFor('module online', async () => (await sb.list()).find((p) => p.name === 'helpdesk-monitor' && p.isModule && p.status === 'online'));
  assert.ok(mod.pid > 0);
  // package.json `apps` options reach the module: a small young generation keeps RSS down. Read
  // from PM2's own record, not /proc/<pid>/cmdline: PM2's fork container sets process.title, which
  // overwrites the argv area (flags included) at a moment that races with 'online'.
  const described = JSON.parse(sb.pm2Cli(['jlist'])) as { name: string; pm2_env: { node_args?: string[] | string } }[];
  const nodeArgs = described.find((p) => p.name === 'helpdesk-monitor')?.pm2_env.node_args;
  assert.ok([nodeArgs].flat().includes('--max-semi-space-size=2'), `node_args: ${JSON.stringify(nodeArgs)}`);
  await waitFor('hint about the missing config', () => moduleLog().includes('pm2 set helpdesk-monitor:config'));

  await sb.start(exampleApp('hd', PORT));
  const app = await waitFor('app healthy', async () => ((await httpStatus(HEALTH)) === 200 ? sb.info('hd') : undefined));
  const configFile = join(sb.home, 'monitor.yaml');
  writeFileSync(configFile, YAML.stringify({
    apps: [{ name: 'hd', health: { url: HEALTH, interval: '1s', timeout: '500ms', failure_threshold: 2 }, startup_grace: 0, ports: [PORT] }],
  }));
  sb.pm2Cli(['set', 'helpdesk-monitor:config', configFile]);
  await waitFor('module watching the app', () => /watching 1 app\(s\): hd/.test(moduleLog()), 30_000);
  await waitFor('module sees hd healthy', () => /\[hd\] \w+ -> healthy/.test(moduleLog()), 30_000);
  // A check is kept out while the module runs, and names it by role, not by PM2's container path.
  // (`pm2 set` restarted the module: its pid now is not the one above.)
  const held = await runCli(['check', '--config', configFile], sandboxCliEnv(sb), 60_000);
  const now = (await sb.list()).find((p) => p.name === 'helpdesk-monitor' && p.isModule);
  assert.equal(held.code, 3, held.stderr);
  assert.match(held.stderr, new RegExp(`holds the lock: the PM2 module \\(pid ${now?.pid}\\) on `), held.stderr);

  process.kill(app.pid, 'SIGSTOP');
  await waitFor('a new healthy instance', async () => {
    const now = await sb.info('hd');
    return now && now.pid !== app.pid && (await httpStatus(HEALTH)) === 200;
  }, 30_000);
  await waitFor('the remedy story in the module log', () => /\[hd\] remedy succeeded/.test(moduleLog()), 30_000);
  const modules = (await sb.list()).filter((p) => p.name === 'helpdesk-monitor');
  assert.equal(modules.length, 1, 'the module did not act on itself');

  sb.pm2Cli(['uninstall', 'helpdesk-monitor']);
  await waitFor('module gone', async () => !(await sb.list()).some((p) => p.name === 'helpdesk-monitor'), 30_000);
});
