/**
 * The status server over real HTTP on loopback (port 0), with stand-in routes: every JSON answer
 * is redacted (a port holder's command line may carry a token), HEAD has no body, and a route
 * that throws answers 500 without taking the server down.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startWebServer, type WebServer } from '../../../src/web/server.js';

let server: WebServer;
let fail = false;

before(async () => {
  server = await startWebServer({
    host: '127.0.0.1', port: 0, maxConnections: 8,
    routes: {
      metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'x 1\n' }),
      page: () => '<!DOCTYPE html><title>p</title>',
      status: () => {
        if (fail) throw new Error('boom');
        return { apps: [{ name: 'api', ports: [{ port: 5000, holders: [{ pid: 7, command: 'node squat.js --api-token=s3cr3t-value-123', uid: 0 }] }] }] };
      },
      healthz: () => ({ ok: true }),
    },
  });
});
after(async () => {
  await server?.close();
});

test('a secret on a holder\'s command line never leaves in /api/status', async () => {
  const res = await fetch(`${server.url}/api/status`);
  const body = await res.text();
  assert.equal(res.status, 200);
  assert.doesNotMatch(body, /s3cr3t-value-123/);
  assert.match(body, /--api-token=\*\*\*/);
});

test('HEAD answers the headers without a body', async () => {
  const res = await fetch(`${server.url}/metrics`, { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), '');
  assert.equal(res.headers.get('cache-control'), 'no-store');
});

test('a route that throws answers 500, and the server keeps answering', async () => {
  fail = true;
  try {
    assert.equal((await fetch(`${server.url}/api/status`)).status, 500);
  } finally {
    fail = false;
  }
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});
