/**
 * The typed errors of helpdesk-monitor. Every error carries the context an operator needs at
 * 3 a.m. (file, key, app, port, pid) and maps to one exit code in cli/.
 */

/** One problem found while validating a config file. */
export interface ConfigIssue {
  /** Dotted key path, e.g. `apps[0].health.timeout`. */
  readonly path: string;
  readonly message: string;
  /** The offending value, rendered for humans. */
  readonly value?: string;
}

export class HelpdeskError extends Error {
  override readonly name: string = 'HelpdeskError';
}

/** The config file is missing, unreadable or invalid. Exit code 2. */
export class ConfigError extends HelpdeskError {
  override readonly name = 'ConfigError';
  /** `headline`: the whole message when one sentence says it better than a list (a missing file). */
  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
    readonly headline?: string,
  ) {
    super(
      headline ??
        `invalid config ${file}:\n` +
          issues
            .map((i) => `  - ${i.path || '(root)'}: ${i.message}${i.value === undefined ? '' : ` (got ${i.value})`}`)
            .join('\n'),
    );
  }
}

/** Bad command-line usage. Exit code 2. */
export class UsageError extends HelpdeskError {
  override readonly name = 'UsageError';
}

/** A PM2 call failed or did not answer in time. */
export class Pm2Error extends HelpdeskError {
  override readonly name = 'Pm2Error';
  constructor(
    readonly operation: string,
    message: string,
    readonly app?: string,
    options?: { cause?: unknown },
  ) {
    super(`pm2 ${operation}${app ? ` ${app}` : ''}: ${message}`, options);
  }
}

/** Another live instance holds the single-instance lock. Exit code 3. */
export class LockHeldError extends HelpdeskError {
  override readonly name = 'LockHeldError';
  constructor(
    message: string,
    readonly holderPid: number,
  ) {
    super(message);
  }
}

/**
 * A folder or file of the monitor's own cannot be trusted: state_dir owned by another user or
 * writable by others, a log file that is a symbolic link. Exit code 2: the operator must fix it.
 */
export class UnsafePathError extends HelpdeskError {
  override readonly name = 'UnsafePathError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** What went wrong with the alarm table's database: unreachable (retry with backoff) or refused (a missing table, column or privilege). */
export interface SourceFault {
  readonly kind: 'unreachable' | 'refused';
  /** Stable for one cause (`ECONNREFUSED`, `ER_NO_SUCH_TABLE`): a new key is news. */
  readonly key: string;
  /** One line for the log: code, where, the server's words and the fix; never a credential. */
  readonly text: string;
}

/** A call to the alarm table's database failed or did not answer in time. Exit code 1 (`alarms`). */
export class AlarmSourceError extends HelpdeskError {
  override readonly name = 'AlarmSourceError';
  constructor(readonly fault: SourceFault) {
    super(fault.text);
  }
}

/** Render any thrown value as one line, without stack noise. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
