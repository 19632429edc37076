// The installed PM2 module tells its whole story on one stream, in order: `pm2 logs
// helpdesk-monitor` prints PM2's err file, then its out file, so a line on stderr would be shown
// out of place. Every line of ours goes to the out file with its level in the line (an invalid
// config, a pause, an unhealthy app held by it, the resume, the remedy); the err file gets none.
// The module's first line names its command and how to put it on PATH, and that command runs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { runCli } from '../helpers/cli.js';
import { freshDir, sandboxCliEnv } from '../helpers/operator.js';
import { ROOT, createSandbox, exampleApp, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';

const PORT = 47340;
const HEALTH = `http://127.0.0.1:${PORT}/health`;
const APP = 'hdlog';
let sb: Sandbox;

before(async () => {
  sb = await createSandbox('module-log');
});
after(async () => {
  await sb.teardown();
});

const logFile = (which: 'out' | 'error'): string => join(sb.home, 'logs', `helpdesk-monitor-${which}.log`);
function read(which: 'out' | 'error'): string {
  try {
    return readFileSync(logFile(which), 'utf8');
  } catch {
    return '';
  }
}
const outLines = (): string[] => read('out').split('\n').filter(Boolean);
/** A line of ours: ISO time, then the level. */
const OURS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (error|warn |info |debug) /;
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The index of the first out line at or after `from` matching `re`, waiting for it. */
async function outLine(what: string, re: RegExp, from = 0, timeoutMs = 30_000): Promise<number> {
  return waitFor(
    () => `${what} (${re}) in the module's out log:\n${read('out')}\nerr log:\n${read('error')}`,
    () => {
      const i = outLines().findIndex((l, n) => n >= from && re.test(l));
      return i >= 0 ? i + 1 : undefined; // +1: a found index 0 must be truthy
    },
    timeoutMs,
    100,
  ).then((i) => i - 1);
}

test('under PM2 the module writes every line to stdout with its level, in order; its first line names its command', { timeout: 240_000 }, async () => {
  const packDir = join(sb.home, 'tmp');
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], { cwd: ROOT, encoding: 'utf8', env: sb.env });
  sb.pm2Cli(['install', join(packDir, out.trim().split('\n').at(-1)!)]);
  await waitFor('module online', async () => (await sb.list()).find((p) => p.name === 'helpdesk-monitor' && p.isModule && p.status === 'online'));

  // The first line: where the command is, and how to put it on PATH; that command works.
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  await outLine('the start line', /started; its command is/);
  const first = outLines()[0]!;
  const command = join(sb.home, 'modules', 'helpdesk-monitor', 'node_modules', '.bin', 'helpdesk-monitor');
  assert.match(first, OURS, first);
  assert.ok(
    first.includes(`info  helpdesk-monitor ${version} started; its command is ${command} (put it on PATH: sudo ln -sf ${command} /usr/local/bin/helpdesk-monitor)`),
    first,
  );
  assert.equal(execFileSync(command, ['--version'], { encoding: 'utf8', env: sb.env }).trim(), version);

  // An invalid config: said on stdout, one line per line of the error, each with level error.
  const configFile = join(freshDir(sb.home, 'cfg'), 'monitor.yaml');
  const stateDir = join(sb.home, 'state');
  writeFileSync(configFile, YAML.stringify({ apps: [{ name: APP, health: { url: HEALTH, interval: 'soon' } }] }));
  sb.pm2Cli(['set', 'helpdesk-monitor:config', configFile]);
  const bad = await outLine('the invalid config', /cannot start: invalid config/);
  assert.match(outLines()[bad]!, /^\S+ error cannot start: invalid config /);
  for (const l of outLines().slice(bad)) assert.match(l, OURS, `every line of the story has time and level:\n${read('out')}`);

  await sb.start(exampleApp(APP, PORT));
  const app = await waitFor('app healthy', async () => ((await httpStatus(HEALTH)) === 200 ? sb.info(APP) : undefined));
  writeFileSync(configFile, YAML.stringify({
    state_dir: stateDir,
    apps: [{ name: APP, health: { url: HEALTH, interval: '1s', timeout: '500ms', failure_threshold: 2 }, startup_grace: 0, ports: [PORT] }],
  }));
  const watching = await outLine('module watching the app', new RegExp(`watching 1 app\\(s\\): ${APP}`), bad);
  await outLine('app healthy', new RegExp(`\\[${APP}\\] \\w+ -> healthy`), watching);

  // Paused, the hung app is held unhealthy (an error line); resumed, it is remedied.
  const env = sandboxCliEnv(sb);
  const paused = await runCli(['pause', APP, '--config', configFile], env);
  assert.equal(paused.code, 0, paused.stderr);
  const pauseLine = await outLine('the pause', new RegExp(`\\[${esc(APP)}\\] paused by `), watching);
  process.kill(app.pid, 'SIGSTOP');
  const held = await outLine('held unhealthy', new RegExp(`^\\S+ error \\[${APP}\\] failing -> unhealthy: health timeout.*\\(2/2\\)`), pauseLine);
  const resumed = await runCli(['resume', APP, '--config', configFile], env);
  assert.equal(resumed.code, 0, resumed.stderr);
  const done = await outLine('the remedy succeeded', new RegExp(`\\[${APP}\\] remedy succeeded`), held);
  await waitFor('a new healthy instance', async () => {
    const now = await sb.info(APP);
    return now && now.pid !== app.pid && (await httpStatus(HEALTH)) === 200;
  }, 30_000);

  // The whole story in order, each line with its level.
  const story = outLines().slice(pauseLine, done + 1).filter((l) => l.includes(`[${APP}] `));
  const expected: [string, RegExp][] = [
    ['warn ', /paused by \S+ \(uid \d+, pid \d+\) with no end/],
    ['warn ', /healthy -> failing: health timeout.*\(1\/2\)/],
    ['error', /failing -> unhealthy: health timeout.*\(2\/2\)/],
    ['info ', /pause ended: resumed by \S+ \(uid \d+, pid \d+\)/],
    ['warn ', /unhealthy: health timeout.*; starting remedy \(trigger: probe failures \d+\/2 \(health\)\)/],
    ['info ', /remedy succeeded/],
  ];
  let at = 0;
  for (const [level, re] of expected) {
    const i = story.findIndex((l, n) => n >= at && re.test(l));
    assert.ok(i >= 0, `${re} after line ${at} of the story:\n${story.join('\n')}`);
    assert.ok(story[i]!.includes(` ${level} [${APP}] `), `level ${level.trim()}: ${story[i]}`);
    at = i + 1;
  }
  for (const l of story) assert.match(l, OURS, l);

  // Nothing of ours in PM2's err file for the module.
  const errOurs = read('error').split('\n').filter((l) => OURS.test(l) || l.includes('helpdesk-monitor') || l.includes(`[${APP}]`));
  assert.deepEqual(errOurs, [], `the err file:\n${read('error')}`);

  sb.pm2Cli(['uninstall', 'helpdesk-monitor']);
  await waitFor('module gone', async () => !(await sb.list()).some((p) => p.name === 'helpdesk-monitor'), 30_000);
});
