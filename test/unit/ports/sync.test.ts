// Real processes: children that listen on 127.0.0.1, found through /proc and killed by the sync
// driver. Only pids this file started are ever signalled.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { buildScope } from '../../../src/ports/context.js';
import type { ScopeContext } from '../../../src/ports/scope.js';
import { procAvailable, procFacts } from '../../../src/proc/read.js';
import { ancestry, descendants } from '../../../src/proc/tree.js';
import { listeningInodes, socketOwners } from '../../../src/proc/sockets.js';
import { listenersSync, runFreePortsSync, snapshotSync } from '../../../src/ports/sync.js';
import { killJudged } from '../../../src/ports/kill.js';

const skip = procAvailable ? false : 'needs Linux /proc';
const UID = process.getuid?.() ?? -1;

let dir: string;
const started = new Set<ChildProcess>();
const extraPids = new Set<number>();

before(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'hdm-sync-')));
  writeFileSync(
    join(dir, 'shared.cjs'),
    `const net = require('net');
const { fork } = require('child_process');
if (process.argv[2] === 'child') {
  process.on('message', (m, server) => { if (m === 'server' && server) process.send('ready'); });
} else {
  const server = net.createServer((c) => c.end());
  server.listen(0, '127.0.0.1', () => {
    const child = fork(__filename, ['child']);
    child.on('message', () => console.log(JSON.stringify({ port: server.address().port, childPid: child.pid })));
    child.send('server', server);
  });
}
`,
  );
});

after(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of extraPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

interface Holder {
  readonly child: ChildProcess;
  readonly port: number;
  readonly info: Record<string, unknown>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const LISTEN = (prelude = ''): string =>
  `${prelude}
const s = require('net').createServer(); // accepted connections stay open
s.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: s.address().port })));`;

/** Start a node child and wait for the JSON line it prints once listening. */
async function startHolder(args: readonly string[]): Promise<Holder> {
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  started.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, sig) => resolve({ code, signal: sig })),
  );
  const lines = createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('child did not report its port within 5 s')), 5000);
    lines.once('line', (l) => {
      clearTimeout(t);
      resolve(l);
    });
    child.once('exit', () => reject(new Error('child exited before listening')));
  });
  const info = JSON.parse(line) as Record<string, unknown>;
  return { child, port: Number(info['port']), info, exited };
}

const portScope = (): ScopeContext => ({
  protectedPids: new Map([
    [1, 'PID 1 (init)'],
    [process.pid, 'the test itself'],
    [process.ppid, 'the test runner'],
  ]),
  scope: 'port',
  app: { uid: UID, pmIds: new Set(), instances: new Map() },
});

