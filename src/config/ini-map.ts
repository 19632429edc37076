/**
 * The mapping from monitor_service's config.ini onto our config (issue 13): [database] and
 * [monitor] check_interval -> `alarms:`, the circuit keys -> `defaults:`, [logging] -> `log:`,
 * [process.default] -> `defaults:`, each [process.NAME] -> one app. Pure: an INI document in, a
 * Model out. The password is never copied; what cannot be imported is kept as a comment and
 * listed as a warning, never dropped without a word.
 */
import { DEFAULT_PASSWORD_ENV } from './alarms.js';
import { comment, field, fieldOf, type AppBlock, type Item, type Model } from './ini-model.js';
import type { IniDocument, IniEntry, IniSection } from './import-ini.js';
import { closest } from './suggest.js';

type Converted = { readonly value: string | number } | { readonly error: string };
interface Rule {
  readonly to: string;
  readonly convert: (raw: string) => Converted;
  /** The trailing comment, given the INI value. */
  readonly note?: (raw: string) => string;
}

const seconds = (raw: string): Converted => (/^\d+(\.\d+)?$/.test(raw) ? { value: `${raw}s` } : { error: 'expected a number of seconds' });
const count = (raw: string): Converted => (/^\d+$/.test(raw) ? { value: Number(raw) } : { error: 'expected a whole number' });
const text = (raw: string): Converted => (raw === '' ? { error: 'the value is empty' } : { value: raw });

const DATABASE: Readonly<Record<string, Rule>> = {
  host: { to: 'host', convert: text }, port: { to: 'port', convert: count }, socket: { to: 'socket', convert: text },
  user: { to: 'user', convert: text }, database: { to: 'database', convert: text },
};
const MONITOR: Readonly<Record<string, Rule>> = {
  max_restart_failures: { to: 'max_restart_failures', convert: count, note: () => '[monitor] max_restart_failures' },
  circuit_reset_time: { to: 'circuit_reset_time', convert: seconds, note: () => '[monitor] circuit_reset_time (seconds)' },
};
const LOGGING: Readonly<Record<string, Rule>> = {
  max_log_size: { to: 'max_size', convert: (raw) => (/^\d+$/.test(raw) ? { value: `${raw}k` } : { error: 'expected a whole number of KB' }), note: (raw) => `[logging] max_log_size = ${raw} (KB)` },
  log_files_to_keep: { to: 'max_files', convert: count, note: () => '[logging] log_files_to_keep' },
};
const PROCESS: Readonly<Record<string, Rule>> = {
  restart_strategy: { to: 'restart_strategy', convert: text },
  pre_restart_command: { to: 'pre_restart_command', convert: text },
  health_check_command: { to: 'health_check_command', convert: text },
  // The INI's health_check_timeout is how long a restart may take to pass the check: our
  // verify_timeout. Ours of the same name bounds one run of the command.
  health_check_timeout: { to: 'verify_timeout', convert: seconds, note: (raw) => `health_check_timeout = ${raw}: how long a restart may take to pass the check` },
  restart_delay: { to: 'restart_delay', convert: seconds },
  max_attempts: { to: 'max_attempts', convert: count },
};
const COMMAND_KEYS = new Set(['pre_restart_command', 'health_check_command']);
const UNREAD = 'Not imported: sections monitor_service does not read (listed on stderr too).';
/** Keys whose values are never printed, not even commented out. */
const SECRET_KEY = /pass|pwd|secret|token|credential/i;

