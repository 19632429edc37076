/**
 * Step output for the wrapper commands: a spinner on a terminal, plain lines otherwise (cron,
 * CI, pipes); every finished step shows its duration. Writes to stderr so stdout stays for --json.
 * Without a terminal a step is one line, written when it ends: a line at the start too would
 * print every step twice in a cron mail or a CI log. A step still running after a while gets one
 * `… label (still running)` line, so a slow step is seen while it is slow.
 */
import type { StepReporter } from '../engine/operate.js';
import { formatDuration } from '../config/duration.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Without a terminal, a step running this long is announced once. */
export const STILL_RUNNING_AFTER_MS = 2000;

/** Where the steps go: stderr, or anything with write (tests pass a fake). */
export interface StepStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export interface ReporterOptions {
  /** Announce a step still running after this long (non-terminal only; default STILL_RUNNING_AFTER_MS). */
  readonly stillRunningAfterMs?: number;
  /** CI set means plain lines even on a terminal (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/** A reporter for `stream`; `prefix` names the app. */
export function terminalReporter(stream: StepStream = process.stderr, prefix = '', options: ReporterOptions = {}): StepReporter {
  const tty = stream.isTTY === true && (options.env ?? process.env)['CI'] === undefined;
  const slowMs = options.stillRunningAfterMs ?? STILL_RUNNING_AFTER_MS;
  return {
    begin(label) {
      const started = performance.now();
      let frame = 0;
      let timer: NodeJS.Timeout | undefined;
      if (tty) {
        timer = setInterval(() => stream.write(`\r${FRAMES[frame++ % FRAMES.length]} ${prefix}${label} `), 80);
      } else {
        timer = setTimeout(() => stream.write(`… ${prefix}${label} (still running)\n`), slowMs);
        timer.unref(); // a note about the step must not keep the process alive after it
      }
      return (ok, detail) => {
        clearTimeout(timer); // the spinner too: Node's timers share one clear
        const took = formatDuration(performance.now() - started);
        stream.write(`${tty ? '\r\x1b[K' : ''}${ok ? '✔' : '✘'} ${prefix}${label} (${took})${detail ? `: ${detail}` : ''}\n`);
      };
    },
  };
}

/** A reporter that prints nothing (for --json). */
export const silentReporter: StepReporter = { begin: () => () => undefined };
