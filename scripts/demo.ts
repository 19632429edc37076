/**
 * `npm run demo`: an isolated PM2 daemon, the example HelpDesk backend under it, the real
 * monitor (`helpdesk-monitor run`) as a child whose log lines are shown indented, then three
 * faults one after another (a crash, a hang, a port squatter), each timed from injection to the
 * first 200 on /health served by a NEW pid. Everything started here is cleaned up on success,
 * on errors and on Ctrl-C. Exit 0 when all three healed, 1 when one did not within 20 s.
 */
import { readFileSync } from 'node:fs';
import { injectFault, waitForNewPid, waitHealthy } from '../bench/lib/health.js';
import { Lab, type LabApp, type MonitorSettings } from '../bench/lib/lab.js';
import type { MonitorChild } from '../bench/lib/monitor-child.js';
import { findFreePorts, portHolders } from '../bench/lib/ports.js';
import { Output } from '../bench/lib/progress.js';
import { secs, table } from '../bench/lib/stats.js';

const APP = 'helpdesk-backend';
const HEAL_CAP_MS = 20_000;
const SETTINGS: MonitorSettings = { interval: '1s', timeout: '500ms', failureThreshold: 2, startupGrace: '2s' };
const GRACE_MS = 2000;

type FaultKind = 'crash' | 'hang' | 'squatter';

interface FaultResult {
  readonly kind: FaultKind;
  readonly ms?: number;
  readonly oldPid: number;
  readonly newPid?: number;
  readonly healedBy: string;
}

const out = new Output();
const lab = new Lab('demo', (l) => out.line(l));

/** "2025-01-02T10:11:12.345Z info  ..." -> "10:11:12.345 info  ..." */
function shorten(line: string): string {
  return line.replace(/^\d{4}-\d\d-\d\dT(\d\d:\d\d:\d\d\.\d{3})Z /, '$1 ');
}

/** One per failed listen in the app's error log (the stack prints the code twice). */
const EADDRINUSE = 'listen EADDRINUSE';

function countInFile(file: string, needle: string): number {
  try {
    return readFileSync(file, 'utf8').split(needle).length - 1;
  } catch {
    return 0;
  }
}

async function runFault(kind: FaultKind, monitor: MonitorChild, app: LabApp): Promise<FaultResult> {
  const oldPid = await lab.settle(app, {
    minUptimeMs: GRACE_MS + 200,
    monitor,
    onWait: (st) => out.progress(`   settling before the next fault: ${st}...`),
  });
  out.done();
  const before = await lab.info(app.name);
  const errsBefore = countInFile(lab.errLog(app.name), EADDRINUSE);
  out.line('');
  const titles: Record<FaultKind, string> = {
    crash: `crash: POST /__fault/crash (pid ${oldPid} exits with code 1)`,
    hang: `hang: SIGSTOP pid ${oldPid} (frozen, but PM2 keeps it 'online')`,
    squatter: `squatter: POST /__fault/squat (pid ${oldPid} hands port ${app.port} to a detached child, then crashes)`,
  };
  out.line(`== ${titles[kind]}`);
  const mark = monitor.mark();
  const t0 = performance.now();
  if (kind === 'hang') lab.freeze(oldPid);
  else void injectFault(app.port, kind === 'crash' ? 'crash' : 'squat');
  if (kind === 'hang') {
    const st = await lab.info(app.name);
    out.line(`   PM2 reports ${app.name}: status ${st.status}, pid ${st.pid}`);
  }
  const rec = await waitForNewPid(app.port, oldPid, {
    t0,
    capMs: HEAL_CAP_MS,
    pollMs: 10,
    signal: lab.abort.signal,
    onTick: (ms) => out.progress(`   waiting for a 200 on /health from a new pid... ${secs(ms, 1)}`),
  });
  out.done();
  if (kind === 'hang') lab.thaw(oldPid); // the monitor SIGKILLed it; a no-op then
  if (lab.interrupted) throw new Error('interrupted');

  // The monitor logs its report after its own verify, which may come just after our first 200.
  if (monitor.since(mark).some((l) => /starting remedy/.test(l))) {
    await monitor.waitFor(/remedy (succeeded|failed)/, 5000, mark).catch(() => undefined);
  }
  const remedyMs = monitor.remedyMsSince(mark);
  const lines = monitor.since(mark);
  let healedBy = remedyMs !== undefined ? `helpdesk-monitor (remedy took ${secs(remedyMs)})` : "PM2's own autorestart (the monitor only logged it)";
  if (kind === 'squatter') {
    const killed = lines.flatMap((l) => [...l.matchAll(/killed pid (\d+)/g)].map((m) => Number(m[1])));
    const after = await lab.info(app.name);
    const eaddr = countInFile(lab.errLog(app.name), EADDRINUSE) - errsBefore;
    const stray = portHolders([app.port]).filter((h) => h.pid !== rec?.pid);
    healedBy += killed.length ? `; squatter pid ${[...new Set(killed)].join(', ')} killed` : '';
    out.line(`   PM2 restart count +${after.restarts - before.restarts} (its autorestarts and the monitor's restart); EADDRINUSE in the app's error log: ${eaddr}`);
    if (stray.length) out.line(`   still holding port ${app.port}: ${stray.map((h) => `pid ${h.pid}`).join(', ')}`);
  }
  if (!rec) {
    out.line(`${kind.padEnd(10)} -> NOT healthy within ${HEAL_CAP_MS / 1000} s`);
    return { kind, oldPid, healedBy: 'not healed' };
  }
  out.line(`${kind.padEnd(10)} -> healthy again in ${secs(rec.ms)} (new pid ${rec.pid})`);
  return { kind, ms: rec.ms, oldPid, newPid: rec.pid, healedBy };
}

