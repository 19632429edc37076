/** `helpdesk-monitor update APP` and `rollback APP`: one git update (or rollback), gated by health. */
import { updateOnce } from '../app/update-once.js';
import { UsageError } from '../errors.js';
import { pm2Home } from '../paths.js';
import type { UpdateOutcome, UpdateReport } from '../update/run-update.js';
import { storyLines } from '../update/story.js';
import { parse } from './args.js';
import { optionalConfig } from './context.js';
import { EXIT } from './exit.js';
import { printJson } from './json.js';

export const updateHelp = `Usage: helpdesk-monitor update APP [--config FILE] [--dry-run] [--to SHA] [--retry] [--json]

One update check of APP's git work tree (its update: block), as the schedule runs it: fetch the
branch (no prompts, with a deadline), refuse if the tree has local changes, local commits or a
rewritten remote, else fast-forward, run the update commands, reload the app through PM2 and
wait until it is online and every probe passes. Any failure after the merge rolls back to the
previous commit (a reset that keeps local changes, the commands, reload, verify) and marks the
commit bad, so it is skipped until a newer one arrives. One update at a time per repo: another
answers exit 3.

Options:
  -c, --config FILE   config file with the app's update: block
      --dry-run       fetch and say what would happen; move nothing
      --to SHA        update to this commit of the remote branch instead of its tip
      --retry         try a commit marked bad again (and resume updates stopped by a failed rollback)
      --json          print one JSON document on stdout
  -h, --help          this help

Exit codes: 0 applied or up to date (--dry-run: would update), 1 refused, skipped (a bad
commit, a pause, an open circuit, stopped updates), failed or rolled back, 2 bad usage or no update: block, 3 an update of the repo is in progress.

Example:
  helpdesk-monitor update helpdesk-backend --dry-run --config /etc/helpdesk-monitor.yaml
`;

export const rollbackHelp = `Usage: helpdesk-monitor rollback APP [--config FILE] [--json]

Step APP back to the commit its last applied update replaced: a git reset that keeps local
changes (it never discards one), the update commands, reload through PM2, and verify health.
The commit rolled back from is marked bad, so the schedule does not apply it again until a
newer commit arrives (or an update with the retry flag).

Options:
  -c, --config FILE   config file with the app's update: block
      --json          print one JSON document on stdout
  -h, --help          this help

Exit codes: 0 rolled back and healthy, 1 failed, 2 bad usage or no update: block, 3 an update of
the repo is in progress.

Example:
  helpdesk-monitor rollback helpdesk-backend
`;

/** Skipped (a bad commit, a pause, an open circuit, a halt) is not ok: what was asked did not happen. */
const OK: ReadonlySet<UpdateOutcome> = new Set(['applied', 'up_to_date', 'would_update']);

export async function updateMain(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, to: { type: 'string' }, retry: { type: 'boolean' },
  });
  if (values.help) return void process.stdout.write(updateHelp);
  const { config, app } = target('update', positionals, values.config);
  if (values.to !== undefined && !/^[0-9a-fA-F]{4,64}$/.test(values.to)) throw new UsageError(`--to expects a commit SHA (4 to 64 hex digits), got ${JSON.stringify(values.to)}`);
  const report = await updateOnce(config, app, {
    trigger: 'cli', ...(values['dry-run'] ? { dryRun: true } : {}), ...(values.to ? { to: values.to } : {}), ...(values.retry ? { retry: true } : {}),
  }, { pm2Home: pm2Home() });
  finish(report, values.json === true, OK);
}

export async function rollbackMain(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parse(argv, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } });
  if (values.help) return void process.stdout.write(rollbackHelp);
  const { config, app } = target('rollback', positionals, values.config);
  const report = await updateOnce(config, app, 'rollback', { pm2Home: pm2Home() });
  finish(report, values.json === true, new Set(['rolled_back']));
}

function target(command: string, positionals: readonly string[], configFlag: string | undefined) {
  if (positionals.length !== 1) throw new UsageError(`${command} takes one app name (got ${positionals.length === 0 ? 'none' : positionals.join(' ')})`);
  const name = positionals[0]!;
  const config = optionalConfig(configFlag, pm2Home());
  if (!config) throw new UsageError(`${command} needs a config with the app's update: block: pass --config FILE (or set HELPDESK_MONITOR_CONFIG)`);
  const app = config.apps.find((a) => a.name === name);
  if (!app) throw new UsageError(`no app named ${name} in ${config.source} (apps: ${config.apps.map((a) => a.name).join(', ')})`);
  if (!app.update) throw new UsageError(`${name} has no update: block in ${config.source}`);
  return { config, app };
}

function finish(report: UpdateReport, json: boolean, ok: ReadonlySet<UpdateOutcome>): void {
  if (json) printJson(toJson(report));
  else {
    const lines = report.story ? storyLines(report.story) : [`${report.app}: ${report.outcome.replace(/_/g, ' ')}: ${report.detail}`];
    if (report.resumed) lines.unshift(...storyLines(report.resumed));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  process.exitCode = report.outcome === 'busy' ? EXIT.locked : ok.has(report.outcome) ? EXIT.ok : EXIT.unhealthy;
}

/** The report as scripts read it: snake_case, durations in *_ms. */
export function toJson(r: UpdateReport): Record<string, unknown> {
  const story = (s: NonNullable<UpdateReport['story']>) => ({
    id: s.id, trigger: s.trigger, at: s.at, result: s.result, from: s.from, to: s.to, duration_ms: s.ms, detail: s.detail,
    steps: s.steps.map((st) => ({ name: st.name, ok: st.ok, duration_ms: st.ms, ...(st.exitCode === undefined ? {} : { exit_code: st.exitCode }), detail: st.detail, ...(st.tail ? { tail: st.tail } : {}) })),
  });
  return {
    app: r.app, outcome: r.outcome, ok: OK.has(r.outcome) || (r.outcome === 'rolled_back' && r.story?.trigger === 'rollback'), detail: r.detail,
    ...(r.repo ? { repo: r.repo } : {}), ...(r.head ? { head: r.head } : {}), ...(r.tip ? { tip: r.tip } : {}),
    ...(r.refusal ? { refusal: { kind: r.refusal.kind, text: r.refusal.text, files: r.refusal.files, way_out: r.refusal.wayOut } } : {}),
    ...(r.story ? { story: story(r.story) } : {}),
    ...(r.resumed ? { resumed: story(r.resumed) } : {}),
  };
}
