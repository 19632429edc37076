/**
 * `reset`, `pause` and `resume`: operator input to the running monitor (and the next `check`).
 * Each records who asked (account, uid, this command's pid, sudo's user): the monitor's log
 * names them when it applies the change.
 */
import { pauseEnd, requestControl, requestDone, thisProcess, type ControlRequest } from '../app/control.js';
import { controlFilePath } from '../state/control.js';
import { UsageError } from '../errors.js';
import { pm2Home, stateDir } from '../paths.js';
import { parse } from './args.js';
import { optionalConfig } from './context.js';

const common = `Options:
  -c, --config FILE   config file (the app must be in it; its state_dir holds control.json)
  -h, --help          this help

The running monitor (module or \`run\`) picks the change up within a second and logs it with who
asked (user, uid, pid; sudo's user too); without one, the next \`check\` applies and logs it.
Exit codes: 0 done, 2 bad usage or invalid config.`;

export const resetHelp = `Usage: helpdesk-monitor reset APP [--config FILE]

Close APP's circuit breaker by hand: forget its failed remedies, failures in a row and backoff.
If the app is still unhealthy, the monitor remedies it again once failure_threshold checks in a
row have failed again.

${common}

Example:
  helpdesk-monitor reset helpdesk-backend
`;

export const pauseHelp = `Usage: helpdesk-monitor pause APP [--for 30m] [--config FILE]

Stop remedies for APP (a maintenance window): it is still probed and shown in \`status\`, but
never restarted. Without --for the pause lasts until \`helpdesk-monitor resume APP\`.

  -f, --for DUR       end the pause by itself after DUR (e.g. 30m, 2h)
${common}

Example:
  helpdesk-monitor pause helpdesk-backend --for 30m
`;

export const resumeHelp = `Usage: helpdesk-monitor resume APP [--config FILE]

End a pause started with \`helpdesk-monitor pause\`.

${common}

Example:
  helpdesk-monitor resume helpdesk-backend
`;

function target(argv: readonly string[], extra: Parameters<typeof parse>[1], help: string) {
  const { values, positionals } = parse(argv, { config: { type: 'string', short: 'c' }, ...extra });
  if (values.help) {
    process.stdout.write(help);
    return undefined;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one APP name');
  const app = positionals[0]!;
  const config = optionalConfig(typeof values.config === 'string' ? values.config : undefined, pm2Home());
  if (!config) throw new UsageError('no config: pass --config FILE (it names the apps and the state_dir)');
  if (!config.apps.some((a) => a.name === app)) throw new UsageError(`"${app}" is not in the config ${config.source}`);
  return { app, values, file: controlFilePath(stateDir(config.stateDir)) };
}

/** Write the request, and say what was done. */
function request(t: { app: string; file: string }, req: ControlRequest, after = ''): void {
  requestControl(t.file, t.app, req, thisProcess('cli'));
  process.stdout.write(`${requestDone(t.app, req)}${after}\n`);
}

export async function resetMain(argv: readonly string[]): Promise<void> {
  const t = target(argv, {}, resetHelp);
  if (!t) return;
  request(t, { kind: 'reset' }, ' (closed by the monitor within a second, or at the next check)');
}

export async function pauseMain(argv: readonly string[]): Promise<void> {
  const t = target(argv, { for: { type: 'string', short: 'f' } }, pauseHelp);
  if (!t) return;
  const raw = (t.values as { for?: string | boolean }).for; // parseArgs types only the common flags here
  let until: number | 'indefinite';
  try {
    until = pauseEnd(typeof raw === 'string' ? raw : undefined, Date.now());
  } catch (err) {
    throw new UsageError(`--for: ${err instanceof Error ? err.message : String(err)}`);
  }
  request(t, { kind: 'pause', until });
}

export async function resumeMain(argv: readonly string[]): Promise<void> {
  const t = target(argv, {}, resumeHelp);
  if (!t) return;
  request(t, { kind: 'resume' });
}