describe('procfs and snapshotSync against a real listener', { skip }, () => {
  let h: Holder;
  before(async () => {
    h = await startHolder(['-e', LISTEN()]);
  });
  after(() => {
    h.child.kill('SIGKILL');
  });

  test('listeningInodes finds exactly one LISTEN socket on the port', () => {
    const found = listeningInodes(new Set([h.port]));
    assert.equal(found.size, 1);
    assert.deepEqual([...found.values()], [h.port]);
    assert.match([...found.keys()][0]!, /^\d+$/);
  });

  test('listeningInodes ignores other ports', () => {
    const other = [...listeningInodes(new Set([h.port === 1 ? 2 : 1])).values()];
    assert.ok(!other.includes(h.port));
  });

  test('socketOwners maps the inode to the child pid', () => {
    const inode = [...listeningInodes(new Set([h.port])).keys()][0]!;
    const owners = socketOwners(new Set([inode]));
    assert.deepEqual(owners.get(inode), [h.child.pid]);
    assert.equal(socketOwners(new Set()).size, 0);
  });

  test('snapshotSync finds exactly the child, with its command and cwd', () => {
    const snap = snapshotSync([h.port]);
    assert.deepEqual(snap.hidden, []);
    assert.equal(snap.holders.length, 1);
    const holder = snap.holders[0]!;
    assert.equal(holder.pid, h.child.pid);
    assert.equal(holder.port, h.port);
    assert.equal(holder.uid, UID);
    assert.equal(holder.cwd, dir);
    assert.ok(holder.command.startsWith(process.execPath), holder.command);
    assert.match(holder.command, / -e /);
    assert.equal(holder.socket, [...listeningInodes(new Set([h.port])).keys()][0]);
  });

  test('listenersSync names the same holder: port, pid, uid and command', () => {
    const holder = snapshotSync([h.port]).holders[0]!;
    assert.deepEqual(listenersSync([h.port]), [{ port: h.port, pid: holder.pid, uid: holder.uid, command: holder.command }]);
  });

  test('one process holding many ports is read once, and each port listed', async () => {
    const servers = await Promise.all([0, 0, 0].map(() => new Promise<Server>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    })));
    try {
      const ports = servers.map((s) => (s.address() as { port: number }).port);
      const snap = snapshotSync(ports);
      assert.deepEqual(snap.holders.map((x) => x.port).sort(), [...ports].sort());
      assert.ok(snap.holders.every((x) => x.pid === process.pid));
      assert.deepEqual(listenersSync(ports).map((x) => [x.port, x.pid]).sort(), ports.map((p) => [p, process.pid]).sort());
    } finally {
      for (const s of servers) s.close();
    }
  });

  test('procFacts describes the child', () => {
    const f = procFacts(h.child.pid!);
    assert.ok(f);
    assert.equal(f.pid, h.child.pid);
    assert.equal(f.ppid, process.pid);
    assert.equal(f.uid, UID);
    assert.equal(f.cwd, dir);
    assert.match(f.state, /^[RS]$/);
    assert.ok(f.startTicks > 0);
  });

  test('procFacts of a gone pid is undefined', () => {
    assert.equal(procFacts(2 ** 22 + 12345), undefined);
  });

  test('ancestry starts at the pid and climbs through the parent', () => {
    const chain = ancestry(h.child.pid!);
    assert.equal(chain[0], h.child.pid);
    assert.equal(chain[1], process.pid);
    assert.equal(chain[2], process.ppid);
  });

  test('descendants of the test process include the child', () => {
    const d = descendants([process.pid]);
    assert.ok(d.has(h.child.pid!));
    assert.ok(!d.has(process.pid));
  });

  test('established connections on the port are not counted as listeners', async () => {
    const { connect } = await import('node:net');
    const client = connect(h.port, '127.0.0.1');
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', resolve);
        client.once('error', reject);
      });
      // the accepted socket (local port = the listener's) stays open in the child
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(listeningInodes(new Set([h.port])).size, 1);
      const snap = snapshotSync([h.port]);
      assert.deepEqual(snap.holders.map((x) => x.pid), [h.child.pid]);
    } finally {
      client.destroy();
    }
  });

  test('a snapshot of a free port is empty', async () => {
    const free = await freePort();
    assert.deepEqual(snapshotSync([free]), { holders: [], hidden: [] });
  });
});

