import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { MemoryTracker, rssOf, type MemoryOutcome } from '../../../src/probes/memory.js';
import { waitFor } from '../../helpers/wait.js';

const MiB = 1024 * 1024;

const detailOf = (o: MemoryOutcome | undefined): string => (o && !o.ok ? o.detail : `no failure: ${JSON.stringify(o)}`);

describe('MemoryTracker', () => {
  const feed = (t: MemoryTracker, samples: readonly number[]): MemoryOutcome[] => samples.map((s) => t.observe(s));

  test('needs `for` consecutive samples above the limit', () => {
    const t = new MemoryTracker(100 * MiB, 3);
    const [a, b, c, d] = feed(t, [150 * MiB, 150 * MiB, 150 * MiB, 160 * MiB]);
    assert.deepEqual(a, { ok: true, rssBytes: 150 * MiB, above: 1 });
    assert.deepEqual(b, { ok: true, rssBytes: 150 * MiB, above: 2 });
    assert.equal(c?.ok, false, `the third sample in a row fails: ${JSON.stringify(c)}`);
    assert.equal(c?.above, 3);
    assert.equal(c?.rssBytes, 150 * MiB);
    assert.equal(detailOf(c), 'memory 150.0 MiB above max_memory 100.0 MiB for 3 checks in a row');
    assert.equal(d?.ok, false, 'it keeps failing while memory stays high');
    assert.equal(d?.above, 4);
    assert.match(detailOf(d), /memory 160\.0 MiB above max_memory 100\.0 MiB for 4 checks in a row/);
  });

  test('a dip below the limit resets the count', () => {
    const t = new MemoryTracker(100 * MiB, 3);
    const out = feed(t, [101 * MiB, 101 * MiB, 50 * MiB, 101 * MiB, 101 * MiB]);
    assert.deepEqual(out.map((o) => o.ok), [true, true, true, true, true]);
    assert.deepEqual(out.map((o) => o.above), [1, 2, 0, 1, 2]);
    const third = t.observe(101 * MiB);
    assert.equal(third.ok, false);
    assert.equal(third.above, 3);
  });

  test('exactly at the limit is not above it', () => {
    const t = new MemoryTracker(100 * MiB, 2);
    const out = feed(t, Array.from({ length: 10 }, () => 100 * MiB));
    assert.ok(out.every((o) => o.ok && o.above === 0), JSON.stringify(out));
    // At the limit in the middle of a run resets it too.
    const mixed = feed(t, [100 * MiB + 1, 100 * MiB, 100 * MiB + 1]);
    assert.deepEqual(mixed.map((o) => [o.ok, o.above]), [[true, 1], [true, 0], [true, 1]]);
    assert.equal(t.observe(100 * MiB + 1).ok, false);
  });

  test('for: 1 fails on the first sample above the limit (like PM2 max_memory_restart)', () => {
    const t = new MemoryTracker(10 * MiB, 1);
    assert.equal(t.observe(10 * MiB).ok, true);
    const o = t.observe(10 * MiB + 1);
    assert.equal(o.ok, false);
    assert.equal(o.above, 1);
  });

  test('reset() forgets the samples above the limit (after a restart)', () => {
    const t = new MemoryTracker(100 * MiB, 3);
    feed(t, [200 * MiB, 200 * MiB]);
    t.reset();
    assert.deepEqual(feed(t, [200 * MiB, 200 * MiB]).map((o) => [o.ok, o.above]), [[true, 1], [true, 2]]);
    const failed = t.observe(200 * MiB);
    assert.equal(failed.ok, false);
    t.reset();
    assert.deepEqual(t.observe(200 * MiB), { ok: true, rssBytes: 200 * MiB, above: 1 });
  });
});

