/** Steps of an action, each reported with its duration: shared by remedies and wrapper commands. */
import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';

/** Reports one step: call begin, then the returned function when it ends. */
export interface StepReporter {
  begin(label: string): (ok: boolean, detail: string) => void;
}

export interface RecordedStep {
  readonly step: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail: string;
}

export type StepOutcome<T> = { readonly ok: true; readonly value: T; readonly detail: string } | { readonly ok: false; readonly value?: T; readonly detail: string };

/** Run one step: report its start and end; a thrown error is a failed step, never an exception. */
export async function runStep<T>(reporter: StepReporter, label: string, run: () => Promise<T>, describe: (v: T) => readonly [boolean, string]): Promise<StepOutcome<T>> {
  const end = reporter.begin(label);
  try {
    const value = await run();
    const [ok, detail] = describe(value);
    end(ok, detail);
    return ok ? { ok, value, detail } : { ok, value, detail };
  } catch (err) {
    const detail = describeError(err);
    end(false, detail);
    return { ok: false, detail };
  }
}

/** A reporter that records the steps (for the remedy's story in the log and the state file). */
export function recordingReporter(clock: Clock, forward?: StepReporter): StepReporter & { readonly steps: RecordedStep[] } {
  const steps: RecordedStep[] = [];
  return {
    steps,
    begin(label) {
      const started = clock.now();
      const next = forward?.begin(label);
      return (ok, detail) => {
        steps.push({ step: label, ok, ms: clock.now() - started, detail });
        next?.(ok, detail);
      };
    },
  };
}