/** Map a parsed INI file onto the output model. */
export function mapIni(doc: IniDocument): Model {
  const warnings: string[] = [];
  const notes: string[] = [];
  const at = (line: number): string => `${doc.file}:${line}`;
  const find = (name: string): IniSection | undefined => doc.sections.find((s) => s.name === name);

  /** The items for a section's keys by `rules`; keys named in `skip` are the caller's. */
  const mapKeys = (section: IniSection, rules: Readonly<Record<string, Rule>>, skip: readonly string[] = []): Item[] =>
    section.entries.flatMap((e): Item[] => {
      if (skip.includes(e.key)) return [];
      const rule = Object.hasOwn(rules, e.key) ? rules[e.key] : undefined;
      if (!rule) return [unknownKey(section, e, [...Object.keys(rules), ...skip])];
      const cut = COMMAND_KEYS.has(e.key) && e.cutAtSemicolon !== undefined ? semicolonCut(section, e) : [];
      const c = rule.convert(e.value);
      if ('error' in c) {
        warnings.push(`${at(e.line)}: [${section.name}] ${e.key}: ${c.error}; left out (commented)`);
        return [...cut, comment(`not imported (line ${e.line}: ${c.error}): ${e.key} = ${e.value}`)];
      }
      return [...cut, field(rule.to, c.value, at(e.line), rule.note?.(e.value))];
    });

  const unknownKey = (section: IniSection, e: IniEntry, known: readonly string[]): Item => {
    const hint = closest(e.key, known);
    const why = `unknown key in [${section.name}]${hint ? `; did you mean ${hint}?` : ''}`;
    warnings.push(`${at(e.line)}: ${why}; left out (commented)`);
    const hidden = section.name === 'database' || SECRET_KEY.test(e.key);
    return comment(`not imported (line ${e.line}: ${why}): ${e.key} = ${hidden ? '(value left out: it may be a secret)' : e.value}`);
  };

  const semicolonCut = (section: IniSection, e: IniEntry): Item[] => {
    warnings.push(`${at(e.line)}: [${section.name}] ${e.key}: the text after " ;" was read as a comment (${e.cutAtSemicolon}); if it belongs to the command, put the whole value in quotes`);
    return [comment(`line ${e.line}: the text after " ;" was read as a comment: ${e.cutAtSemicolon}`)];
  };

  const model: Model = {
    file: doc.file, log: { items: [] }, defaults: { items: [] }, apps: [], trailer: [], warnings, notes,
  };

  // [database] and [monitor] check_interval: the alarm table trigger.
  const database = find('database');
  const monitor = find('monitor');
  const interval = monitor?.entries.find((e) => e.key === 'check_interval');
  if (database) {
    const items = mapKeys(database, DATABASE, ['password']);
    const host = database.entries.find((e) => e.key === 'host')?.value;
    if (host === 'localhost') {
      const i = items.findIndex((x) => x.kind === 'field' && x.key === 'host');
      items.splice(i, 0,
        comment('localhost as in the INI (the default is 127.0.0.1). The mysql client reads localhost as the'),
        comment('server\'s unix socket; this monitor connects over TCP. If the server listens on no TCP port,'),
        comment('replace host with socket: /var/lib/mysql/mysql.sock (or where my.cnf puts it).'));
    }
    if (interval) items.push(...mapKeys({ ...monitor!, entries: [interval] }, { check_interval: { to: 'interval', convert: seconds, note: () => '[monitor] check_interval (seconds)' } }));
    if (database.entries.find((e) => e.key === 'user')?.value === 'root') {
      items.push(...leastPrivilege(database.entries.find((e) => e.key === 'database')?.value ?? 'v_process_monitor'));
      warnings.push(`${at(database.line)}: [database] user is root: a least-privilege account is better (see the comment under alarms.user)`);
    }
    items.push(...passwordComments());
    const pw = database.entries.find((e) => e.key === 'password');
    if (pw) notes.push(`${at(pw.line)}: the password was not copied: put it in the environment variable ${DEFAULT_PASSWORD_ENV} of the monitor (or in a chmod 600 file named by alarms.password_file)`);
    model.alarms = { items };
  } else if (interval) {
    warnings.push(`${at(interval.line)}: [monitor] check_interval is the alarm table's poll interval, but there is no [database] section: left out (commented)`);
    model.trailer.push(`not imported (line ${interval.line}: no [database] section, so no alarms: block): check_interval = ${interval.value}`);
  }
  if (monitor) model.defaults.items.push(...mapKeys(monitor, MONITOR, ['check_interval']));

  const logging = find('logging');
  if (logging) model.log.items.push(...mapKeys(logging, LOGGING));

  // Our `process` strategy needs a command the INI does not have: such an app is written as auto
  // (see completeDefaults), with a placeholder to fill in.
  const fallback = find('process.default');
  const defaultStrategy = fallback?.entries.find((e) => e.key === 'restart_strategy');
  if (defaultStrategy?.value === 'process') {
    model.defaults.items.push(field('restart_strategy', 'auto', at(defaultStrategy.line), '[process.default] says process: see each app'));
  }
  if (fallback) {
    const items = mapKeys(fallback, PROCESS, defaultStrategy?.value === 'process' ? ['restart_strategy'] : []);
    if (fallback.entries.some((e) => COMMAND_KEYS.has(e.key) && e.value.includes('%s'))) {
      items.unshift(comment('%s in a command stands for the app name, as it did for the process name in the INI.'));
    }
    model.defaults.items.push(...items);
  }

  for (const section of doc.sections.filter((s) => /^process\../.test(s.name) && s.name !== 'process.default')) {
    const name = section.name.slice('process.'.length);
    const own = section.entries.find((e) => e.key === 'restart_strategy');
    const processLine = own?.value === 'process' ? own.line : own === undefined && defaultStrategy?.value === 'process' ? defaultStrategy.line : undefined;
    const items = mapKeys(section, PROCESS, own?.value === 'process' ? ['restart_strategy'] : []);
    if (processLine !== undefined) {
      warnings.push(`${at(processLine)}: [${section.name}] restart_strategy process: our process strategy needs the command that starts ${name} (a process: block); written as auto, with a commented process: block to fill in`);
      items.unshift(...processPlaceholder(name, own?.value === 'process' ? at(own.line) : undefined));
    }
    model.apps.push({ name, items } satisfies AppBlock);
  }
  if (model.apps.length === 0) {
    model.apps.push({ name: 'example', items: [
      comment('The INI has no [process.NAME] section. One app per process to watch goes here: its PM2 app'),
      comment('name or systemd unit name. `example` stands in so that this file loads; rename it.'),
    ] });
  }

  for (const section of doc.sections) {
    if (['database', 'monitor', 'logging'].includes(section.name) || /^process\../.test(section.name)) continue;
    warnings.push(`${at(section.line)}: section [${section.name}] is not one of monitor_service's ([database], [monitor], [logging], [process.NAME]); left out (commented)`);
    if (!model.trailer.includes(UNREAD)) model.trailer.push(UNREAD);
    model.trailer.push(`[${section.name}]  (line ${section.line})`);
    for (const e of section.entries) model.trailer.push(`  ${e.key} = ${SECRET_KEY.test(e.key) ? '(value left out: it may be a secret)' : e.value}`);
  }
  return model;
}

