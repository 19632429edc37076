/** The rules fixture (test/fixtures/rules-app.cjs) under a sandbox's PM2: start it, drive it. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, waitFor, type Sandbox } from './sandbox.js';

export const RULES_APP = join(ROOT, 'test', 'fixtures', 'rules-app.cjs');

/** Start the fixture as `name` on `port` and wait for its `ready pid=` line in its PM2 out log; its pid. */
export async function startRulesApp(sb: Sandbox, name: string, port: number, options: Record<string, unknown> = {}): Promise<number> {
  await sb.start({ name, script: RULES_APP, env: { PORT: String(port) }, autorestart: true, ...options });
  const p = await waitFor(`${name} ready`, async () => {
    const info = await sb.info(name);
    return info?.status === 'online' && info.outLog && existsSync(info.outLog) && readFileSync(info.outLog, 'utf8').includes(`ready pid=${info.pid}`) ? info : undefined;
  }, 20_000);
  return p.pid;
}

/** POST to one of the fixture's endpoints; its JSON answer. */
export async function drive(port: number, path: string): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200, `POST ${path}`);
  return res.json();
}
