/** `install-timer` / `uninstall-timer`: the systemd timer or cron fallback that runs `check`. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFileAtomic } from '../fsx/safe-write.js';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDuration } from '../config/duration.js';
import { loadConfig, locateConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { ensurePrivateDir } from '../fsx/private-dir.js';
import { pm2Home, stateDir } from '../paths.js';
import { printable } from '../text/printable.js';
import { UNIT_NAME, cronLine, editCrontab, refuseUnsafeCommand, systemdUnits, type CheckCommand } from '../timer/units.js';
import { parse } from './args.js';
import { systemctl, unitDir } from './systemd-install.js';

export const installHelp = `Usage: helpdesk-monitor install-timer (--systemd | --cron) [--every 5m] [--config FILE]
                                     [--unit-dir DIR] [--user] [--crontab FILE]

Install the fallback watch: every interval, run \`helpdesk-monitor check\`. While the PM2 module
or \`run\` holds the lock, check exits 3 and the timer treats that as success.

  --systemd           write ${UNIT_NAME}.service and .timer (to /etc/systemd/system, or
                      ~/.config/systemd/user with --user, or --unit-dir DIR), then
                      daemon-reload and enable the timer when systemctl is there
  --cron              add one marked line to the user's crontab (idempotent: re-running
                      replaces it)

A path (config, PM2_HOME, state_dir, node) with a control character such as a newline is
refused with exit 2 before anything is written; other characters are quoted for systemd or cron.

  -e, --every DUR     interval (default 5m; cron needs minutes dividing 60 or hours dividing 24)
  -c, --config FILE   the config check uses (default: as for every command); stored as an
                      absolute path
      --unit-dir DIR  where to write the units (no systemctl calls then)
      --user          systemd user units
      --crontab FILE  edit this file instead of calling \`crontab\` (for /etc/cron.d-style or tests)
  -h, --help          this help

Examples:
  helpdesk-monitor install-timer --systemd --every 5m --config /srv/helpdesk/monitor.yaml
  helpdesk-monitor install-timer --cron --every 5m
`;

export const uninstallHelp = `Usage: helpdesk-monitor uninstall-timer (--systemd | --cron) [--unit-dir DIR] [--user] [--crontab FILE]

Remove what install-timer wrote: the systemd units (disabled first when systemctl is there) or
the marked crontab line (only lines in the exact form install-timer writes; every other byte of
the crontab stays as it was). Safe to run when nothing is installed.

Options (as for install-timer):
      --systemd       remove the units (from /etc/systemd/system, ~/.config/systemd/user with
                      --user, or --unit-dir DIR)
      --cron          remove the marked line from the user's crontab
      --unit-dir DIR  where the units are (no systemctl calls then)
      --user          systemd user units
      --crontab FILE  edit this file instead of calling \`crontab\`
  -h, --help          this help

Example:
  helpdesk-monitor uninstall-timer --cron
`;

const timerFlags = {
  systemd: { type: 'boolean' },
  cron: { type: 'boolean' },
  'unit-dir': { type: 'string' },
  user: { type: 'boolean' },
  crontab: { type: 'string' },
} as const;

function mode(values: { systemd?: boolean; cron?: boolean }): 'systemd' | 'cron' {
  if (values.systemd === values.cron) throw new UsageError('choose exactly one of --systemd or --cron');
  return values.systemd ? 'systemd' : 'cron';
}

function readCrontab(file: string | undefined): string {
  if (file) return existsSync(file) ? readFileSync(file, 'utf8') : '';
  const r = spawnSync('crontab', ['-l'], { encoding: 'utf8' });
  if (r.error) throw new UsageError('no `crontab` command here: install cron, or use --systemd');
  return r.status === 0 ? r.stdout : ''; // "no crontab for user" exits 1
}

function writeCrontab(file: string | undefined, text: string): void {
  if (file) return void writeFileSync(file, text);
  execFileSync('crontab', ['-'], { input: text });
}

export async function installMain(argv: readonly string[]): Promise<void> {
  const { values } = parse(argv, { ...timerFlags, every: { type: 'string', short: 'e' }, config: { type: 'string', short: 'c' } });
  if (values.help) return void process.stdout.write(installHelp);
  const how = mode(values);
  const everyMs = parseDuration(values.every ?? '5m');
  if (everyMs === undefined || everyMs <= 0) throw new UsageError(`--every: expected a duration like 5m, got "${printable(values.every ?? '')}"`);
  const home = pm2Home();
  const configPath = locateConfig(values.config, process.env, home).path;
  const cmd: CheckCommand = { node: process.execPath, cli: fileURLToPath(new URL('./index.js', import.meta.url)), config: configPath, pm2Home: home };
  refuseUnsafeCommand(cmd); // before the config is even read: nothing of a refused install is left behind
  const config = loadConfig(configPath); // refuse to schedule a config that would fail every run
  const dir = stateDir(config.stateDir);
  // Everything is generated (and every value checked) before the first write.
  if (how === 'systemd') {
    const { dir: units, custom } = unitDir(values, values.user === true);
    const root = process.getuid?.() === 0;
    const { service, timer } = systemdUnits(cmd, everyMs, !values.user && !root ? userInfo().username : undefined);
    makeStateDir(dir);
    mkdirSync(units, { recursive: true });
    // A link planted at a unit path is replaced, never written through (this runs as root).
    writeFileAtomic(join(units, `${UNIT_NAME}.service`), service, 0o644);
    writeFileAtomic(join(units, `${UNIT_NAME}.timer`), timer, 0o644);
    process.stdout.write(`wrote ${printable(join(units, `${UNIT_NAME}.service`))} and ${UNIT_NAME}.timer\n`);
    if (!custom) {
      systemctl(values.user === true, ['daemon-reload']);
      systemctl(values.user === true, ['enable', '--now', `${UNIT_NAME}.timer`]);
    } else {
      process.stdout.write(`next: copy them to your systemd unit dir, then systemctl daemon-reload && systemctl enable --now ${UNIT_NAME}.timer\n`);
    }
    return;
  }
  const line = cronLine(cmd, everyMs, join(dir, 'cron.log'));
  const current = readCrontab(values.crontab);
  makeStateDir(dir);
  writeCrontab(values.crontab, editCrontab(current, line));
  process.stdout.write(`crontab: ${line}\n`);
}

/** The state dir holds the lock, state.json and the logs: make it now, private (or refuse it). */
function makeStateDir(dir: string): void {
  ensurePrivateDir(dir);
  process.stdout.write(`state and log directory: ${printable(dir)}\n`);
}

export async function uninstallMain(argv: readonly string[]): Promise<void> {
  const { values } = parse(argv, timerFlags);
  if (values.help) return void process.stdout.write(uninstallHelp);
  if (mode(values) === 'systemd') {
    const { dir, custom } = unitDir(values, values.user === true);
    if (!custom) systemctl(values.user === true, ['disable', '--now', `${UNIT_NAME}.timer`]);
    for (const ext of ['service', 'timer']) rmSync(join(dir, `${UNIT_NAME}.${ext}`), { force: true });
    if (!custom) systemctl(values.user === true, ['daemon-reload']);
    process.stdout.write(`removed ${UNIT_NAME}.service and .timer from ${printable(dir)}\n`);
    return;
  }
  const current = readCrontab(values.crontab);
  const next = editCrontab(current, undefined);
  if (next === current) return void process.stdout.write('no helpdesk-monitor line in the crontab: nothing changed\n');
  writeCrontab(values.crontab, next);
  process.stdout.write('removed the helpdesk-monitor line from the crontab\n');
}
