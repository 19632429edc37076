/**
 * Helpers for the restart-policy tests: a flapping app (exits with code 1 at boot, every time),
 * counting the starts PM2 made of an app from the daemon's own log, reading the monitor's
 * state.json, and picking the monitor's log lines about one app.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppStateRecord, StateDocument } from '../../src/engine/state-document.js';
import { freshDir } from './operator.js';
import type { Sandbox } from './sandbox.js';

/** Write the flapping script into a fresh dir under the sandbox home; returns its path. */
export function writeFlapScript(sb: Sandbox): string {
  const dir = freshDir(join(sb.home, 'apps'), 'flap');
  const file = join(dir, 'flap.js');
  writeFileSync(file, "// exits at boot, every time\nprocess.exit(1);\n");
  return file;
}

/**
 * PM2 options for the flapping app. `autorestart: false`: PM2 never restarts it by itself, so
 * every start after the first one is the monitor's. `max_restarts: 1` with a long `min_uptime`
 * makes PM2 mark it `errored` at each exit (the monitor sees that in the process list, without
 * depending on the bus).
 */
export function flapApp(name: string, script: string): Record<string, unknown> {
  return { name, script, autorestart: false, max_restarts: 1, min_uptime: 10_000 };
}

/** How many times the PM2 daemon started `name` (its `App [name:id] starting in` log lines). */
export function pm2Starts(sb: Sandbox, name: string): number {
  let text: string;
  try {
    text = readFileSync(join(sb.home, 'pm2.log'), 'utf8');
  } catch {
    return 0;
  }
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.match(new RegExp(`App \\[${esc}:\\d+\\] starting in`, 'g'))?.length ?? 0;
}

/** The state document, or undefined when missing or unreadable. */
export function readState(stateDir: string): StateDocument | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as StateDocument;
  } catch {
    return undefined;
  }
}

/** One app's record in state.json. */
export function appRecord(stateDir: string, app: string): AppStateRecord | undefined {
  return readState(stateDir)?.apps[app];
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The monitor's log lines about `app` (text format: `[app] message`). */
export function appLines(lines: readonly string[], app: string): string[] {
  const tag = `[${app}] `;
  return lines.filter((l) => l.includes(tag));
}

/** Log lines that start a remedy of `app` (normal or half-open trial). */
export function remedyStarts(lines: readonly string[], app: string): string[] {
  const re = new RegExp(`\\[${esc(app)}\\] unhealthy: .*; starting (the half-open trial )?remedy`);
  return lines.filter((l) => re.test(l));
}

/** A regexp for a log line about `app` whose message matches `message` (a regexp source). */
export function lineRe(app: string, message: string): RegExp {
  return new RegExp(`\\[${esc(app)}\\] ${message}`);
}

/** The wall-clock time (ms) a text-format log line was written (its leading ISO timestamp). */
export function lineTime(line: string): number {
  const t = Date.parse(line.slice(0, line.indexOf(' ')));
  if (!Number.isFinite(t)) throw new Error(`no timestamp in the log line: ${line}`);
  return t;
}

/** Sleep; only to show that something does NOT happen during a window. */
export const quietFor = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * A flapping app that can be fixed: it exits with code 1 at boot until `heal()` is called; from
 * then on it serves 200 on every path of 127.0.0.1:$PORT.
 */
export function writeHealableScript(sb: Sandbox): { script: string; heal(): void } {
  const dir = freshDir(join(sb.home, 'apps'), 'heal');
  const flag = join(dir, 'healed');
  const script = join(dir, 'healable.js');
  writeFileSync(
    script,
    [
      "const fs = require('fs');",
      `if (!fs.existsSync(${JSON.stringify(flag)})) process.exit(1);`,
      "require('http').createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');",
      '',
    ].join('\n'),
  );
  return { script, heal: () => writeFileSync(flag, 'yes\n') };
}
