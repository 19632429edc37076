/** `install-service` / `uninstall-service`: `helpdesk-monitor run` as a hardened systemd service. */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, locateConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { ensurePrivateDir } from '../fsx/private-dir.js';
import { writeFileAtomic } from '../fsx/safe-write.js';
import { pm2Home, stateDir } from '../paths.js';
import { userName } from '../proc/users.js';
import { printable } from '../text/printable.js';
import { SERVICE_NAME, isOurServiceUnit, serviceUnit } from '../timer/service-unit.js';
import { parse } from './args.js';
import { printJson } from './json.js';
import { systemctl, systemctlPresent, unitDir } from './systemd-install.js';

const UNIT_FILE = `${SERVICE_NAME}.service`;

export const installHelp = `Usage: helpdesk-monitor install-service [--user U] [--unit-dir DIR] [--config FILE] [--dry-run] [--json]

Write a systemd unit (${UNIT_FILE}) that runs \`helpdesk-monitor run\` as a service, then
daemon-reload, enable and start it when systemctl is there. It runs as the PM2 daemon's user (the
owner of PM2_HOME), never as root unless --user root says so, with systemd's sandboxing on:
everything read-only but PM2_HOME and state_dir, no capabilities, a system-call filter, no
new privileges. Each relaxed setting is explained in a comment in the unit. Under a user that is
not root, other users' processes on an app's port are reported, never killed.

  -u, --user U        the account to run as (default: the owner of PM2_HOME; \`--user root\` only
                      when asked, with a warning). An unknown user exits 2.
      --unit-dir DIR  write the unit there instead of /etc/systemd/system (no systemctl calls)
  -c, --config FILE   the config run uses (default: as for every command); stored absolute
      --dry-run       print the unit, write nothing
      --json          one JSON document on stdout (the unit's path, user, directories, text)
  -h, --help          this help

PM2_HOME is taken from the environment, else the user's ~/.pm2 (with --user), else yours.

Examples:
  sudo PM2_HOME=/home/deploy/.pm2 helpdesk-monitor install-service --config /srv/helpdesk/monitor.yaml
  helpdesk-monitor install-service --dry-run
`;

export const uninstallHelp = `Usage: helpdesk-monitor uninstall-service [--unit-dir DIR] [--dry-run] [--json]

Remove the unit install-service wrote: stop and disable it, remove ${UNIT_FILE}, daemon-reload
(when systemctl is there). A ${UNIT_FILE} without install-service's marker line is someone
else's: it is left alone (exit 1). Safe to run when nothing is installed.

      --unit-dir DIR  where the unit is (default /etc/systemd/system; no systemctl calls then)
      --dry-run       say what would be removed, remove nothing
      --json          one JSON document on stdout
  -h, --help          this help

Example:
  sudo helpdesk-monitor uninstall-service
`;

interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** A user by name, through NSS (getent) and else /etc/passwd; undefined when there is none. */
export function lookUpUser(name: string): Account | undefined {
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8', timeout: 10_000 });
  let line = !r.error && r.status === 0 ? r.stdout.split('\n')[0] : undefined;
  if (line === undefined && (r.error || r.status !== 2)) {
    // No getent here: the passwd file alone.
    try {
      line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[0] === name);
    } catch {
      line = undefined;
    }
  }
  const f = line?.split(':');
  if (!f || f[0] !== name || f.length < 6) return undefined;
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  return Number.isInteger(uid) && Number.isInteger(gid) ? { name, uid, gid, home: f[5] ?? '/' } : undefined;
}

const say = (json: boolean, text: string): void => void (json ? process.stderr : process.stdout).write(text);

