import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { APP_NAME_VAR, execCleanupsDone, probeExec, substituteAppName } from '../../../src/probes/exec.js';

// Real processes. Every long-lived one runs `sleep N` with an N unique to this run, so the tests
// find them by their exact command line and never mistake (or signal) anything they did not start.
const RUN = randomInt(100_000, 999_999);
const marker = (n: number): string => `${n}${RUN}`;
const trashFiles: string[] = [];

interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly pgrp: number;
  readonly state: string;
  readonly startTicks: number;
  readonly argv: readonly string[];
}

/** /proc/<pid>, read here independently of src/ (undefined when gone). */
function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { pid, state: f[0]!, ppid: Number(f[1]), pgrp: Number(f[2]), startTicks: Number(f[19]), argv };
  } catch {
    return undefined;
  }
}

function allProcs(): Proc[] {
  const out: Proc[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const p = readProc(Number(e));
    if (p) out.push(p);
  }
  return out;
}

const live = (p: Proc): boolean => p.state !== 'Z' && p.state !== 'X';

/** Live processes running exactly `sleep <marker>`. */
function sleepers(...markers: string[]): Proc[] {
  return allProcs().filter((p) => live(p) && p.argv.length === 2 && p.argv[0]!.endsWith('sleep') && markers.includes(p.argv[1]!));
}

function stillAlive(p: Proc): boolean {
  const now = readProc(p.pid);
  return now !== undefined && now.startTicks === p.startTicks && live(now);
}

/** Our own children, zombies included: after a probe resolves there must be none. */
const myChildren = (): Proc[] => allProcs().filter((p) => p.ppid === process.pid);

afterEach(async () => {
  // A probe is decided at its deadline; reaping what it killed may end a moment later.
  await execCleanupsDone();
  const left = myChildren();
  assert.deepEqual(left.map((p) => `${p.pid} ${p.state} ${p.argv.join(' ')}`), [], 'no child (nor zombie) left behind');
});

after(() => {
  // Only if a test failed: end what this run started (exact markers, unique to the run).
  const all = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => marker(3000 + i));
  for (const p of sleepers(...all)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const f of trashFiles) rmSync(f, { force: true });
});

const spec = (command: string, patch: Partial<{ timeoutMs: number; appName: string; cwd: string; env: NodeJS.ProcessEnv }> = {}) => ({
  command,
  timeoutMs: 5000,
  appName: 'helpdesk',
  ...patch,
});

