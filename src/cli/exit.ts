/** Exit codes and the top-level error handler shared by every command. */
import { ConfigError, LockHeldError, UnsafePathError, UsageError, describeError } from '../errors.js';
import { CommandUsageError } from './args.js';

/** 4 only with `check --exit-remedied`: healthy, but only after a remedy in this pass. */
export const EXIT = { ok: 0, unhealthy: 1, usage: 2, locked: 3, remedied: 4 } as const;

/** Map an error to its exit code and print it for a person. */
export function failWith(err: unknown): never {
  if (err instanceof ConfigError || err instanceof UsageError || err instanceof UnsafePathError) {
    process.stderr.write(`helpdesk-monitor: ${err.message}\n`);
    if (err instanceof CommandUsageError) process.stderr.write(`Run \`helpdesk-monitor ${err.command} --help\` for its options.\n`);
    else if (err instanceof UsageError) process.stderr.write('Run `helpdesk-monitor --help` for usage.\n');
    process.exit(EXIT.usage);
  }
  if (err instanceof LockHeldError) {
    process.stderr.write(`helpdesk-monitor: ${err.message}\n`);
    process.exit(EXIT.locked);
  }
  process.stderr.write(`helpdesk-monitor: ${describeError(err)}\n`);
  process.exit(EXIT.unhealthy);
}

/**
 * Run `stop` once on SIGINT/SIGTERM, then exit 0. A second signal exits at once with 128 + the
 * signal (130, 143): the operator insists, and whatever stop had left (an abandoned remedy) is in
 * the remedy journal for the next start. Past 10 s the exit is forced (0: the stop was asked for).
 */
export function exitOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: NodeJS.Signals): void => {
    if (stopping) process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    stopping = true;
    const force = setTimeout(() => process.exit(EXIT.ok), 10_000);
    force.unref();
    stop().then(
      () => process.exit(EXIT.ok),
      () => process.exit(EXIT.unhealthy),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