async function main(): Promise<number> {
  out.line('helpdesk-monitor demo: one crash, one hang, one port squatter, and how long each takes to heal');
  out.line('');
  const [port] = await findFreePorts(47400, 1);
  const app: LabApp = { name: APP, port: port! };
  const sb = await lab.open();
  out.line(`PM2      isolated daemon, PM2_HOME=${sb.home}`);
  await lab.startApp(app);
  out.progress('   waiting for the app to answer /health...');
  const pid = await waitHealthy(app.port);
  out.done();
  out.line(`app      ${APP} under PM2 on http://127.0.0.1:${app.port} (pid ${pid}, FAULTS=1)`);
  const config = lab.writeConfig([app], SETTINGS);
  out.line(`monitor  node dist/src/cli/index.js run --config ${config}`);
  out.line(`         interval ${SETTINGS.interval}, timeout ${SETTINGS.timeout}, failure_threshold ${SETTINGS.failureThreshold}, startup_grace ${SETTINGS.startupGrace}, ports [${app.port}]`);
  out.line('');
  const monitor = lab.startMonitor(config, { onLine: (t) => out.line(`    monitor | ${shorten(t)}`) });
  await monitor.waitFor(new RegExp(`\\[${APP}\\] \\w+ -> healthy`), 30_000);

  const results: FaultResult[] = [];
  for (const kind of ['crash', 'hang', 'squatter'] as const) {
    const r = await runFault(kind, monitor, app);
    results.push(r);
    if (r.ms === undefined) break;
  }

  out.line('');
  out.line('Summary: time from injecting the fault to the first 200 on /health from a new pid');
  const rows = (['crash', 'hang', 'squatter'] as const).map((kind) => {
    const r = results.find((x) => x.kind === kind);
    if (!r) return [kind, 'not run', '', ''];
    return [kind, r.ms === undefined ? `NOT within ${HEAL_CAP_MS / 1000} s` : secs(r.ms), r.newPid ? `${r.oldPid} -> ${r.newPid}` : `${r.oldPid}`, r.healedBy];
  });
  out.line(table(['fault', 'time to healthy', 'pid', 'healed by'], rows).replace(/^/gm, '  '));
  const ok = results.length === 3 && results.every((r) => r.ms !== undefined);
  return ok ? 0 : 1;
}

lab.installSignalHandlers();
main().then(
  async (code) => {
    if (lab.signalled) return; // the signal handler cleans up and exits
    const notes = await lab.cleanup();
    out.line('');
    for (const n of notes) out.line(`cleanup: ${n}`);
    out.line(code === 0 ? 'demo finished: all three faults healed' : 'demo FAILED: a fault did not heal in time');
    process.exit(code);
  },
  async (err: unknown) => {
    if (lab.signalled) return; // the signal handler cleans up and exits
    out.done();
    const monitor = lab.monitor;
    out.line(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`);
    if (monitor && !monitor.running) out.line(`the monitor had exited: ${monitor.describeExit()}`);
    const notes = await lab.cleanup();
    for (const n of notes) out.line(`cleanup: ${n}`);
    process.exit(1);
  },
);
