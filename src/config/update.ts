/**
 * The per-app `update:` block (git auto-update with a health gate) and the top-level
 * `update_webhook:` block. Remote and branch names reach git as arguments, so they are checked
 * here once: nothing that starts with `-` (an option to git) or walks out of refs/ gets through.
 * The commands are the monitor's, read when an update starts; never taken from the deployed tree.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { durationIn } from './duration-schema.js';
import { parseSize } from './duration.js';

export const DEFAULT_WEBHOOK_SECRET_ENV = 'HELPDESK_MONITOR_WEBHOOK_SECRET';
export const DEFAULT_WEBHOOK_PORT = 47480;

export interface UpdateCommand {
  readonly command: string;
  readonly timeoutMs: number;
}

export interface UpdateConfig {
  /** Absolute path of the work tree; absent: the app's PM2 cwd. */
  readonly repo?: string;
  readonly remote: string;
  readonly branch: string;
  readonly intervalMs: number;
  readonly fetchTimeoutMs: number;
  /** Install/build steps, run with `sh -c` in the repo after the merge (and again after a rollback). */
  readonly commands: readonly UpdateCommand[];
  readonly reload: 'reload' | 'restart';
  /** Online and every probe healthy within this long after the reload. */
  readonly verifyTimeoutMs: number;
  /** Untracked files do not block an update (modified or staged ones always do). */
  readonly allowUntracked: boolean;
}

export interface WebhookConfig {
  readonly host: string;
  readonly port: number;
  readonly secret: { readonly kind: 'env'; readonly name: string } | { readonly kind: 'file'; readonly path: string };
  readonly maxBodyBytes: number;
}


/** A git remote name: a plain word, so it can never be read as an option or a URL. */
const remoteName = z.string({ error: 'expected a git remote name' }).regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/, 'expected a git remote name (letters, digits, . _ -; not starting with - or .)');
/**
 * A branch name as git-check-ref-format allows it, and never an option. The rules hold for every
 * `/`-separated part: `refs/heads/a/.b` or `a.lock/b` would only fail later, inside the fetch.
 * HEAD is no branch: the tree could never be "on" it, so every check would be refused. The first
 * rule broken is the one told.
 */
const BRANCH_RULES: readonly (readonly [(b: string) => boolean, string])[] = [
  [(b) => /^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$/.test(b), 'expected a branch name (letters, digits, . _ / -; not starting with - or .)'],
  [(b) => !b.includes('..'), 'expected a branch name without ".." (git refuses it)'],
  [(b) => b.split('/').every((part) => part !== '' && !part.startsWith('.')), 'expected a branch name whose parts between "/" are not empty and do not start with "." (git refuses them)'],
  [(b) => b.split('/').every((part) => !part.endsWith('.lock')) && !b.endsWith('.'), 'expected a branch name that does not end in "." and has no part ending in ".lock" (git refuses them)'],
  [(b) => b !== 'HEAD', 'expected a branch name: HEAD names the checked-out commit, not a branch (give the branch, e.g. main)'],
];
const branchName = z.string({ error: 'expected a branch name' }).superRefine((b, ctx) => {
  const broken = BRANCH_RULES.find(([holds]) => !holds(b));
  if (broken) ctx.addIssue({ code: 'custom', message: broken[1] });
});

const commandTimeout = durationIn(1000, 6 * 3_600_000, 'a command timeout');
const commandSchema = z.union(
  [
    z.string().min(1, 'expected a shell command'),
    z.strictObject({ run: z.string().min(1, 'expected a shell command'), timeout: commandTimeout.optional() }),
  ],
  { error: 'expected a shell command, or { run: COMMAND, timeout: DURATION }' },
);
const commandList = z
  .array(commandSchema, { error: 'expected a list of shell commands, e.g. [npm ci, npm run build]' })
  .max(20, 'expected at most 20 commands');

export const updateSchema = z
  .strictObject({
    repo: z
      .string({ error: 'expected the absolute path of the git work tree' })
      .refine(isAbsolute, 'expected an absolute path of the git work tree (a relative one would depend on where the monitor was started; ~ is not expanded)')
      .optional(),
    remote: remoteName.default('origin'),
    branch: branchName.optional(),
    /** seed 003's name for branch. */
    GIT_BRANCH: branchName.optional(),
    interval: durationIn(5000, 7 * 86_400_000, 'an update interval').default(300_000),
    fetch_timeout: durationIn(1000, 3_600_000, 'a fetch timeout').default(60_000),
    commands: commandList.optional(),
    /** `pm2 pull|forward`'s name for commands. */
    post_update: commandList.optional(),
    command_timeout: commandTimeout.default(600_000),
    reload: z.enum(['reload', 'restart'], { error: 'expected reload or restart' }).default('reload'),
    verify_timeout: durationIn(1000, 3_600_000, 'a verify timeout').optional(),
    allow_untracked: z.boolean({ error: 'expected true or false' }).default(false),
  }, { error: 'expected an update: block (a mapping; update: {} takes every default)' })
  .superRefine((u, ctx) => {
    if (u.branch !== undefined && u.GIT_BRANCH !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['GIT_BRANCH'], input: u.GIT_BRANCH, message: 'GIT_BRANCH is the old name of branch: give one of them' });
    }
    if (u.commands !== undefined && u.post_update !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['post_update'], input: '[...]', message: 'post_update is another name of commands: give one of them' });
    }
  });

