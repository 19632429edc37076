/**
 * Syslog output: the RFC 5424 line itself, a real UDP listener on 127.0.0.1 receiving the
 * logger's lines (redacted), a target that fails (logged once, then left alone), and a unix
 * datagram socket reached through util-linux `logger` (a python3 listener stands for /dev/log).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { SyslogConfig } from '../../../src/config/syslog.js';
import { createLogger, type Logger } from '../../../src/log/logger.js';
import { rfc5424 } from '../../../src/log/rfc5424.js';
import { waitFor } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-syslog-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ID = '0b7f1c2e-3a4b-4c5d-8e9f-0123456789ab';
/** RFC 5424: PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]. */
const RFC5424 = /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)) ([\x21-\x7e]{1,255}) ([\x21-\x7e]{1,48}) ([\x21-\x7e]{1,128}) ([\x21-\x7e]{1,32}) (-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?$/s;

function end(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.on('finish', resolve).end());
}

describe('rfc5424', () => {
  const base = { facility: 'local0' as const, level: 'warn', time: '2025-01-31T08:00:00.123Z', host: 'web-1', appName: 'helpdesk-monitor', procId: 42, msg: 'hello' };
  test('the header: PRI = facility x 8 + severity, version 1, the fields, NILVALUE for what is missing', () => {
    assert.equal(rfc5424(base).toString(), '<132>1 2025-01-31T08:00:00.123Z web-1 helpdesk-monitor 42 - - hello');
    assert.equal(rfc5424({ ...base, facility: 'daemon', level: 'error' }).toString().slice(0, 7), '<27>1 2');
    assert.equal(rfc5424({ ...base, level: 'debug', facility: 'local7' }).toString().slice(0, 6), '<191>1');
  });
  test('structured data escapes ", \\ and ]; empty params are left out; header fields lose spaces', () => {
    const line = rfc5424({ ...base, host: 'my host', msgId: 'incident', data: { app: 'a"b]c\\d', incident_id: '' } }).toString();
    assert.equal(line, '<132>1 2025-01-31T08:00:00.123Z my_host helpdesk-monitor 42 incident [hdm@32473 app="a\\"b\\]c\\\\d"] hello');
    assert.match(line, RFC5424);
  });
  test('MSG: one line; a BOM only for non-ASCII text; cut at the limit on a character boundary', () => {
    assert.ok(rfc5424({ ...base, msg: 'a\nb' }).toString().endsWith(' a | b'));
    const utf = rfc5424({ ...base, msg: 'café' });
    assert.ok(utf.toString().endsWith(' \uFEFFcafé'));
    const long = rfc5424({ ...base, msg: 'é'.repeat(100) }, 101);
    assert.ok(long.length <= 101);
    assert.doesNotThrow(() => new TextDecoder('utf-8', { fatal: true }).decode(long));
  });
});

