// `helpdesk-monitor incidents` against a real rotated log: the monitor's own logger (winston,
// tiny log.max_size, log.gzip) writes a remedy's story and its incident record, then enough
// lines to push them into gzipped rotated files; the real CLI finds the story there, as JSON
// (valid against schemas/incidents.schema.json) and as the table. No PM2 is needed.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import YAML from 'yaml';
import type { Incident } from '../../src/engine/incident.js';
import { logIncident } from '../../src/engine/incident-record.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { readLogText } from '../../src/log/log-files.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { assertMatchesSchema } from '../helpers/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-incidents-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ID = '5f0c2a7e-1b2c-4d3e-8f40-123456789abc';
const env = cliEnv(process.env, { PM2_HOME: join(dir, 'pm2-home') });

const incident: Incident = {
  id: ID, app: 'api', startedAt: '2025-01-31T08:00:00.000Z', trigger: { kind: 'probe', text: 'probe failures 2/2 (health)' },
  reason: 'health timeout: no answer within 500 ms (2/2)', trial: false, hung: true,
  observation: { at: 0, pm2: { state: 'online', pids: [4242], pmIds: [0], restarts: 0, uptimeMs: 1000, detail: 'online' }, http: { ok: false, failure: 'timeout', latencyMs: 500, detail: 'no answer within 500 ms' }, crashes: 0, squatters: [] },
  report: {
    app: 'api', reason: 'health timeout', ok: true, skipped: false, attempts: 1, strategy: 'pm2', totalMs: 1412, timeToHealthyMs: 1412,
    steps: [{ step: 'restart through PM2', ok: true, ms: 200, detail: 'restarted (hung: killed at once)' }, { step: 'wait for online and http://127.0.0.1:5000/health', ok: true, ms: 1200, detail: 'healthy' }],
  },
  circuitAfter: 'closed', told: ['remedy_started', 'remedy_succeeded'],
};

function end(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.on('finish', resolve).end());
}

/** Write a story and its record, then filler until they sit in a gzipped rotated file. */
async function writeRotatedLog(format: 'json' | 'text', sub: string): Promise<string> {
  const file = join(dir, sub, 'monitor.log');
  const logger = createLogger({ level: 'info', format, file, console: 'none', maxSizeBytes: 2048, maxFiles: 20, gzip: true });
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 2));
  const filler = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      logger.info(`filler line ${i} ${'x'.repeat(60)}`);
      await pause(); // rotation happens between writes: give winston its turns
    }
  };
  await filler(10);
  const log = logger.child({ app: 'api' }).child({ incident_id: ID });
  log.info('healthy -> remedying: health timeout');
  log.warn('unhealthy: health timeout; starting remedy (trigger: probe failures 2/2 (health))', { hung: true });
  await filler(40); // the story's first lines rotate out before the record is written
  log.info('remedy succeeded: healthy again after 1412ms');
  logIncident(log, incident);
  await filler(120);
  await end(logger);
  await new Promise((r) => setTimeout(r, 200)); // the last gzip of a rotation
  return file;
}

describe('incidents reads a story from rotated, gzipped files', () => {
  for (const format of ['json', 'text'] as const) {
    test(`${format} lines: --json finds the record in a .gz file, with its story; the table shows it`, { timeout: 60_000 }, async () => {
      const file = await writeRotatedLog(format, format);
      const gz = readdirSync(join(dir, format)).filter((n) => n.endsWith('.gz'));
      assert.ok(gz.length >= 3, `rotated and gzipped: ${readdirSync(join(dir, format)).join(' ')}`);
      const config = join(dir, format, 'monitor.yaml');
      writeFileSync(config, YAML.stringify({ log: { file, format, gzip: true }, apps: [{ name: 'api' }] }));

      const out = await runCli(['incidents', '--json', '--config', config], env);
      assert.equal(out.code, 0, out.stderr);
      const doc = JSON.parse(out.stdout) as { log_file: string; files: { path: string; gzip: boolean }[]; incidents: { incident_id: string; file: string; story: { message: string }[]; incident: Record<string, unknown> }[] };
      assertMatchesSchema('incidents', doc);
      assert.equal(doc.log_file, file);
      assert.equal(doc.files.at(-1)?.path, file, 'the current file last');
      assert.ok(doc.files.slice(0, -1).every((f) => f.gzip && f.path.endsWith('.gz')));
      assert.equal(doc.incidents.length, 1);
      const [found] = doc.incidents;
      assert.equal(found!.incident_id, ID);
      assert.match(found!.file, /monitor\d+\.log\.gz$/, 'found in a rotated, gzipped file');
      assert.ok(readLogText(found!.file).gzip);
      assert.deepEqual(found!.story.map((s) => s.message), [
        'healthy -> remedying: health timeout',
        'unhealthy: health timeout; starting remedy (trigger: probe failures 2/2 (health))',
        'remedy succeeded: healthy again after 1412ms',
      ]);
      assert.equal(found!.incident['time_to_healthy_s'], 1.412);
      assert.equal(found!.incident['result'], 'healed');

      const table = await runCli(['incidents', '--file', file, '--app', 'api'], env);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^\S+Z {2}api {2}HEALED \(healthy in 1\.412 s\) {2}incident 5f0c2a7e\n/);
      assert.match(table.stdout, /trigger: probe failures 2\/2 \(health\)/);
      assert.match(table.stdout, /restart: pm2: restart through PM2/);

      const none = await runCli(['incidents', '--file', file, '--app', 'other', '--json'], env);
      assert.deepEqual((JSON.parse(none.stdout) as { incidents: unknown[] }).incidents, []);
      const later = await runCli(['incidents', '--file', file, '--since', '2999-01-01'], env);
      assert.equal(later.stdout, 'No incidents in the log.\n');
    });
  }

  test('no log file: exit 1 naming it; a bad --since or both --config and --file: exit 2', async () => {
    const missing = join(dir, 'nowhere', 'monitor.log');
    const r = await runCli(['incidents', '--file', missing], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no log file at .*nowhere\/monitor\.log/);
    const bad = await runCli(['incidents', '--file', missing, '--since', 'yesterday'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since yesterday: expected a duration/);
    const both = await runCli(['incidents', '--file', missing, '--config', missing], env);
    assert.equal(both.code, 2);
  });

  test('without a config, the default log under $PM2_HOME/helpdesk-monitor is read', async () => {
    const r = await runCli(['incidents', '--json'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`no log file at ${join(dir, 'pm2-home', 'helpdesk-monitor', 'monitor.log')}`));
  });
});
