import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, afterEach, describe, test } from 'node:test';
import { createLogger, reconfigureLogger, type Logger } from '../../../src/log/logger.js';
import { forgetSecrets, rememberConfigSecrets } from '../../../src/redact.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-logger-'));
after(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => forgetSecrets());

/** End the logger and wait until its file transports have written everything. */
function end(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.on('finish', resolve).end());
}

describe('every line is redacted', () => {
  for (const format of ['text', 'json'] as const) {
    test(`${format}: message and metadata (nested too) lose URL credentials, query values, webhook tokens and remembered secrets`, async () => {
      rememberConfigSecrets({ notify: [{ url: 'http://127.0.0.1:1/hook/plain', headers: { 'X-Api-Key': 'HEADER-SECRET-1' } }], apps: [] });
      const file = join(dir, `${format}.log`);
      const logger = createLogger({ level: 'debug', format, file, console: 'none' });
      logger.warn('probe GET http://ops:PASS-WORD-1@127.0.0.1:5000/health?token=QUERY-VALUE-1 failed', {
        app: 'demo',
        target: 'https://hooks.slack.com/services/T0AAAA/B0BBBB/SLACKTOKEN1234567890',
        nested: { steps: ['wait for online and http://127.0.0.1:5000/health?key=QUERY-VALUE-2'], header: 'sent HEADER-SECRET-1' },
      });
      logger.error(new Error('POST https://discord.com/api/webhooks/123456789012345678/DISCORD-TOKEN-1 refused'));
      await end(logger);
      const text = readFileSync(file, 'utf8');
      for (const s of ['PASS-WORD-1', 'QUERY-VALUE-1', 'QUERY-VALUE-2', 'SLACKTOKEN', 'DISCORD-TOKEN-1', 'HEADER-SECRET-1', 'ops:']) {
        assert.ok(!text.includes(s), `${s} in:\n${text}`);
      }
      assert.ok(text.includes('http://***@127.0.0.1:5000/health?token=***'), text);
      assert.ok(text.includes('https://hooks.slack.com/services/***'), text);
      assert.ok(text.includes('demo'), 'ordinary fields stay');
      if (format === 'json') for (const line of text.trim().split('\n')) JSON.parse(line);
    });
  }
});

describe('reconfigureLogger', () => {
  test('the same logger object takes a new level, format and file; the old file is closed and gets nothing more', async () => {
    const first = join(dir, 'first.log');
    const second = join(dir, 'second.log');
    const logger = createLogger({ level: 'info', format: 'text', file: first, console: 'none' });
    logger.debug('debug before');
    logger.info('info before');
    reconfigureLogger(logger, { level: 'debug', format: 'json', file: second, console: 'none' });
    logger.debug('debug after', { n: 1 });
    await end(logger);
    const a = readFileSync(first, 'utf8');
    const b = readFileSync(second, 'utf8');
    assert.match(a, /info before/);
    assert.doesNotMatch(a, /debug/);
    assert.doesNotMatch(a, /after/);
    const line = JSON.parse(b.trim()) as Record<string, unknown>;
    assert.equal(line['message'], 'debug after');
    assert.equal(line['level'], 'debug');
    assert.equal(line['n'], 1);
  });
  test('reconfigured lines are still redacted', async () => {
    const file = join(dir, 'again.log');
    const logger = createLogger({ level: 'info', format: 'text', console: 'none' });
    reconfigureLogger(logger, { level: 'info', format: 'text', file, console: 'none' });
    logger.info('GET http://u:SECRET-PW-7@h/health');
    await end(logger);
    assert.doesNotMatch(readFileSync(file, 'utf8'), /SECRET-PW-7/);
  });
});

describe('the console shows less than the file when asked', () => {
  test('consoleLevel: the console gets errors only, the file everything; after silenceConsole the console gets nothing', async () => {
    const file = join(dir, 'console-level.log');
    // A child process: the console transport writes to this process's stderr otherwise.
    const script = `
      const { createLogger, silenceConsole } = await import(process.argv[1]);
      const logger = createLogger({ level: 'debug', format: 'text', file: process.argv[2], console: 'stderr', consoleLevel: 'error' });
      logger.debug('debug line'); logger.info('info line'); logger.error('error line');
      silenceConsole(logger);
      logger.error('late error');
      await new Promise((r) => logger.on('finish', r).end());
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(join(import.meta.dirname, '..', '..', '..', 'src', 'log', 'logger.js')).href, file], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /error line/);
    assert.doesNotMatch(r.stderr, /debug line|info line|late error/);
    assert.equal(r.stdout, '');
    const written = readFileSync(file, 'utf8');
    for (const line of ['debug line', 'info line', 'error line', 'late error']) assert.match(written, new RegExp(line));
  });
});

describe('under PM2 the console is one stream', () => {
  // PM2 keeps stdout and stderr in two files and `pm2 logs` prints one after the other: a story
  // split by level would read out of order.
  for (const format of ['text', 'json'] as const) {
    test(`${format}: console stdout gets every level, in order, with the level in the line; stderr gets nothing; the file is as before`, () => {
      const file = join(dir, `one-stream-${format}.log`);
      const script = `
        const { createLogger } = await import(process.argv[1]);
        const logger = createLogger({ level: 'debug', format: process.argv[3], file: process.argv[2], console: 'stdout' });
        logger.warn('check failed (1/2)', { app: 'api' });
        logger.error('failing -> unhealthy (2/2)', { app: 'api' });
        logger.info('unhealthy -> remedying', { app: 'api' });
        logger.debug('a detail');
        await new Promise((r) => logger.on('finish', r).end());
      `;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(join(import.meta.dirname, '..', '..', '..', 'src', 'log', 'logger.js')).href, file, format], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '', 'nothing on stderr');
      const lines = r.stdout.trim().split('\n');
      const expected: [string, string][] = [['warn', 'check failed (1/2)'], ['error', 'failing -> unhealthy (2/2)'], ['info', 'unhealthy -> remedying'], ['debug', 'a detail']];
      assert.equal(lines.length, expected.length, r.stdout);
      expected.forEach(([level, message], i) => {
        if (format === 'json') {
          const line = JSON.parse(lines[i]!) as Record<string, unknown>;
          assert.equal(line['level'], level);
          assert.equal(line['message'], message);
        } else {
          assert.match(lines[i]!, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z ${level.padEnd(5)} `));
          assert.ok(lines[i]!.endsWith(level === 'debug' ? message : `[api] ${message}`), lines[i]);
        }
      });
      const written = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(written.length, expected.length, 'the file has every line too');
    });
  }

  test('the default console (the CLI) is stderr for every level: stdout stays free for --json', () => {
    const script = `
      const { createLogger } = await import(process.argv[1]);
      const logger = createLogger({ level: 'debug', format: 'text' });
      logger.error('an error'); logger.info('an info');
      await new Promise((r) => logger.on('finish', r).end());
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(join(import.meta.dirname, '..', '..', '..', 'src', 'log', 'logger.js')).href], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /error an error\n.*info {2}an info/);
  });
});
