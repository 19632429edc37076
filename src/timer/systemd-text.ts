/**
 * Writing values into a systemd unit file by systemd's own rules, for every unit we generate (the
 * timer fallback's, the service's): quoting, %-specifiers, $ expansion in ExecStart=, and a
 * refusal of control characters, which no quoting carries (a newline in a path would start a new
 * unit setting). Pure.
 */
import { UsageError } from '../errors.js';
import { firstControl, printable } from '../text/printable.js';

/** Refuse a value that no quoting can carry through a unit file or a crontab: a control character. */
export function refuseControls(what: string, value: string): void {
  const bad = firstControl(value);
  if (bad === undefined) return;
  throw new UsageError(
    `${what} "${printable(value)}" contains a control character (${printable(bad)}): a systemd unit or crontab line cannot carry it safely, so nothing was written; use a path without it`,
  );
}

/** Words that need no quoting in a unit file or in sh. */
export const PLAIN = /^[\w@%+=:,./-]+$/;

/** systemd's quoting: double quotes, inside which \ and " are backslash-escaped (C-style unescaping). */
export function systemdQuote(text: string): string {
  return PLAIN.test(text) ? text : `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** systemd expands %-specifiers in ExecStart=, Environment= and User=: a literal % is %%. */
export const specifiers = (text: string): string => text.replace(/%/g, '%%');

/** An argument of ExecStart=: %-specifiers at load, and $VAR / ${VAR} at run time ($$ is a literal $). */
export const execArg = (word: string): string => systemdQuote(specifiers(word).replace(/\$/g, () => '$$'));

/**
 * The executable of ExecStart=. systemd takes it literally after unquoting (no $ expansion: a $$
 * would stay $$) and refuses quotes and backslashes in it, whatever the quoting.
 */
export function execPath(path: string): string {
  if (/["'\\]/.test(path)) {
    throw new UsageError(`the node executable path "${printable(path)}" contains a quote or a backslash, which systemd refuses in an executable path; use --cron, or a node installed elsewhere`);
  }
  return systemdQuote(specifiers(path));
}

/** An Environment= assignment, quoted as a whole (systemd splits assignments on whitespace). */
export const envAssignment = (name: string, value: string): string => systemdQuote(`${name}=${specifiers(value)}`);

export function userLine(user: string | undefined): string {
  if (user === undefined) return '';
  refuseControls('the user name', user);
  if (!/^[^\s"'\\]+$/.test(user)) throw new UsageError(`the user name "${printable(user)}" cannot be written as systemd's User=; pass --user for a user unit`);
  return `User=${specifiers(user)}\n`;
}