/**
 * What the defaults get once the check has switched off what would not load:
 * - restart_strategy auto when no strategy for every app is left. The original tried the systemd
 *   unit first, then the process itself; `auto` does that (and uses PM2 once PM2 lists the app),
 *   where our default, pm2, would do nothing for a process PM2 does not run.
 * - failure_window: the original counted failed restarts with no time limit; ours counts failed
 *   remedies within failure_window (10m unless set). Remedies driven by the alarm table come one
 *   poll apart, so N failures span (N-1) polls: a window of N polls keeps the circuit opening as
 *   it did. From the values that load (a refused max_restart_failures gives no window).
 */
export function completeDefaults(model: Model): void {
  if (!fieldOf(model.defaults, 'restart_strategy')) {
    model.defaults.items.push(field('restart_strategy', 'auto', model.file, 'the INI sets none for every process: the original tried the systemd unit, then the process'));
  }
  const failures = fieldOf(model.defaults, 'max_restart_failures');
  const poll = model.alarms && !model.alarms.off ? fieldOf(model.alarms, 'interval') : undefined;
  if (!failures || !poll || typeof failures.value !== 'number') return;
  const windowS = failures.value * Number(String(poll.value).replace(/s$/, ''));
  if (!(windowS > 600) || fieldOf(model.defaults, 'failure_window')) return;
  const at = model.defaults.items.indexOf(failures) + 1;
  model.defaults.items.splice(at, 0, field('failure_window', `${windowS}s`, failures.origin, 'max_restart_failures x check_interval: failed remedies one poll apart count together'));
}

/** The strategy the INI gave as `process`, written as auto with the block it needs. */
function processPlaceholder(name: string, ownKey: string | undefined): Item[] {
  return [
    ...(ownKey === undefined ? [] : [field('restart_strategy', 'auto', ownKey, 'the INI says process: see below')]),
    comment('restart_strategy process needs the command that starts the process, which the INI does not'),
    comment('have. Fill it in, uncomment these lines and set restart_strategy: process.'),
    comment('process:'),
    comment(`  command: /path/to/start-${name}   # runs under /bin/sh -c`),
  ];
}

function passwordComments(): Item[] {
  return [
    comment('The password is not copied here (a password in this file is refused). Put it in the'),
    comment(`monitor's environment variable ${DEFAULT_PASSWORD_ENV}, or in a file only the`),
    comment('monitor\'s user can read (chmod 600) and name that file:'),
    comment('password_file: /etc/helpdesk-monitor/db-password'),
  ];
}

function leastPrivilege(database: string): Item[] {
  return [
    comment('user is root in the INI: better an account that can do only what the monitor does, e.g.'),
    comment(`  CREATE USER 'helpdesk_monitor'@'localhost' IDENTIFIED BY '...';`),
    comment(`  GRANT SELECT ON ${database}.STATUS_PROCESS TO 'helpdesk_monitor'@'localhost';`),
    comment(`  GRANT SELECT ON ${database}.PROCESE TO 'helpdesk_monitor'@'localhost';`),
    comment('and only with on_success: clear or note: true (clear_sound adds the sound column):'),
    comment(`  GRANT UPDATE (alarma, notes) ON ${database}.STATUS_PROCESS TO 'helpdesk_monitor'@'localhost';`),
  ];
}