export async function installMain(argv: readonly string[]): Promise<void> {
  const { values } = parse(argv, {
    user: { type: 'string', short: 'u' }, 'unit-dir': { type: 'string' }, config: { type: 'string', short: 'c' },
    'dry-run': { type: 'boolean' }, json: { type: 'boolean' },
  });
  if (values.help) return void process.stdout.write(installHelp);
  const json = values.json === true;
  let account: Account | undefined;
  if (values.user !== undefined) {
    account = lookUpUser(values.user);
    if (!account) throw new UsageError(`--user: no user named "${printable(values.user)}" on this host (getent passwd knows none)`);
  }
  const home = process.env['PM2_HOME'] || !account ? pm2Home() : join(account.home, '.pm2');
  if (!account) {
    // The PM2 daemon's user: whoever owns PM2_HOME.
    let uid: number;
    try {
      uid = statSync(home).uid;
    } catch {
      throw new UsageError(`PM2_HOME ${printable(home)} does not exist: start PM2 as the user the monitor should run as, set PM2_HOME, or pass --user`);
    }
    const name = userName(uid);
    account = name ? lookUpUser(name) : undefined;
    if (!account) throw new UsageError(`PM2_HOME ${printable(home)} belongs to uid ${uid}, which has no user name: pass --user`);
    if (account.uid === 0) {
      throw new UsageError(`PM2_HOME ${printable(home)} belongs to root, so the service would run as root: pass --user root to accept that, or run PM2 as another user and point PM2_HOME at it`);
    }
  }
  if (account.uid === 0) process.stderr.write('warning: the service will run as root (--user root): it may kill any user\'s process that an app\'s kill_scope allows, and a flaw in it would be root\'s\n');
  const configPath = locateConfig(values.config, { ...process.env, PM2_HOME: home }, home).path;
  const config = loadConfig(configPath); // a config that fails would make the service exit 2 at every start
  const state = config.stateDir ? stateDir(config.stateDir) : join(home, 'helpdesk-monitor');
  const text = serviceUnit({ node: process.execPath, cli: fileURLToPath(new URL('./index.js', import.meta.url)), config: configPath, pm2Home: home, stateDir: state, user: account.name });
  const { dir, custom } = unitDir(values);
  const path = join(dir, UNIT_FILE);
  const warnings = [...ownerWarnings(home, account), ...readableWarnings(configPath, account)];
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  const doc = { unit_path: path, user: account.name, uid: account.uid, pm2_home: home, state_dir: state, config: configPath, dry_run: values['dry-run'] === true, unit: text, warnings };
  if (values['dry-run']) return json ? printJson(doc) : void process.stdout.write(text);
  if (existsSync(path) && !isOurServiceUnit(readFileSync(path, 'utf8'))) {
    throw new UsageError(`${printable(path)} exists and was not written by install-service (no marker line): move it away first`);
  }
  makeStateDir(state, account);
  mkdirSync(dir, { recursive: true });
  // Written as root into a directory that may be --unit-dir: a link planted at the path is replaced, never written through.
  writeFileAtomic(path, text, 0o644);
  say(json, `wrote ${printable(path)} (runs as ${account.name}; PM2_HOME ${printable(home)}; state_dir ${printable(state)})\n`);
  if (!custom && systemctlPresent()) {
    systemctl(false, ['daemon-reload']);
    systemctl(false, ['enable', '--now', UNIT_FILE]);
  } else if (custom) {
    say(json, `next: copy it to your systemd unit dir, then systemctl daemon-reload && systemctl enable --now ${UNIT_FILE}\n`);
  }
  if (json) printJson(doc);
}

/** The state dir: made private for the service's user (as root, handed to that user), or refused. */
function makeStateDir(dir: string, account: Account): void {
  const root = process.geteuid?.() === 0;
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (root && account.uid !== 0) chownSync(dir, account.uid, account.gid);
    return;
  }
  const st = statSync(dir);
  if (st.uid !== account.uid) throw new UsageError(`state_dir ${printable(dir)} belongs to uid ${st.uid}, not to ${account.name} (uid ${account.uid}): the service could not use it; chown it or choose another state_dir`);
  if (st.uid === process.geteuid?.()) ensurePrivateDir(dir);
}

/** PM2_HOME of another user: the service could not reach that daemon (its sockets are the owner's). */
function ownerWarnings(home: string, account: Account): string[] {
  try {
    const uid = statSync(home).uid;
    return uid === account.uid || account.uid === 0 ? [] : [`PM2_HOME ${printable(home)} belongs to ${userName(uid) ?? `uid ${uid}`}, not ${account.name}: the service could not reach that PM2 daemon; run it as the owner (the default without --user)`];
  } catch {
    // Made by us, it would be root's and the daemon's user could not use it.
    throw new UsageError(`PM2_HOME ${printable(home)} does not exist: start PM2 as ${account.name} first (its daemon creates it), or set PM2_HOME`);
  }
}

/** The config must be readable by the service's user: say so now rather than at every start. */
function readableWarnings(config: string, account: Account): string[] {
  if (account.uid === 0) return [];
  try {
    const st = statSync(config);
    const readable = st.uid === account.uid ? (st.mode & 0o400) !== 0 : st.gid === account.gid ? (st.mode & 0o040) !== 0 : (st.mode & 0o004) !== 0;
    return readable ? [] : [`${printable(config)} is not readable by ${account.name} (owner uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}): the service would exit 2 at start; chown or chmod it`];
  } catch {
    return [];
  }
}

export async function uninstallMain(argv: readonly string[]): Promise<void> {
  const { values } = parse(argv, { 'unit-dir': { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } });
  if (values.help) return void process.stdout.write(uninstallHelp);
  const json = values.json === true;
  const { dir, custom } = unitDir(values);
  const path = join(dir, UNIT_FILE);
  const present = existsSync(path);
  const ours = present && isOurServiceUnit(readFileSync(path, 'utf8'));
  const doc = { unit_path: path, present, ours, dry_run: values['dry-run'] === true, removed: false };
  if (!present) {
    say(json, `no ${UNIT_FILE} in ${printable(dir)}: nothing to remove\n`);
    return json ? printJson(doc) : undefined;
  }
  if (!ours) {
    if (json) printJson(doc);
    throw new Error(`${printable(path)} was not written by install-service (no marker line): left alone`);
  }
  if (values['dry-run']) {
    say(json, `would remove ${printable(path)}\n`);
    return json ? printJson(doc) : undefined;
  }
  const systemd = !custom && systemctlPresent();
  if (systemd) systemctl(false, ['disable', '--now', UNIT_FILE]);
  rmSync(path, { force: true });
  if (systemd) systemctl(false, ['daemon-reload']);
  say(json, `removed ${printable(path)}\n`);
  if (json) printJson({ ...doc, removed: true });
}
