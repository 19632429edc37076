/**
 * update/webhook: a real server on 127.0.0.1, port 0, driven with real HTTP requests (node:http,
 * so a test controls what is sent and when). The trigger is a recorder: a test that expects no
 * update check asserts it was never called.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { signatureValid, startWebhook, type TriggerAnswer, type WebhookOptions, type WebhookServer } from '../../../src/update/webhook.js';

const SECRET = Buffer.from('unit-webhook-secret-0123456789abcdef');
const sign = (body: string | Buffer, secret: Buffer = SECRET): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const PUSH = JSON.stringify({ ref: 'refs/heads/main', after: 'f'.repeat(40), commands: ['rm -rf /'] });

interface Harness {
  readonly server: WebhookServer;
  readonly calls: string[];
  readonly lines: { level: string; message: string }[];
}

const open: WebhookServer[] = [];
after(async () => {
  for (const s of open) await s.close();
});

async function start(answer: (app: string) => TriggerAnswer = () => ({ result: 'started' }), more: Partial<WebhookOptions> = {}): Promise<Harness> {
  const calls: string[] = [];
  const lines: { level: string; message: string }[] = [];
  const server = await startWebhook({
    host: '127.0.0.1',
    port: 0,
    secret: SECRET,
    maxBodyBytes: 1000,
    trigger: (app) => {
      calls.push(app);
      return answer(app);
    },
    log: (level, message) => lines.push({ level, message }),
    ...more,
  });
  open.push(server);
  return { server, calls, lines };
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly json: Record<string, unknown>;
}

/** One request on a connection of its own; the body is sent whole (Content-Length) unless `chunks`. */
function send(url: string, path: string, opts: { method?: string; body?: string; headers?: OutgoingHttpHeaders; agent?: Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: opts.method ?? 'POST', headers: opts.headers ?? {}, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text) as Record<string, unknown> });
        } catch (err) {
          reject(new Error(`not JSON: ${JSON.stringify(text)} (${String(err)})`));
        }
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const push = (url: string, app: string, body = PUSH, headers: OutgoingHttpHeaders = { 'X-Hub-Signature-256': sign(body), 'X-GitHub-Event': 'push' }): Promise<Reply> =>
  send(url, `/hooks/update/${app}`, { body, headers: { 'Content-Type': 'application/json', ...headers } });

