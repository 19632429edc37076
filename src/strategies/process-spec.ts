/** The process strategy's spec for an app: its command, directory, pidfile, log and scope. Pure. */
import { dirname, join } from 'node:path';
import type { AppConfig } from '../config/schema.js';
import { stateDir } from '../paths.js';
import type { ProcessSpec } from './types.js';

/** The spec of an app with a `process:` block. */
export function processSpecOf(app: AppConfig): ProcessSpec {
  const p = app.process!;
  // Without `cwd`, the command's own directory: never the monitor's (`/` under systemd, which
  // would make every daemon "run in the app's directory").
  const cwd = p.cwd ?? commandDir(p.command);
  return {
    appName: app.name, command: p.command, ...(cwd === undefined ? {} : { cwd }),
    ...(p.pidfile ? { pidfile: p.pidfile } : {}),
    ...(p.pattern ? { pattern: p.pattern } : {}),
    logFile: p.logFile ?? join(cwd ?? stateDir(undefined), `${app.name}.log`),
    stopGraceMs: p.stopGraceMs, ports: app.ports, killScope: app.killScope, killGraceMs: app.killGraceMs,
  };
}

const SYSTEM_BIN = new Set(['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']);

/**
 * The directory of a command (pure): of its first absolute-path argument (`node /srv/app/server.js`
 * -> /srv/app, whatever the interpreter's path), else of the program itself unless it is a system
 * program. Undefined when there is none: then no directory identifies the app, and never `/`.
 */
export function commandDir(command: string): string | undefined {
  const words = command.trim().split(/\s+/).map((w) => w.replace(/^['"]+|['"]+$/g, ''));
  const arg = words.slice(1).find((w) => w.startsWith('/'));
  const dir = arg !== undefined ? dirname(arg) : words[0]?.startsWith('/') && !SYSTEM_BIN.has(dirname(words[0])) ? dirname(words[0]) : undefined;
  return dir === undefined || dir === '/' ? undefined : dir;
}
