import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  freePortsPlan,
  type Effect,
  type EffectAnswer,
  type FreePortsRequest,
  type FreePortsResult,
  type PortHolder,
  type Snapshot,
} from '../../../src/ports/free-port.js';
import type { ScopeContext } from '../../../src/ports/scope.js';

const ME = 1000;

/** A scripted process in the fake world. */
interface FakeProc {
  readonly pid: number;
  readonly uid?: number;
  readonly command?: string;
  readonly cwd?: string;
  readonly sockets: readonly { readonly port: number; readonly socket: string }[];
  /** What SIGTERM does: close the sockets after `termCloseMs`, or nothing. */
  readonly onTerm: 'exit' | 'ignore';
  readonly termCloseMs?: number;
  /** Sockets stay open this long after SIGKILL (Infinity: never, e.g. stuck in D state). */
  readonly killCloseMs?: number;
}

interface SignalSent {
  readonly pid: number;
  readonly signal: 'SIGTERM' | 'SIGKILL';
  readonly at: number;
}

/** A fake world with a fake clock that advances only on 'sleep' effects. */
class FakeWorld {
  t = 0;
  readonly effects: Effect[] = [];
  readonly signals: SignalSent[] = [];
  private readonly closesAt = new Map<number, number>();
  /** Sockets nobody we can see owns. */
  hidden: { port: number; socket: string }[] = [];
  /** Sockets that show up in 'listening' answers after the first look. */
  late: { port: number; socket: string; from: number }[] = [];

  constructor(readonly procs: FakeProc[]) {}

  private open(p: FakeProc): boolean {
    const at = this.closesAt.get(p.pid);
    return at === undefined || this.t < at;
  }

  answer(effect: Effect): EffectAnswer {
    this.effects.push(effect);
    switch (effect.kind) {
      case 'find': {
        const holders: PortHolder[] = [];
        for (const p of this.procs) {
          if (!this.open(p)) continue;
          for (const s of p.sockets) {
            if (!effect.ports.includes(s.port)) continue;
            holders.push({ ...s, pid: p.pid, uid: p.uid ?? ME, command: p.command ?? `proc-${p.pid}`, ...(p.cwd ? { cwd: p.cwd } : {}) });
          }
        }
        const snapshot: Snapshot = { holders, hidden: this.hidden.filter((h) => effect.ports.includes(h.port)) };
        return snapshot;
      }
      case 'listening': {
        const open = new Set<string>();
        for (const p of this.procs) if (this.open(p)) for (const s of p.sockets) if (effect.ports.includes(s.port)) open.add(s.socket);
        for (const h of this.hidden) if (effect.ports.includes(h.port)) open.add(h.socket);
        for (const l of this.late) if (this.t >= l.from && effect.ports.includes(l.port)) open.add(l.socket);
        return open;
      }
      case 'signal': {
        const p = this.procs.find((x) => x.pid === effect.target.pid);
        this.signals.push({ pid: effect.target.pid, signal: effect.signal, at: this.t });
        if (!p || !this.open(p)) return false;
        if (effect.signal === 'SIGTERM' && p.onTerm === 'exit') this.closeAt(p.pid, this.t + (p.termCloseMs ?? 0));
        if (effect.signal === 'SIGKILL') this.closeAt(p.pid, this.t + (p.killCloseMs ?? 0));
        return true;
      }
      case 'sleep':
        assert.ok(effect.ms > 0, `sleep of ${effect.ms} ms`);
        this.t += effect.ms;
        return undefined;
    }
  }

  private closeAt(pid: number, at: number): void {
    const cur = this.closesAt.get(pid);
    if (cur === undefined || at < cur) this.closesAt.set(pid, at);
  }

