/** Reading incidents back from the log: lines of both formats, rotated and gzipped files, stories. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, test } from 'node:test';
import { Collector, scanIncidents } from '../../../src/log/incidents.js';
import { logFiles, readLogText } from '../../../src/log/log-files.js';
import { parseLogLine } from '../../../src/log/parse-line.js';
import { schemaPath } from '../../helpers/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-incidents-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
const fresh = (): string => {
  const d = join(dir, `d${++seq}`);
  mkdirSync(d);
  return d;
};

const ID_A = '11111111-2222-4333-8444-555555555555';
const ID_B = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const record = (result: string): Record<string, unknown> => ({ result, reason: 'health: timeout', time_to_healthy_s: result === 'healed' ? 1.5 : null });

const jsonLine = (time: string, message: string, extra: Record<string, unknown> = {}): string => JSON.stringify({ schema: 'helpdesk-monitor/log@1', time, level: 'info', message, ...extra });

describe('parseLogLine', () => {
  test('a JSON line: the known fields; `timestamp` of lines from before the schema is read as the time', () => {
    assert.deepEqual(parseLogLine(jsonLine('2025-01-01T00:00:00.000Z', 'm', { app: 'api', incident_id: ID_A, other: 1 })), {
      time: '2025-01-01T00:00:00.000Z', level: 'info', message: 'm', app: 'api', incident_id: ID_A,
    });
    assert.deepEqual(parseLogLine('{"level":"warn","message":"old","timestamp":"2024-01-01T00:00:00.000Z"}'), { time: '2024-01-01T00:00:00.000Z', level: 'warn', message: 'old' });
  });
  test('a text line: time, level, app, the message without the remedy\'s fields, incident_id, event and the record', () => {
    const line = `2025-01-01T00:00:01.000Z warn  [api] unhealthy: health: timeout; starting remedy (trigger: probe failures 2/2 (health)) incident_id=${ID_A} hung=true strategy=pm2`;
    assert.deepEqual(parseLogLine(line), {
      time: '2025-01-01T00:00:01.000Z', level: 'warn', app: 'api', incident_id: ID_A,
      message: 'unhealthy: health: timeout; starting remedy (trigger: probe failures 2/2 (health))',
    });
    const rec = `2025-01-01T00:00:02.000Z info  [api] incident healed in 1.5 s (x) incident_id=${ID_A} event=incident incident=${JSON.stringify({ ...record('healed'), note: 'a "quoted" incident={ inside' })}`;
    const parsed = parseLogLine(rec);
    assert.equal(parsed?.event, 'incident');
    assert.equal(parsed?.message, 'incident healed in 1.5 s (x)');
    assert.deepEqual(parsed?.incident, { ...record('healed'), note: 'a "quoted" incident={ inside' });
    assert.deepEqual(parseLogLine('2025-01-01T00:00:03.000Z info  watching 1 app(s): api'), { time: '2025-01-01T00:00:03.000Z', level: 'info', message: 'watching 1 app(s): api' });
  });
  test('anything else is not a log line', () => {
    for (const s of ['', 'garbage', '{"level":"info"}', '{not json', '[1,2]', '2025-01-01 info x', `{"time":"t","level":"info","message":3}`]) assert.equal(parseLogLine(s), undefined, s);
  });
});

describe('logFiles and readLogText', () => {
  test('the current file last, rotated ones oldest first, gzipped or not; other files ignored', () => {
    const d = fresh();
    for (const n of ['monitor.log', 'monitor1.log', 'monitor2.log.gz', 'monitor3.log.gz', 'monitor2.log', 'other.log', 'monitor.log.bak', 'monitorX.log']) writeFileSync(join(d, n), '');
    assert.deepEqual(logFiles(join(d, 'monitor.log')).map((f) => basename(f.path)), ['monitor3.log.gz', 'monitor2.log.gz', 'monitor2.log', 'monitor1.log', 'monitor.log']);
    assert.deepEqual(logFiles(join(d, 'missing-dir', 'x.log')), []);
  });
  test('a file without an extension rotates as name1, name2', () => {
    const d = fresh();
    for (const n of ['hdm', 'hdm1', 'hdm2.gz']) writeFileSync(join(d, n), '');
    assert.deepEqual(logFiles(join(d, 'hdm')).map((f) => basename(f.path)), ['hdm2.gz', 'hdm1', 'hdm']);
  });
  test('gzip is told by its first bytes; a gzip cut short gives what it has', () => {
    const d = fresh();
    const text = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`).join('\n');
    writeFileSync(join(d, 'a.log'), gzipSync(text));
    assert.deepEqual(readLogText(join(d, 'a.log')), { text, gzip: true });
    const whole = gzipSync(text);
    writeFileSync(join(d, 'b.log.gz'), whole.subarray(0, Math.floor(whole.length / 2)));
    const cut = readLogText(join(d, 'b.log.gz'));
    assert.ok(cut.text.length > 0 && text.startsWith(cut.text), 'a prefix of the text');
  });
});

describe('Collector', () => {
  test('a record closes the story of its incident_id; lines of other incidents stay apart; lines without an id are no story', () => {
    const c = new Collector();
    const at = (s: number): string => `2025-01-01T00:00:0${s}.000Z`;
    c.add({ time: at(0), level: 'warn', message: 'a starts', incident_id: ID_A, app: 'a' }, 'f');
    c.add({ time: at(1), level: 'warn', message: 'b starts', incident_id: ID_B, app: 'b' }, 'f');
    c.add({ time: at(2), level: 'info', message: 'unrelated' }, 'f');
    c.add({ time: at(3), level: 'info', message: 'a done', incident_id: ID_A, app: 'a', event: 'incident', incident: record('healed') }, 'g');
    assert.equal(c.incidents.length, 1);
    assert.deepEqual(c.incidents[0], {
      time: at(3), level: 'info', app: 'a', incident_id: ID_A, message: 'a done', incident: record('healed'), file: 'g',
      story: [{ time: at(0), level: 'warn', message: 'a starts' }],
    });
  });
  test('--app and --since filter the records', () => {
    const c = new Collector({ app: 'a', sinceMs: Date.parse('2025-01-01T00:00:05.000Z') });
    c.add({ time: '2025-01-01T00:00:04.000Z', level: 'info', message: 'early', incident_id: ID_A, app: 'a', event: 'incident', incident: record('healed') }, 'f');
    c.add({ time: '2025-01-01T00:00:06.000Z', level: 'info', message: 'other app', incident_id: ID_B, app: 'b', event: 'incident', incident: record('healed') }, 'f');
    c.add({ time: '2025-01-01T00:00:07.000Z', level: 'error', message: 'kept', incident_id: ID_B, app: 'a', event: 'incident', incident: record('failed') }, 'f');
    assert.deepEqual(c.incidents.map((i) => i.message), ['kept']);
  });
});

describe('scanIncidents', () => {
  test('a story split across a rotated, gzipped file and the current one, in JSON and text lines', () => {
    const d = fresh();
    const file = join(d, 'monitor.log');
    writeFileSync(join(d, 'monitor2.log.gz'), gzipSync(`${jsonLine('2025-01-01T00:00:00.000Z', 'a starts', { app: 'a', incident_id: ID_A })}\nnot a log line\n`));
    writeFileSync(join(d, 'monitor1.log'), `2025-01-01T00:00:01.000Z info  [a] a -> remedying incident_id=${ID_A}\n`);
    writeFileSync(file, `${jsonLine('2025-01-01T00:00:02.000Z', 'a healed', { app: 'a', incident_id: ID_A, event: 'incident', incident: record('healed') })}\n`);
    const scan = scanIncidents(file);
    assert.deepEqual(scan.files.map((f) => [basename(f.path), f.gzip, f.lines, f.unreadable]), [['monitor2.log.gz', true, 2, 1], ['monitor1.log', false, 1, 0], ['monitor.log', false, 1, 0]]);
    assert.equal(scan.incidents.length, 1);
    assert.deepEqual(scan.incidents[0]!.story.map((s) => s.message), ['a starts', 'a -> remedying']);
    assert.equal(scan.incidents[0]!.file, file);
  });
});

describe('the two schemas describe the incident record alike', () => {
  test('$defs.incident of incidents.schema.json is the one of log-line.schema.json', () => {
    const defs = (name: string): unknown => (JSON.parse(readFileSync(schemaPath(name), 'utf8')) as { $defs: { incident: unknown } }).$defs.incident;
    assert.deepEqual(defs('incidents'), defs('log-line'));
  });
});