describe('signatureValid', () => {
  test("GitHub's documented example: secret \"It's a Secret to Everybody\", body \"Hello, World!\"", () => {
    const secret = Buffer.from("It's a Secret to Everybody");
    const body = Buffer.from('Hello, World!');
    assert.equal(signatureValid(body, 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17', secret), true);
    assert.equal(signatureValid(body, 'sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17', secret), true, 'hex is hex in either case');
    assert.equal(signatureValid(Buffer.from('Hello, World?'), 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17', secret), false, 'another body');
    assert.equal(signatureValid(body, 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17', Buffer.from('another secret')), false, 'another secret');
  });

  test('a malformed header is simply invalid, never a throw', () => {
    const body = Buffer.from(PUSH);
    const good = sign(body);
    const hex = good.slice('sha256='.length);
    for (const header of [
      undefined,
      '',
      hex, // no prefix
      `sha1=${hex}`,
      `SHA256=${hex}`,
      `sha256=${hex.slice(0, 62)}`, // one byte short
      `sha256=${hex}00`, // one byte long
      `sha256=${hex.slice(0, 63)}`, // odd length
      `sha256=${hex.slice(0, 63)}g`, // not hex
      `sha256=${hex}, sha256=${hex}`, // a repeated header, as Node joins it
      ` sha256=${hex}`,
      'sha256=',
    ]) {
      assert.equal(signatureValid(body, header, SECRET), false, JSON.stringify(header));
    }
    assert.equal(signatureValid(body, good, SECRET), true);
    assert.equal(signatureValid(Buffer.alloc(0), sign(''), SECRET), true, 'an empty body has a signature too');
  });
});

describe('startWebhook', () => {
  test('a good signature: 202 started, the trigger called once with the app, small no-store JSON, one info line', async () => {
    const h = await start();
    const r = await push(h.server.url, 'billing-api');
    assert.equal(r.status, 202);
    assert.deepEqual(r.json, { ok: true, result: 'started' });
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.deepEqual(h.calls, ['billing-api']);
    assert.equal(h.lines.length, 1);
    assert.equal(h.lines[0]!.level, 'info');
    assert.match(h.lines[0]!.message, /app billing-api: 202 started, from 127\.0\.0\.1/);
    assert.match(h.server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('the app name is URL-decoded from the path; a query string is not part of it', async () => {
    const h = await start();
    assert.equal((await push(h.server.url, 'team%40svc.v2_x-1?source=github')).status, 202);
    assert.deepEqual(h.calls, ['team@svc.v2_x-1']);
  });

  test('a bad signature: 401 bad signature, a warn line, no trigger', async () => {
    const h = await start();
    const r = await push(h.server.url, 'billing-api', PUSH, { 'X-Hub-Signature-256': sign(PUSH, Buffer.from('not-the-secret-at-all-0123456789')) });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { ok: false, error: 'bad signature' });
    assert.deepEqual(h.calls, []);
    assert.equal(h.lines.length, 1);
    assert.equal(h.lines[0]!.level, 'warn');
    assert.match(h.lines[0]!.message, /401 bad_signature/);
  });

  test('a signature of another body (the body changed on the way): 401, no trigger', async () => {
    const h = await start();
    const r = await push(h.server.url, 'billing-api', `${PUSH} `, { 'X-Hub-Signature-256': sign(PUSH) });
    assert.equal(r.status, 401);
    assert.deepEqual(h.calls, []);
  });

  test('no signature header: 401, no trigger', async () => {
    const h = await start();
    const r = await push(h.server.url, 'billing-api', PUSH, {});
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { ok: false, error: 'bad signature' });
    assert.deepEqual(h.calls, []);
    assert.equal(h.lines[0]!.level, 'warn');
  });

  test('a signature of the wrong length or shape: 401, no trigger', async () => {
    const h = await start();
    const good = sign(PUSH);
    for (const header of [good.slice(0, -2), `${good}ab`, 'sha256=abcd', `sha1=${good.slice(7, 47)}`, good.slice(7)]) {
      const r = await push(h.server.url, 'billing-api', PUSH, { 'X-Hub-Signature-256': header });
      assert.equal(r.status, 401, header);
    }
    assert.deepEqual(h.calls, []);
  });

  test('an update of the repo already running: 409 in_progress', async () => {
    const h = await start(() => ({ result: 'in_progress' }));
    const r = await push(h.server.url, 'billing-api');
    assert.equal(r.status, 409);
    assert.deepEqual(r.json, { ok: false, result: 'in_progress', error: 'update in progress' });
    assert.deepEqual(h.calls, ['billing-api']);
  });

  test('an unknown app with a good signature: 404; with a bad one: 401 before any lookup', async () => {
    const h = await start(() => ({ result: 'unknown_app' }));
    const r = await push(h.server.url, 'nosuchapp');
    assert.equal(r.status, 404);
    assert.equal(r.json.ok, false);
    assert.equal(r.json.result, 'unknown_app');
    assert.deepEqual(h.calls, ['nosuchapp']);
    const unsigned = await push(h.server.url, 'nosuchapp', PUSH, { 'X-Hub-Signature-256': 'sha256=' + '0'.repeat(64) });
    assert.equal(unsigned.status, 401, 'an unsigned caller learns nothing about which apps exist');
    assert.deepEqual(h.calls, ['nosuchapp'], 'the trigger was not asked again');
  });

  test('a Content-Length over the cap: 413 at once, before a byte of the body is sent, no trigger', async () => {
    const h = await start();
    const { status, closed } = await new Promise<{ status: number; closed: Promise<void> }>((resolve, reject) => {
      const req = request(`${h.server.url}/hooks/update/billing-api`, {
        method: 'POST',
        agent: false,
        headers: { 'Content-Length': String(10 * 1024 * 1024), 'X-Hub-Signature-256': sign('x') },
      });
      req.on('error', () => undefined); // the server hangs up on a body it will not read
      req.on('response', (res) => {
        res.resume();
        const socket = req.socket as Socket;
        resolve({ status: res.statusCode ?? 0, closed: new Promise((r) => (socket.destroyed ? r() : socket.once('close', () => r()))) });
      });
      req.flushHeaders();
      setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref();
    });
    assert.equal(status, 413);
    await closed;
    assert.deepEqual(h.calls, []);
    assert.match(h.lines[0]!.message, /413 body_too_large/);
  });

  test('a chunked body that streams past the cap: 413, the connection dropped, no trigger', async () => {
    const h = await start();
    const { status, closed } = await new Promise<{ status: number; closed: Promise<void> }>((resolve, reject) => {
      const req = request(`${h.server.url}/hooks/update/billing-api`, { method: 'POST', agent: false, headers: { 'X-Hub-Signature-256': sign('x') } });
      req.on('error', () => undefined);
      req.on('response', (res) => {
        res.resume();
        const socket = req.socket as Socket;
        resolve({ status: res.statusCode ?? 0, closed: new Promise((r) => (socket.destroyed ? r() : socket.once('close', () => r()))) });
      });
      // No Content-Length: Node sends the body chunked. 3 x 400 bytes passes the 1,000-byte cap;
      // then the client waits, without ending the request, for the server's word.
      let sent = 0;
      const tick = setInterval(() => {
        if (sent === 3) return clearInterval(tick);
        req.write('y'.repeat(400));
        sent += 1;
      }, 20);
      setTimeout(() => {
        clearInterval(tick);
        reject(new Error('no answer within 5 s'));
      }, 5000).unref();
    });
    assert.equal(status, 413);
    await closed;
    assert.deepEqual(h.calls, []);
  });

  test('a body of exactly the cap is accepted', async () => {
    const h = await start();
    const body = 'z'.repeat(1000);
    assert.equal((await push(h.server.url, 'billing-api', body)).status, 202);
    assert.deepEqual(h.calls, ['billing-api']);
  });

  test('another method on the hook path: 405 with Allow: POST, no trigger', async () => {
    const h = await start();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const r = await send(h.server.url, '/hooks/update/billing-api', { method, headers: { 'X-Hub-Signature-256': sign('') } });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'POST');
      assert.equal(r.headers['content-type'], 'application/json');
    }
    assert.deepEqual(h.calls, []);
  });

  test('other paths, and app names that are not names: 404, no trigger', async () => {
    const h = await start();
    const paths = ['/', '/hooks/update', '/hooks/update/', '/hooks/update/a/b', '/hooks/update/a%2Fb', '/hooks/update/..%2Fetc', '/hooks/update/%E0%A4%A', `/hooks/update/${'a'.repeat(101)}`, '/hooks/update/a%20b', '/HOOKS/update/x', '/hooks/other/x'];
    for (const path of paths) {
      const body = PUSH;
      const r = await send(h.server.url, path, { body, headers: { 'X-Hub-Signature-256': sign(body) } });
      assert.equal(r.status, 404, path);
      assert.deepEqual(r.json, { ok: false, error: 'not found' });
    }
    assert.deepEqual(h.calls, []);
    assert.equal((await push(h.server.url, 'a'.repeat(100))).status, 202, '100 characters is a name');
  });

  test('a signed ping: 200 pong, no trigger; an unsigned one: 401', async () => {
    const h = await start();
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const r = await push(h.server.url, 'billing-api', body, { 'X-Hub-Signature-256': sign(body), 'X-GitHub-Event': 'ping' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { ok: true, result: 'pong' });
    const bad = await push(h.server.url, 'billing-api', body, { 'X-GitHub-Event': 'ping' });
    assert.equal(bad.status, 401);
    assert.deepEqual(h.calls, []);
  });

  test('a trigger that throws: 500 and a warn line; the server goes on serving', async () => {
    let first = true;
    const h = await start(() => {
      if (first) {
        first = false;
        throw new Error('boom');
      }
      return { result: 'started' };
    });
    const r = await push(h.server.url, 'billing-api');
    assert.equal(r.status, 500);
    assert.deepEqual(r.json, { ok: false, error: 'internal error' });
    assert.equal(h.lines[0]!.level, 'warn');
    assert.match(h.lines[0]!.message, /boom/);
    assert.equal((await push(h.server.url, 'billing-api')).status, 202);
  });

  test('the log names app, result and address; never the secret or the body', async () => {
    const h = await start();
    await push(h.server.url, 'billing-api');
    await push(h.server.url, 'billing-api', PUSH, { 'X-Hub-Signature-256': sign(PUSH, Buffer.from('wrong-secret-wrong-secret')) });
    await send(h.server.url, '/elsewhere', { body: PUSH });
    assert.equal(h.lines.length, 3, 'one line per answered request');
    const all = h.lines.map((l) => l.message).join('\n');
    assert.ok(!all.includes(SECRET.toString()), 'no secret');
    assert.ok(!all.includes('refs/heads/main') && !all.includes('rm -rf'), 'no body');
    assert.ok(!all.includes(sign(PUSH).slice(7)), 'no signature');
    assert.match(all, /path "\/elsewhere": 404 not_found/);
  });

  test('close() resolves within 2 s with an idle keep-alive connection open, and the connection is gone', async () => {
    const h = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const r = await send(h.server.url, '/hooks/update/billing-api', { body: PUSH, headers: { 'X-Hub-Signature-256': sign(PUSH) }, agent });
      assert.equal(r.status, 202);
      await new Promise((r2) => setImmediate(r2));
      const idle = Object.values(agent.freeSockets).flat();
      assert.equal(idle.length, 1, 'the connection is kept alive and idle');
      const socket = idle[0]!;
      const gone = new Promise<void>((r2) => (socket.destroyed ? r2() : socket.once('close', () => r2())));
      const t0 = performance.now();
      await h.server.close();
      const took = performance.now() - t0;
      assert.ok(took < 2000, `close took ${took.toFixed(0)} ms`);
      await gone;
      await assert.rejects(send(h.server.url, '/hooks/update/billing-api', { body: PUSH }), /ECONNREFUSED/);
      await h.server.close(); // a second close is harmless
    } finally {
      agent.destroy();
    }
  });

  test('close() also drops a connection that is still sending its headers', async () => {
    const h = await start();
    const { connect } = await import('node:net');
    const port = Number(new URL(h.server.url).port);
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write('POST /hooks/update/billing-api HTTP/1.1\r\nHost: x\r\n');
    const gone = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await h.server.close();
    assert.ok(performance.now() - t0 < 2000);
    await gone;
    assert.deepEqual(h.calls, []);
  });

  test('a port in use: rejects with a message naming host:port and EADDRINUSE', async () => {
    const h = await start();
    const port = Number(new URL(h.server.url).port);
    await assert.rejects(
      startWebhook({ host: '127.0.0.1', port, secret: SECRET, maxBodyBytes: 1000, trigger: () => ({ result: 'started' }) }),
      (err: Error) => {
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        assert.match(err.message, /EADDRINUSE/);
        return true;
      },
    );
  });

  test('an empty secret is refused', async () => {
    await assert.rejects(startWebhook({ host: '127.0.0.1', port: 0, secret: Buffer.alloc(0), maxBodyBytes: 1000, trigger: () => ({ result: 'started' }) }), /secret is empty/);
  });
});
