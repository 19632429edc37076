/** `helpdesk-monitor start|restart|reload|stop TARGET`: the PM2 wrapper of the original scripts. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config/load.js';
import { parseDuration } from '../config/duration.js';
import { UsageError } from '../errors.js';
import { operate, startEcosystem, type Operation, type OperationResult } from '../engine/operate.js';
import { redactingReporter } from '../steps/steps.js';
import { redactText } from '../redact.js';
import { freedJson, printJson } from './json.js';
import { pm2Home, stateDir } from '../paths.js';
import { killLogIn } from '../ports/kill-log.js';
import { createHttpProber } from '../probes/http.js';
import { parse } from './args.js';
import { appConfigFor, connect, optionalConfig } from './context.js';
import { EXIT } from './exit.js';
import { silentReporter, terminalReporter } from './progress.js';

export const helpFor = (op: Operation): string => `Usage: helpdesk-monitor ${op} <APP|all|ECOSYSTEM_FILE> [--config FILE] [--timeout 30s] [--json]

${{
  start: 'Free the app\'s ports (sparing its live instances), start it through PM2, wait until it is\nonline and its health URL answers.',
  restart: 'Stop the app through PM2, free its ports (killing strays under its kill_scope), start it,\nwait until it is online and its health URL answers.',
  reload: 'Free the app\'s ports from strays (sparing its live instances), reload it through PM2\n(zero-downtime in cluster mode), wait until it is online and healthy.',
  stop: 'Stop the app through PM2, then confirm its ports are free (freeing leftovers under its\nkill_scope).',
}[op]}

Ports and health URLs come from the config (--config, $HELPDESK_MONITOR_CONFIG or
\`pm2 set helpdesk-monitor:config\`), or from the ecosystem file given as the target. An app the
config does not list is handled by PM2 status alone.

Options:
  -c, --config FILE    config file
  -t, --timeout DUR    how long to wait for healthy (default: the app's verify_timeout, 30s)
      --json           print the results as JSON on stdout (steps are not shown)
  -h, --help           this help

Exit codes: 0 the goal state was reached, 1 it was not, 2 bad usage or invalid config.

Examples:
  helpdesk-monitor ${op} helpdesk-backend
  helpdesk-monitor ${op} ${op === 'start' ? 'ecosystem.config.js' : 'all --timeout 1m'}
`;

export function mainFor(op: Operation) {
  return async function main(argv: readonly string[]): Promise<void> {
    const { values, positionals } = parse(argv, {
      config: { type: 'string', short: 'c' },
      timeout: { type: 'string', short: 't' },
      json: { type: 'boolean' },
    });
    if (values.help) {
      process.stdout.write(helpFor(op));
      return;
    }
    const target = positionals[0];
    if (!target || positionals.length > 1) throw new UsageError(`${op} takes exactly one target: an app name, "all" or an ecosystem file`);
    const timeoutMs = values.timeout === undefined ? undefined : parseDuration(values.timeout);
    if (timeoutMs === undefined && values.timeout !== undefined) throw new UsageError(`--timeout: expected a duration like 30s or 2m, got "${values.timeout}"`);

    const home = pm2Home();
    const isFile = /\.(c|m)?js$|\.json$|\.ya?ml$/i.test(target) && existsSync(target);
    const config = isFile ? loadConfig(resolve(target)) : optionalConfig(values.config, home);
    const pm2 = await connect(home, op === 'start');
    const prober = createHttpProber();
    const deps = { pm2, prober, clock: systemClock, killLog: killLogIn(stateDir(config?.stateDir), op) };
    const reporter = (app: string) => (values.json ? silentReporter : redactingReporter(terminalReporter(process.stderr, app ? `${app}: ` : '')));
    let results: OperationResult[] = [];
    try {
      if (isFile && op === 'start') {
        results = await startEcosystem(resolve(target), config?.apps ?? [], deps, reporter(''), timeoutMs);
      } else {
        const names = isFile
          ? (config?.apps.map((a) => a.name) ?? [])
          : target === 'all'
            ? [...new Set((await pm2.list()).filter((p) => !p.isModule && p.name !== 'helpdesk-monitor' && String(p.pmId) !== process.env['pm_id']).map((p) => p.name))]
            : [target];
        for (const name of names) results.push(await operate(op, appConfigFor(name, config), deps, reporter(name), timeoutMs === undefined ? {} : { timeoutMs }));
      }
    } finally {
      prober.close();
      await pm2.close();
    }
    const ok = results.length > 0 && results.every((r) => r.ok);
    if (values.json) {
      printJson({ operation: op, target, ok, results: results.map((r) => ({ app: r.app, ok: r.ok, detail: r.detail, ...(r.ports ? { ports: freedJson(r.ports) } : {}) })) });
    } else {
      // The steps went to stderr as they ran; the outcome is the command's output.
      for (const r of results) process.stdout.write(`${r.ok ? 'OK  ' : 'FAIL'} ${r.app}: ${redactText(r.detail)}\n`);
      if (results.length === 0) process.stdout.write(`nothing to ${op}: no apps matched "${target}"\n`);
    }
    process.exitCode = ok ? EXIT.ok : EXIT.unhealthy;
  };
}