  /** Run the plan to completion against this world. */
  run(req: Omit<FreePortsRequest, 'now'>): FreePortsResult {
    const plan = freePortsPlan({ ...req, now: () => this.t });
    let step = plan.next();
    for (let guard = 0; !step.done; guard++) {
      assert.ok(guard < 10_000, 'the plan does not terminate');
      step = plan.next(this.answer(step.value));
    }
    return step.value;
  }

  signalsOf(kind: 'SIGTERM' | 'SIGKILL'): SignalSent[] {
    return this.signals.filter((s) => s.signal === kind);
  }
}

const scope = (patch: Partial<ScopeContext> = {}): ScopeContext => ({
  protectedPids: new Map([[1, 'PID 1 (init)']]),
  scope: 'app',
  app: { uid: ME, pmIds: new Set(), instances: new Map([[100, undefined], [101, undefined], [102, undefined]]) },
  ...patch,
});

const sock = (port: number, socket: string): { port: number; socket: string } => ({ port, socket });

describe('freePortsPlan', () => {
  test('no holders: free, no signals, no sleeps', () => {
    const w = new FakeWorld([]);
    const r = w.run({ ports: [5000, 5001], scope: scope(), graceMs: 2000 });
    assert.equal(r.free, true);
    assert.deepEqual(r.ports, [5000, 5001]);
    assert.deepEqual(r.killed, []);
    assert.deepEqual(r.refused, []);
    assert.deepEqual(r.stillHeld, []);
    assert.deepEqual(r.wouldKill, []);
    assert.equal(r.elapsedMs, 0);
    assert.deepEqual(w.signals, []);
    assert.deepEqual(w.effects.map((e) => e.kind), ['find']);
  });

  test('duplicate ports are looked up once', () => {
    const w = new FakeWorld([]);
    const r = w.run({ ports: [5000, 5000], scope: scope(), graceMs: 10 });
    assert.deepEqual(r.ports, [5000]);
    assert.deepEqual(w.effects[0], { kind: 'find', ports: [5000] });
  });

  test('a holder that closes after SIGTERM is killed with SIGTERM only', () => {
    const w = new FakeWorld([{ pid: 100, command: 'node server.js', sockets: [sock(5000, 'i1')], onTerm: 'exit', termCloseMs: 10 }]);
    const r = w.run({ ports: [5000], scope: scope(), graceMs: 2000 });
    assert.equal(r.free, true);
    assert.deepEqual(r.stillHeld, []);
    assert.deepEqual(r.killed, [{ port: 5000, pid: 100, command: 'node server.js', uid: ME, signal: 'SIGTERM', why: 'an instance of the app (pid 100)' }]);
    assert.deepEqual(w.signalsOf('SIGKILL'), []);
    assert.ok(r.elapsedMs >= 10 && r.elapsedMs < 100, `elapsed ${r.elapsedMs}: polled until the socket closed, not the whole grace`);
  });

  test('a holder that ignores SIGTERM gets SIGKILL once the grace is over', () => {
    const w = new FakeWorld([{ pid: 101, sockets: [sock(5000, 'i1')], onTerm: 'ignore', killCloseMs: 5 }]);
    const r = w.run({ ports: [5000], scope: scope(), graceMs: 300 });
    assert.equal(r.free, true);
    assert.deepEqual(r.killed.map((k) => [k.pid, k.signal]), [
      [101, 'SIGTERM'],
      [101, 'SIGKILL'],
    ]);
    const [term] = w.signalsOf('SIGTERM');
    const [kill] = w.signalsOf('SIGKILL');
    assert.equal(term!.at, 0);
    assert.ok(kill!.at >= 300, `SIGKILL at ${kill!.at}, not before the grace`);
    assert.ok(kill!.at <= 300 + 50, `SIGKILL at ${kill!.at}, soon after the grace`);
    assert.ok(r.elapsedMs >= 305);
  });

  test('a holder whose socket survives SIGKILL leaves the port held after killWaitMs', () => {
    const w = new FakeWorld([{ pid: 102, sockets: [sock(5000, 'i1')], onTerm: 'ignore', killCloseMs: Infinity }]);
    const r = w.run({ ports: [5000], scope: scope(), graceMs: 100, killWaitMs: 200 });
    assert.equal(r.free, false);
    assert.deepEqual(r.stillHeld, [5000]);
    assert.ok(r.elapsedMs >= 300 && r.elapsedMs <= 400, `elapsed ${r.elapsedMs}`);
  });

  test('a refused holder is not signalled and keeps its port', () => {
    const w = new FakeWorld([{ pid: 4242, command: 'python3 -m http.server 5000', cwd: '/home/x', sockets: [sock(5000, 'i1')], onTerm: 'exit' }]);
    const r = w.run({ ports: [5000], scope: scope(), graceMs: 2000 });
    assert.deepEqual(w.signals, []);
    assert.equal(r.free, false);
    assert.deepEqual(r.stillHeld, [5000]);
    assert.deepEqual(r.killed, []);
    assert.equal(r.refused.length, 1);
    const refusal = r.refused[0]!;
    assert.equal(refusal.pid, 4242);
    assert.equal(refusal.port, 5000);
    assert.equal(refusal.command, 'python3 -m http.server 5000');
    assert.equal(refusal.uid, ME);
    assert.match(refusal.why, /kill_scope app/);
  });

  test('a protected holder is refused even with scope port', () => {
    const w = new FakeWorld([{ pid: 1, sockets: [sock(5000, 'i1')], onTerm: 'exit' }]);
    const r = w.run({ ports: [5000], scope: scope({ scope: 'port' }), graceMs: 2000 });
    assert.deepEqual(w.signals, []);
    assert.equal(r.free, false);
    assert.match(r.refused[0]!.why, /protected: PID 1/);
  });

  test('a hidden socket (no visible owner) is refused with pid 0', () => {
    const w = new FakeWorld([]);
    w.hidden = [sock(5001, 'h1')];
    const r = w.run({ ports: [5001], scope: scope({ scope: 'any' }), graceMs: 2000 });
    assert.deepEqual(w.signals, []);
    assert.equal(r.free, false);
    assert.deepEqual(r.stillHeld, [5001]);
    assert.equal(r.refused.length, 1);
    assert.equal(r.refused[0]!.pid, 0);
    assert.equal(r.refused[0]!.port, 5001);
    assert.match(r.refused[0]!.why, /not visible/);
  });

  test('mixed: the killable port is freed, the refused one stays held', () => {
    const w = new FakeWorld([
      { pid: 100, sockets: [sock(5000, 'a')], onTerm: 'exit' },
      { pid: 4242, sockets: [sock(5001, 'b')], onTerm: 'exit' },
    ]);
    const r = w.run({ ports: [5000, 5001], scope: scope(), graceMs: 2000 });
    assert.deepEqual(w.signals.map((s) => s.pid), [100]);
    assert.deepEqual(r.stillHeld, [5001]);
    assert.equal(r.free, false);
    assert.deepEqual(r.killed.map((k) => k.pid), [100]);
    assert.deepEqual(r.refused.map((k) => k.pid), [4242]);
  });

  test('dryRun fills wouldKill and sends no signal at all', () => {
    const w = new FakeWorld([
      { pid: 100, command: 'node server.js', sockets: [sock(5000, 'a'), sock(5001, 'b')], onTerm: 'exit' },
      { pid: 101, sockets: [sock(5002, 'c')], onTerm: 'exit' },
      { pid: 4242, sockets: [sock(5003, 'd')], onTerm: 'exit' },
    ]);
    const r = w.run({ ports: [5000, 5001, 5002, 5003], scope: scope(), graceMs: 2000, dryRun: true });
    assert.equal(w.effects.filter((e) => e.kind === 'signal').length, 0);
    assert.deepEqual(w.signals, []);
    assert.deepEqual(r.killed, []);
    assert.deepEqual(r.wouldKill.map((k) => [k.pid, k.signal]), [
      [100, 'SIGTERM'],
      [101, 'SIGTERM'],
    ]);
    assert.equal(r.wouldKill[0]!.command, 'node server.js');
    assert.deepEqual(r.refused.map((x) => x.pid), [4242]);
    assert.deepEqual(r.stillHeld, [5000, 5001, 5002, 5003]);
    assert.equal(r.free, false);
  });

  test('a pid holding two ports is signalled once', () => {
    const w = new FakeWorld([{ pid: 100, sockets: [sock(5000, 'a'), sock(5001, 'b')], onTerm: 'exit', termCloseMs: 3 }]);
    const r = w.run({ ports: [5000, 5001], scope: scope(), graceMs: 2000 });
    assert.deepEqual(w.signals.map((s) => [s.pid, s.signal]), [[100, 'SIGTERM']]);
    assert.equal(r.killed.length, 1);
    assert.equal(r.free, true);
  });

  test('a pid that ignores SIGTERM on two ports gets one SIGTERM and one SIGKILL', () => {
    const w = new FakeWorld([{ pid: 100, sockets: [sock(5000, 'a'), sock(5001, 'b')], onTerm: 'ignore' }]);
    w.run({ ports: [5000, 5001], scope: scope(), graceMs: 50 });
    assert.deepEqual(w.signals.map((s) => s.signal), ['SIGTERM', 'SIGKILL']);
  });

  test('two pids sharing one socket are both signalled', () => {
    const w = new FakeWorld([
      { pid: 100, sockets: [sock(5000, 'shared')], onTerm: 'exit' },
      { pid: 101, sockets: [sock(5000, 'shared')], onTerm: 'exit' },
    ]);
    const r = w.run({ ports: [5000], scope: scope(), graceMs: 2000 });
    assert.deepEqual(w.signals.map((s) => s.pid).sort(), [100, 101]);
    assert.equal(r.free, true);
  });

  test('a signal to an already-gone pid is not reported as a kill', () => {
    const w = new FakeWorld([{ pid: 100, sockets: [sock(5000, 'a')], onTerm: 'exit' }]);
    // the process vanishes between the look and the signal
    const plan = freePortsPlan({ ports: [5000], scope: scope(), graceMs: 100, now: () => w.t });
    let step = plan.next();
    while (!step.done) {
      const e = step.value;
      step = plan.next(e.kind === 'signal' ? false : e.kind === 'listening' ? new Set<string>() : w.answer(e));
    }
    assert.deepEqual(step.value.killed, []);
    assert.equal(step.value.free, true);
  });

  test('a socket that appears after the first look is not counted as stillHeld', () => {
    const w = new FakeWorld([{ pid: 100, sockets: [sock(5000, 'old')], onTerm: 'exit', termCloseMs: 5 }]);
    w.late = [{ port: 5000, socket: 'new-after-restart', from: 1 }];
    const r = w.run({ ports: [5000], scope: scope(), graceMs: 2000 });
    assert.deepEqual(r.stillHeld, []);
    assert.equal(r.free, true);
    assert.deepEqual(r.killed.map((k) => k.pid), [100]);
  });

  test('sleeps back off but never overshoot the deadline', () => {
    const w = new FakeWorld([{ pid: 100, sockets: [sock(5000, 'a')], onTerm: 'ignore' }]);
    w.run({ ports: [5000], scope: scope(), graceMs: 1000 });
    const sleeps = w.effects.filter((e): e is Extract<Effect, { kind: 'sleep' }> => e.kind === 'sleep').map((e) => e.ms);
    assert.equal(sleeps[0], 2);
    assert.ok(Math.max(...sleeps) <= 50, `max sleep ${Math.max(...sleeps)}`);
    const killAt = w.signalsOf('SIGKILL')[0]!.at;
    assert.equal(killAt, 1000, 'the last sleep is trimmed to land on the deadline');
  });
});