/** A UDP listener on 127.0.0.1 that keeps what it receives. */
async function listener(): Promise<{ socket: Socket; port: number; got: string[] }> {
  const socket = createSocket('udp4');
  const got: string[] = [];
  socket.on('message', (m) => got.push(m.toString('utf8')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, got };
}

const udp = (port: number): SyslogConfig => ({ address: `udp://127.0.0.1:${port}`, target: { kind: 'udp', host: '127.0.0.1', port }, facility: 'local0', appName: 'helpdesk-monitor' });

describe('the syslog transport', () => {
  test('UDP: a real listener receives well-formed RFC 5424 lines, redacted; JSON lines as the file has them', async () => {
    const l = await listener();
    try {
      const logger = createLogger({ level: 'debug', format: 'json', console: 'none', syslog: udp(l.port) });
      logger.child({ app: 'api' }).child({ incident_id: ID }).warn('probe GET http://u:Pa55word99@127.0.0.1:5000/health failed', { token_hint: 'API_TOKEN=s3cr3tValue' });
      logger.info('incident healed', { app: 'api', incident_id: ID, event: 'incident', incident: { result: 'healed' } });
      logger.debug('plain');
      await waitFor('three datagrams', () => l.got.length >= 3, 5000);
      await end(logger);
      const [first, second, third] = l.got;
      const m = RFC5424.exec(first!);
      assert.ok(m, first);
      assert.equal(m[1], String(16 * 8 + 4), 'local0.warning');
      assert.equal(m[3], hostname().replace(/[^\x21-\x7e]/g, '_'));
      assert.equal(m[4], 'helpdesk-monitor');
      assert.equal(m[5], String(process.pid));
      assert.equal(m[6], '-');
      assert.equal(m[7], `[hdm@32473 app="api" incident_id="${ID}"]`);
      const body = JSON.parse(m[8]!) as Record<string, unknown>;
      assert.equal(body['message'], 'probe GET http://***@127.0.0.1:5000/health failed');
      assert.equal(body['token_hint'], 'API_TOKEN=***');
      assert.ok(!first!.includes('Pa55word99') && !first!.includes('s3cr3tValue'), first);
      assert.equal(RFC5424.exec(second!)?.[6], 'incident', 'an incident line has MSGID incident');
      assert.match(third!, /^<135>1 .* - - \{.*"message":"plain"/);
    } finally {
      l.socket.close();
    }
  });

  test('text format: the message is the text line without its time and level', async () => {
    const l = await listener();
    try {
      const logger = createLogger({ level: 'info', format: 'text', console: 'none', syslog: udp(l.port) });
      logger.child({ app: 'api' }).info('healthy again', { ms: 12 });
      await waitFor('a datagram', () => l.got.length >= 1, 5000);
      await end(logger);
      assert.match(l.got[0]!, /^<134>1 \S+ \S+ helpdesk-monitor \d+ - \[hdm@32473 app="api"\] \[api\] healthy again ms=12$/);
    } finally {
      l.socket.close();
    }
  });

  test('a target that refuses: logged once, the lines meanwhile dropped, the monitor unaffected', async () => {
    const file = join(dir, 'refused.log');
    // A broadcast address without SO_BROADCAST: every send fails at once (EACCES).
    const target: SyslogConfig = { address: 'udp://255.255.255.255:514', target: { kind: 'udp', host: '255.255.255.255', port: 514 }, facility: 'local0', appName: 'helpdesk-monitor' };
    const logger = createLogger({ level: 'info', format: 'text', file, console: 'none', syslog: target });
    for (let i = 0; i < 20; i++) logger.info(`line ${i}`);
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 20; i < 25; i++) logger.info(`line ${i}`);
    await end(logger);
    const text = readFileSync(file, 'utf8');
    assert.equal(text.match(/syslog: cannot send to udp:\/\/255\.255\.255\.255:514/g)?.length, 1, text);
    assert.match(text, /line 24/, 'the file got every line');
  });

  test('a unix datagram socket (as /dev/log) through util-linux logger', { timeout: 30_000 }, async () => {
    const sock = join(dir, 'log.sock');
    // python3 stands for syslogd: it binds the socket, prints each datagram on a line.
    const py = spawn('python3', ['-u', '-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('ready', flush=True)
while True:
    print(s.recv(65536).decode('utf-8', 'replace').replace('\\n', ' '), flush=True)
`, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    const got: string[] = [];
    py.stdout.setEncoding('utf8').on('data', (c: string) => got.push(...c.split('\n').filter(Boolean)));
    try {
      await waitFor('the listener ready', () => got.includes('ready'), 10_000);
      const logger = createLogger({ level: 'info', format: 'text', console: 'none', syslog: { address: sock, target: { kind: 'unix', path: sock }, facility: 'local3', appName: 'hdm-test' } });
      logger.child({ app: 'api' }).error('remedy failed: API_TOKEN=s3cr3tValue');
      const line = await waitFor('a message on the socket', () => got.find((g) => g.includes('remedy failed')), 10_000);
      await end(logger);
      const m = RFC5424.exec(line);
      assert.ok(m, line);
      assert.equal(m[1], String(19 * 8 + 3), 'local3.err, from the prefix logger was given');
      assert.equal(m[4], 'hdm-test');
      assert.equal(m[5], String(process.pid));
      assert.equal(m[8], '[api] remedy failed: API_TOKEN=***');
    } finally {
      py.kill('SIGTERM');
    }
  });
});