describe('runFreePortsSync against real processes', { skip }, () => {
  test('scope port: SIGTERM kills the holder and the port is free', async () => {
    const h = await startHolder(['-e', LISTEN()]);
    // A long grace: ending well before it shows the port was polled, with room for a loaded machine.
    const r = runFreePortsSync({ ports: [h.port], scope: portScope(), graceMs: 10_000, now: () => performance.now() });
    assert.equal(r.free, true);
    assert.deepEqual(r.stillHeld, []);
    assert.deepEqual(r.refused, []);
    assert.deepEqual(r.killed.map((k) => [k.pid, k.port, k.signal]), [[h.child.pid, h.port, 'SIGTERM']]);
    assert.ok(r.elapsedMs < 5000, `elapsed ${r.elapsedMs}`);
    assert.deepEqual(await h.exited, { code: null, signal: 'SIGTERM' });
    assert.equal(listeningInodes(new Set([h.port])).size, 0);
  });

  test('a holder that ignores SIGTERM is SIGKILLed after the grace', async () => {
    const h = await startHolder(['-e', LISTEN("process.on('SIGTERM', () => {});")]);
    const r = runFreePortsSync({ ports: [h.port], scope: portScope(), graceMs: 300, now: () => performance.now() });
    assert.equal(r.free, true);
    assert.deepEqual(r.killed.map((k) => k.signal), ['SIGTERM', 'SIGKILL']);
    assert.ok(r.elapsedMs >= 300, `elapsed ${r.elapsedMs}`);
    assert.ok(r.elapsedMs < 5000, `elapsed ${r.elapsedMs}`);
    assert.deepEqual(await h.exited, { code: null, signal: 'SIGKILL' });
  });

  test('scope app with the child as the app pid (buildScope) kills it', async () => {
    const h = await startHolder(['-e', LISTEN()]);
    const scope = buildScope({ scope: 'app', app: { pids: [h.child.pid!] } });
    const r = runFreePortsSync({ ports: [h.port], scope, graceMs: 2000, now: () => performance.now() });
    assert.equal(r.free, true);
    assert.match(r.killed[0]?.why ?? '', /an instance of the app/);
    await h.exited;
  });

  test('scope app refuses a stranger and leaves it running', async () => {
    const h = await startHolder(['-e', LISTEN()]);
    try {
      const scope = buildScope({ scope: 'app', app: { pids: [], cwd: '/nonexistent-app-dir' } });
      const r = runFreePortsSync({ ports: [h.port], scope, graceMs: 2000, now: () => performance.now() });
      assert.equal(r.free, false);
      assert.deepEqual(r.stillHeld, [h.port]);
      assert.deepEqual(r.killed, []);
      assert.equal(r.refused[0]?.pid, h.child.pid);
      assert.match(r.refused[0]!.why, /kill_scope app/);
      assert.equal(h.child.exitCode, null);
      assert.equal(h.child.signalCode, null);
      assert.doesNotThrow(() => process.kill(h.child.pid!, 0), 'still alive');
    } finally {
      h.child.kill('SIGKILL');
      await h.exited;
    }
  });

  test('buildScope protects the monitor itself even under scope port (dry run)', async () => {
    const server = await listen();
    try {
      const port = (server.address() as { port: number }).port;
      const r = runFreePortsSync({ ports: [port], scope: buildScope({ scope: 'port' }), graceMs: 100, dryRun: true, now: () => performance.now() });
      assert.deepEqual(r.wouldKill, []);
      assert.equal(r.refused.length, 1);
      assert.equal(r.refused[0]!.pid, process.pid);
      assert.match(r.refused[0]!.why, /protected: helpdesk-monitor itself/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('two processes sharing one listening socket are both found and both killed', async () => {
    const h = await startHolder([join(dir, 'shared.cjs')]);
    const childPid = Number(h.info['childPid']);
    extraPids.add(childPid);
    const snap = snapshotSync([h.port]);
    assert.deepEqual(snap.holders.map((x) => x.pid).sort((a, b) => a - b), [h.child.pid!, childPid].sort((a, b) => a - b));
    assert.equal(new Set(snap.holders.map((x) => x.socket)).size, 1, 'one socket, two owners');
    assert.deepEqual(socketOwners(new Set([snap.holders[0]!.socket])).get(snap.holders[0]!.socket)?.sort((a, b) => a - b), [h.child.pid!, childPid].sort((a, b) => a - b));

    const r = runFreePortsSync({ ports: [h.port], scope: portScope(), graceMs: 2000, now: () => performance.now() });
    assert.equal(r.free, true);
    assert.deepEqual(r.killed.map((k) => k.pid).sort((a, b) => a - b), [h.child.pid!, childPid].sort((a, b) => a - b));
    await h.exited;
    assert.equal(listeningInodes(new Set([h.port])).size, 0);
  });

  test('killJudged reports gone for a pid that is gone, and leaves a reused pid alone', async () => {
    const h = await startHolder(['-e', LISTEN()]);
    const facts = procFacts(h.child.pid!)!;
    // The same pid with another start time: what the pid names now is not what was judged.
    const reused = killJudged({ ...facts, startTicks: facts.startTicks - 1 }, portScope(), 'SIGTERM');
    assert.equal(reused.outcome, 'gone');
    assert.match(reused.why ?? '', /now names another process/);
    assert.equal(h.child.exitCode, null, 'still running');
    h.child.kill('SIGKILL');
    await h.exited;
    assert.equal(killJudged(facts, portScope(), 'SIGTERM').outcome, 'gone');
  });
});

function listen(): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

async function freePort(): Promise<number> {
  const s = await listen();
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
