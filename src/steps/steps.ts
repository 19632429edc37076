/** Steps of an action, each reported with its duration: shared by remedies and wrapper commands. */
import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import { redactText } from '../redact.js';

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

/**
 * Run one step: report its start and end; a thrown error is a failed step, never an exception.
 * Labels and details quote health URLs and error messages: they leave here redacted, since they
 * end up on terminals, in state.json and in notifications.
 */
export async function runStep<T>(reporter: StepReporter, label: string, run: () => Promise<T>, describe: (v: T) => readonly [boolean, string]): Promise<StepOutcome<T>> {
  const end = reporter.begin(redactText(label));
  try {
    const value = await run();
    const [ok, raw] = describe(value);
    const detail = redactText(raw);
    end(ok, detail);
    return ok ? { ok, value, detail } : { ok, value, detail };
  } catch (err) {
    const detail = redactText(describeError(err));
    end(false, detail);
    return { ok: false, detail };
  }
}

/** A reporter that records the steps (for the remedy's story in the log and the state file). */
export function recordingReporter(clock: Clock, forward?: StepReporter): StepReporter & { readonly steps: RecordedStep[] } {
  const steps: RecordedStep[] = [];
  return {
    steps,
    begin(raw) {
      const started = clock.now();
      // Not every step goes through runStep: what is recorded is redacted here too.
      const label = redactText(raw);
      const next = forward?.begin(label);
      return (ok, detail) => {
        const shown = redactText(detail);
        steps.push({ step: label, ok, ms: clock.now() - started, detail: shown });
        next?.(ok, shown);
      };
    },
  };
}

/** `inner` seeing only redacted labels and details (terminal output of the wrapper commands). */
export function redactingReporter(inner: StepReporter): StepReporter {
  return {
    begin(label) {
      const end = inner.begin(redactText(label));
      return (ok, detail) => end(ok, redactText(detail));
    },
  };
}