/** VmRSS of one pid from /proc, read here independently of src/ (0 when gone). */
function vmRss(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return Number(m?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Pids whose parent is `ppid`, from /proc/<pid>/stat. */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

const mib = (b: number): string => `${(b / MiB).toFixed(1)} MiB`;

describe('rssOf (real pids)', () => {
  const children: ChildProcess[] = [];
  after(() => {
    // Each child leads its own process group (detached): end the group, so grandchildren go too.
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null) continue; // reaped: its pid may be anyone's now
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  /** Spawn a process (group) we end in after(); resolves once it printed `ready` (or at once with no marker). */
  function start(cmd: string, args: readonly string[], ready = false): Promise<ChildProcess> {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    children.push(child);
    if (!ready) return Promise.resolve(child);
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve(child);
      });
      child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}) before it was ready: ${out}`)));
    });
  }

  // Holds 64 MiB of touched pages, then idles (its RSS no longer changes much).
  const HOLD = 'const b = Buffer.allocUnsafe(64 * 1024 * 1024).fill(1); console.log("ready"); setInterval(() => b[0]++, 1e6);';

  test('the test process itself has a resident size close to what Node reports', () => {
    const own = rssOf([process.pid], false);
    const node = process.memoryUsage().rss;
    assert.ok(own > 10 * MiB, `rssOf(self) = ${mib(own)}`);
    assert.ok(Math.abs(own - node) < 0.25 * node, `rssOf(self) = ${mib(own)}, process.memoryUsage().rss = ${mib(node)}`);
  });

  test('no pids, non-positive pids and pids that do not exist count 0', () => {
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
    assert.equal(rssOf([], false), 0);
    assert.equal(rssOf([], true), 0);
    assert.equal(rssOf([0, -1], false), 0);
    assert.equal(rssOf([pidMax + 1], true), 0);
  });

  test('a process that exited counts 0', async () => {
    const child = await start('sleep', ['0']);
    await new Promise((r) => child.once('exit', r));
    // Reaped by Node: the pid is gone (pid reuse within this instant is not a concern in a test).
    assert.equal(rssOf([child.pid!], false), 0);
  });

  test('with include_children a child\'s RSS is added', async () => {
    const child = await start(process.execPath, ['-e', HOLD], true);
    const childRss = vmRss(child.pid!);
    assert.ok(childRss > 64 * MiB, `the child holds 64 MiB: VmRSS ${mib(childRss)}`);
    assert.ok(rssOf([child.pid!], false) > 64 * MiB, `rssOf(child) = ${mib(rssOf([child.pid!], false))}`);
    const own = rssOf([process.pid], false);
    const withChildren = rssOf([process.pid], true);
    assert.ok(withChildren - own > 60 * MiB, `self ${mib(own)}, self + children ${mib(withChildren)}, child ${mib(childRss)}`);
    assert.ok(own < childRss + 200 * MiB && own > 0, `sanity: self ${mib(own)}`);
  });

  test('include_children reaches grandchildren, and counts every process once', async () => {
    // sh stays the parent (two commands), node is its child: our grandchild.
    const sh = await start('sh', ['-c', `"${process.execPath}" -e '${HOLD}'; true`], true);
    const shRss = vmRss(sh.pid!);
    const viaShell = rssOf([sh.pid!], true);
    assert.ok(viaShell - shRss > 64 * MiB, `sh ${mib(shRss)}, sh + descendants ${mib(viaShell)}`);
    assert.equal(rssOf([sh.pid!], false), shRss, 'without children only sh itself');

    // Stable RSS (sleep), so sums compare exactly: a pid given twice, or given and also a descendant, counts once.
    const quiet = await start('sh', ['-c', 'sleep 60; true']);
    // Until the forked child has exec'd sleep its RSS is a copy of sh's: wait for sleep itself.
    const isSleep = (pid: number): boolean => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'latin1').trim() === 'sleep';
      } catch {
        return false;
      }
    };
    const kids = await waitFor(() => `sh (pid ${quiet.pid}) running its sleep child: children ${childrenOf(quiet.pid!).join(',')}`, () => {
      const k = childrenOf(quiet.pid!);
      return k.length === 1 && isSleep(k[0]!) ? k : undefined;
    }, 10_000, 20);
    const sleepPid = kids[0]!;
    // Just after exec the loader is still faulting pages in: wait until two readings 100 ms apart agree.
    let last = -1;
    await waitFor(() => `the RSS of sh and sleep settling (last ${last})`, async () => {
      const now = vmRss(quiet.pid!) + vmRss(sleepPid);
      const settled = now === last;
      last = now;
      if (!settled) await new Promise((r) => setTimeout(r, 100));
      return settled;
    }, 10_000, 0);
    const both = vmRss(quiet.pid!) + vmRss(sleepPid);
    assert.ok(vmRss(sleepPid) > 0);
    assert.equal(rssOf([quiet.pid!], true), both);
    assert.equal(rssOf([quiet.pid!, sleepPid], true), both);
    assert.equal(rssOf([quiet.pid!, quiet.pid!, sleepPid], false), both);
  });
});
