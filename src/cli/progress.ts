/**
 * Step output for the wrapper commands: a spinner on a terminal, plain lines otherwise (cron,
 * CI, pipes); every finished step shows its duration. Writes to stderr so stdout stays for --json.
 */
import type { StepReporter } from '../engine/operate.js';
import { formatDuration } from '../config/duration.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** A reporter for `stream`; `prefix` names the app. */
export function terminalReporter(stream: NodeJS.WriteStream = process.stderr, prefix = ''): StepReporter {
  const tty = stream.isTTY === true && process.env['CI'] === undefined;
  return {
    begin(label) {
      const started = performance.now();
      let frame = 0;
      let spinner: NodeJS.Timeout | undefined;
      if (tty) {
        spinner = setInterval(() => stream.write(`\r${FRAMES[frame++ % FRAMES.length]} ${prefix}${label} `), 80);
      } else {
        stream.write(`… ${prefix}${label}\n`);
      }
      return (ok, detail) => {
        if (spinner) clearInterval(spinner);
        const took = formatDuration(performance.now() - started);
        stream.write(`${tty ? '\r\x1b[K' : ''}${ok ? '✔' : '✘'} ${prefix}${label} (${took})${detail ? `: ${detail}` : ''}\n`);
      };
    },
  };
}

/** A reporter that prints nothing (for --json). */
export const silentReporter: StepReporter = { begin: () => () => undefined };
