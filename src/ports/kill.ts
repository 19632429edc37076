/**
 * The one road to a signal for any process the project did not spawn itself: judge the target
 * against the safety scope, re-check right before the signal that the pid still names the same
 * process (start time: pids are reused), then signal. Ports, strategies, probes and the engine
 * all come here; nothing else calls process.kill on a pid it was told about.
 */
import { isGoneState, procAvailable, readStat } from '../proc/read.js';
import { noteKill } from './kill-log.js';
import { judge, type HolderFacts, type ScopeContext, type Verdict } from './scope.js';

export type SignalOutcome = 'sent' | 'gone' | 'denied' | 'refused';

export interface SignalResult {
  readonly outcome: SignalOutcome;
  readonly verdict: Verdict;
  /** Why it was not sent (gone, pid reused, not permitted, refused by the scope). */
  readonly why?: string;
}

/** Judge, re-identify, signal; then write the kill log line (after the signal: it never delays one). Never throws. */
export function killJudged(target: HolderFacts, scope: ScopeContext, sig: NodeJS.Signals): SignalResult {
  const result = signalJudged(target, scope, sig);
  noteKill(scope.killLog, {
    outcome: result.outcome,
    pid: target.pid,
    ...(target.startTicks === undefined ? {} : { start_ticks: target.startTicks }),
    signal: sig,
    command: target.command,
    uid: target.uid,
    rule: result.verdict.rule,
    why: result.why === undefined ? result.verdict.why : `${result.why}; verdict: ${result.verdict.why}`,
    ...(scope.app.name === undefined ? {} : { app: scope.app.name }),
  });
  return result;
}

function signalJudged(target: HolderFacts, scope: ScopeContext, sig: NodeJS.Signals): SignalResult {
  const verdict = judge(target, scope);
  if (!verdict.kill) return { outcome: 'refused', verdict, why: verdict.why };
  if (procAvailable) {
    const now = readStat(target.pid);
    if (now === undefined || isGoneState(now.state)) return { outcome: 'gone', verdict, why: 'already gone' };
    if (target.startTicks !== undefined && now.startTicks !== target.startTicks) {
      return { outcome: 'gone', verdict, why: `pid ${target.pid} now names another process (started later): left alone` };
    }
  }
  try {
    process.kill(target.pid, sig);
    return { outcome: 'sent', verdict };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EPERM' ? { outcome: 'denied', verdict, why: 'not permitted to signal it' } : { outcome: 'gone', verdict, why: 'already gone' };
  }
}