export type RawUpdate = z.output<typeof updateSchema>;

export const UPDATE_KEYS: readonly string[] = [...Object.keys(updateSchema.shape), 'run', 'update', 'update_webhook', 'secret_env', 'secret_file', 'max_body'];

/** `fallbackVerifyMs`: startup_grace + failure_threshold x interval of the app. */
export function toUpdateConfig(u: RawUpdate, fallbackVerifyMs: number): UpdateConfig {
  const commands = (u.commands ?? u.post_update ?? []).map((c) =>
    typeof c === 'string' ? { command: c, timeoutMs: u.command_timeout } : { command: c.run, timeoutMs: c.timeout ?? u.command_timeout },
  );
  return {
    ...(u.repo ? { repo: u.repo } : {}),
    remote: u.remote,
    branch: u.branch ?? u.GIT_BRANCH ?? 'main',
    intervalMs: u.interval,
    fetchTimeoutMs: u.fetch_timeout,
    commands,
    reload: u.reload,
    verifyTimeoutMs: u.verify_timeout ?? fallbackVerifyMs,
    allowUntracked: u.allow_untracked,
  };
}

/** Not echoed when relative either: a value that is no absolute path may be the secret itself. */
export const secretFile = z.string({ error: 'expected the absolute path of the secret file' }).superRefine((v, ctx) => {
  if (!isAbsolute(v)) ctx.addIssue({ code: 'custom', input: '***', message: 'expected the absolute path of a chmod 600 file holding the secret, not the secret itself; the value is not shown' });
});
/** Not echoed when wrong: a secret_env that is no variable name may be the secret itself. */
export const envName = z.string({ error: 'expected an environment variable name' }).superRefine((v, ctx) => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) {
    ctx.addIssue({ code: 'custom', input: '***', message: 'expected the name of an environment variable that holds the secret (letters, digits, _), not the secret itself; the value is not shown' });
  }
});
const bodyCap = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = parseSize(v);
  if (n === undefined || n < 1024 || n > 16 * 1024 * 1024) {
    ctx.addIssue({ code: 'custom', message: 'expected a size from 1KB to 16MB (bytes, or 64k, 1MB)' });
    return z.NEVER;
  }
  return n;
});

export const HOST_HINT = 'expected the address to listen on, e.g. 127.0.0.1';
export const PORT_HINT = 'expected a port: an integer 0-65535 (0: any free port)';

export const webhookSchema = z
  .strictObject({
    host: z.string({ error: HOST_HINT }).min(1, HOST_HINT).default('127.0.0.1'),
    port: z.number({ error: PORT_HINT }).int(PORT_HINT).min(0, PORT_HINT).max(65535, PORT_HINT).default(DEFAULT_WEBHOOK_PORT),
    secret_env: envName.optional(),
    secret_file: secretFile.optional(),
    secret: z.unknown().superRefine((_v, ctx) => {
      ctx.addIssue({ code: 'custom', input: '***', message: `a secret in the config file is not accepted: put it in the environment variable named by secret_env (default ${DEFAULT_WEBHOOK_SECRET_ENV}) or in a chmod 600 file named by secret_file` });
    }).optional(),
    max_body: bodyCap.default(1024 * 1024),
  }, { error: 'expected an update_webhook: block (a mapping; update_webhook: {} takes every default)' })
  .superRefine((w, ctx) => {
    if (w.secret_env !== undefined && w.secret_file !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['secret_file'], input: w.secret_file, message: 'give secret_env or secret_file, not both' });
    }
  });

export function toWebhookConfig(w: z.output<typeof webhookSchema>): WebhookConfig {
  return {
    host: w.host,
    port: w.port,
    secret: w.secret_file ? { kind: 'file', path: w.secret_file } : { kind: 'env', name: w.secret_env ?? DEFAULT_WEBHOOK_SECRET_ENV },
    maxBodyBytes: w.max_body,
  };
}