describe('probeExec', () => {
  test('exit 0 is ok with a latency', async () => {
    const r = await probeExec(spec('exit 0'));
    assert.equal(r.ok, true);
    assert.equal(r.exitCode, 0);
    assert.ok(r.latencyMs >= 0 && r.latencyMs < 5000, String(r.latencyMs));
  });

  test('a non-zero exit is an exit failure with the code and the stderr tail', async () => {
    const r = await probeExec(spec('echo "to stdout"; echo "db: connection lost" >&2; exit 3'));
    assert.ok(!r.ok);
    assert.equal(r.failure, 'exit');
    assert.equal(r.exitCode, 3);
    assert.equal(r.signal, undefined);
    assert.equal(r.detail, 'exit code 3: db: connection lost');
  });

  test('without stderr the stdout tail explains, on one line', async () => {
    const r = await probeExec(spec('printf "status:\\n  degraded\\n\\tqueue full\\n"; exit 1'));
    assert.ok(!r.ok);
    assert.equal(r.detail, 'exit code 1: status: degraded queue full');
  });

  test('a nonexistent command is exit 127', async () => {
    const r = await probeExec(spec(`no-such-command-${RUN} --check`));
    assert.ok(!r.ok);
    assert.equal(r.failure, 'exit');
    assert.equal(r.exitCode, 127);
    assert.match(r.detail, /^exit code 127: .*not found/);
  });

  test('death by a signal is an exit failure naming the signal', async () => {
    const r = await probeExec(spec('kill -TERM $$'));
    assert.ok(!r.ok);
    assert.equal(r.failure, 'exit');
    assert.equal(r.signal, 'SIGTERM');
    assert.equal(r.exitCode, undefined);
    assert.match(r.detail, /^killed by SIGTERM/);
  });

  test('cwd and env are passed; stdin is closed', async () => {
    const dir = tmpdir();
    const ok = await probeExec(spec('test "$(pwd -P)" = "$(cd "$WANT" && pwd -P)" && test "$FLAG" = on && ! read -r _', {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', WANT: dir, FLAG: 'on' },
    }));
    assert.deepEqual([ok.ok, ok.ok ? '' : ok.detail], [true, '']);
  });

  test('a missing cwd is a spawn failure', async () => {
    const r = await probeExec(spec('exit 0', { cwd: join(tmpdir(), `no-such-dir-${RUN}`) }));
    assert.ok(!r.ok);
    assert.equal(r.failure, 'spawn');
    assert.match(r.detail, /cwd .*no-such-dir-\d+ is not a directory/);
  });

  test('an environment spawn refuses (a NUL in the name) is a spawn failure, not a throw', async () => {
    const r = await probeExec(spec('exit 0', { appName: 'bad\0name' }));
    assert.ok(!r.ok);
    assert.equal(r.failure, 'spawn');
    assert.match(r.detail, /^cannot start \/bin\/sh: ERR_INVALID_ARG_VALUE: /);
  });

  describe('%s is the app name', () => {
    test('in every quoting context', async () => {
      for (const command of ['test "%s" = "my app"', 'test %s = "my app"', "test '%s' = \"my app\"", 'test "[%s]" = "[my app]" && test x%s = "xmy app"']) {
        const r = await probeExec(spec(command, { appName: 'my app' }));
        assert.deepEqual([command, r.ok, r.ok ? '' : r.detail], [command, true, '']);
      }
    });

    test('the name also comes as $HELPDESK_MONITOR_APP; \\%s stays literal', async () => {
      assert.equal(APP_NAME_VAR, 'HELPDESK_MONITOR_APP');
      const r = await probeExec(spec('test "$HELPDESK_MONITOR_APP" = "a b" && test \\%s = "%""s"', { appName: 'a b' }));
      assert.deepEqual([r.ok, r.ok ? '' : r.detail], [true, '']);
    });

    test('substitution is a quoted expansion, never the name itself', () => {
      assert.equal(substituteAppName('check %s'), 'check "${HELPDESK_MONITOR_APP}"');
      assert.equal(substituteAppName('check "--app=%s"'), 'check "--app=${HELPDESK_MONITOR_APP}"');
      assert.equal(substituteAppName("check '%s'"), `check ''"\${HELPDESK_MONITOR_APP}"''`);
      assert.equal(substituteAppName('echo "it\'s" %s "\\"%s"'), 'echo "it\'s" "${HELPDESK_MONITOR_APP}" "\\"${HELPDESK_MONITOR_APP}"');
      assert.equal(substituteAppName('date +\\%s'), 'date +\\%s');
      assert.equal(substituteAppName('no placeholder'), 'no placeholder');
    });

    test('a hostile name cannot inject a command and arrives verbatim', async () => {
      const dir = tmpdir();
      const pwned = (i: number): string => {
        const f = join(dir, `PWNED-${RUN}-${i}`);
        trashFiles.push(f);
        return f;
      };
      const names = [
        `x'; touch ${pwned(1)}; '`,
        `x"; touch ${pwned(2)}; "`,
        `$(touch ${pwned(3)})`,
        `\`touch ${pwned(4)}\``,
        `x\\'; touch ${pwned(5)} #`,
        `x\\"; touch ${pwned(6)} #`,
        `a\nb; touch ${pwned(7)}`,
        '*',
        '%s',
      ];
      for (const name of names) {
        for (const use of ['%s', '"%s"', "'%s'", '"--app=%s"', 'x%s']) {
          const want = use.replace(/['"]/g, '').replace('%s', () => name);
          const command = `test ${use} = "$WANT" && echo ${use} >/dev/null`;
          const r = await probeExec(spec(command, { appName: name, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', WANT: want } }));
          assert.deepEqual([name, use, r.ok, r.ok ? '' : r.detail], [name, use, true, '']);
        }
      }
      for (let i = 1; i <= 7; i++) assert.equal(existsSync(join(dir, `PWNED-${RUN}-${i}`)), false, `PWNED-${i} was created`);
    });
  });

  describe('timeouts kill the whole tree', () => {
    test('a hanging command is killed at its timeout', async () => {
      const m = marker(3006);
      const started = performance.now();
      const r = await probeExec(spec(`sleep ${m}`, { timeoutMs: 300 }));
      const took = performance.now() - started;
      assert.ok(!r.ok);
      assert.equal(r.failure, 'timeout');
      assert.match(r.detail, /^no exit within 300 ms, process tree killed/);
      // The command would sleep for days: 2 s of slack is for a loaded machine, not for the probe.
      assert.ok(took >= 290 && took < 300 + 2000, `took ${took} ms`);
      await execCleanupsDone();
      assert.deepEqual(sleepers(m), []);
    });

    test('children that hang, one escaped with setsid, leave no process behind', async () => {
      const [m1, m2] = [marker(3007), marker(3008)];
      const seen = new Map<string, Proc>();
      let polling = true;
      const poll = (): void => {
        if (!polling) return;
        for (const p of sleepers(m1, m2)) if (!seen.has(p.argv[1]!)) seen.set(p.argv[1]!, p);
        setTimeout(poll, 10);
      };
      poll();
      const started = performance.now();
      const r = await probeExec(spec(`sh -c 'sleep ${m1} & setsid sleep ${m2} & wait'; echo never`, { timeoutMs: 1000 }));
      const took = performance.now() - started;
      polling = false;
      assert.ok(!r.ok);
      assert.equal(r.failure, 'timeout');
      assert.ok(took < 1000 + 2000, `took ${took} ms`);
      // The test means something only if both sleepers ran, and the escaped one left our group.
      const [s1, s2] = [seen.get(m1), seen.get(m2)];
      assert.ok(s1 && s2, `both sleepers seen: ${[...seen.keys()].join(', ')}`);
      assert.notEqual(s2.pgrp, s1.pgrp, 'the setsid sleeper is in its own process group');
      await execCleanupsDone();
      assert.equal(stillAlive(s1), false, 'the grouped sleeper is gone');
      assert.equal(stillAlive(s2), false, 'the escaped sleeper is gone');
      assert.deepEqual(sleepers(m1, m2), []);
    });

    test('an abort ends it at once as a timeout', async () => {
      const m = marker(3009);
      const ac = new AbortController();
      const pending = probeExec(spec(`sleep ${m}`, { timeoutMs: 10_000 }), ac.signal);
      setTimeout(() => ac.abort(), 100);
      const started = performance.now();
      const r = await pending;
      assert.ok(performance.now() - started < 3000);
      assert.ok(!r.ok);
      assert.equal(r.failure, 'timeout');
      assert.match(r.detail, /^aborted, process tree killed/);
      await execCleanupsDone();
      assert.deepEqual(sleepers(m), []);
    });

    test('an already aborted signal starts nothing', async () => {
      const r = await probeExec(spec('exit 0'), AbortSignal.abort());
      assert.deepEqual(r, { ok: false, latencyMs: 0, failure: 'timeout', detail: 'aborted before it started' });
    });

    test('background jobs left by a finished command are ended with it', async () => {
      const m = marker(3005);
      const started = performance.now();
      const r = await probeExec(spec(`sleep ${m} & exit 0`));
      assert.equal(r.ok, true);
      assert.ok(performance.now() - started < 3000);
      assert.deepEqual(sleepers(m), []);
    });
  });

  describe('output is capped', () => {
    test('megabytes on stdout keep only the tail, without blocking the command', async () => {
      const r = await probeExec(spec("head -c 5000000 /dev/zero | tr '\\0' x; echo; echo END-OF-OUTPUT; exit 1"));
      assert.ok(!r.ok);
      assert.equal(r.failure, 'exit');
      assert.equal(r.exitCode, 1);
      assert.match(r.detail, /^exit code 1: …x+ END-OF-OUTPUT$/);
      assert.ok(r.detail.length <= 2100, `detail is ${r.detail.length} chars`);
    });

    test('megabytes on stderr too, and stderr wins over stdout', async () => {
      const r = await probeExec(spec('yes out | head -c 3000000; yes err | head -c 3000000 >&2; echo LAST-ERR >&2; exit 2'));
      assert.ok(!r.ok);
      assert.match(r.detail, /^exit code 2: …[er ]+ LAST-ERR$/);
      assert.ok(r.detail.length <= 2100, `detail is ${r.detail.length} chars`);
    });
  });
});
