/**
 * A git deployment fixture for the auto-update tests: a bare "remote" (a file path, no network), the
 * clone PM2 runs (origin = remote, main tracking origin/main) and a second clone that pushes new
 * versions of a tiny dependency-free HTTP app, good or broken in one of the ways an update can be.
 *
 * Git runs with a minimal env of its own: no system config, HOME in a dir under `parent` (so no
 * global config of the machine applies), the identity given with `-c` (a fresh CI machine has none),
 * no terminal prompt, and no GIT_* inherited from the caller (a test run from a git hook has GIT_DIR).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type FixtureKind = 'good' | 'crash-at-boot' | 'health-500' | 'failing-build';

export interface GitDeploy {
  readonly remote: string;   // bare repo (git init --bare), branch main
  readonly deploy: string;   // the clone PM2 runs (app cwd); has origin = remote, branch main tracking origin/main
  readonly pusher: string;   // a second clone used to push fixture commits
  readonly script: string;   // absolute path of deploy/server.js
  /** PM2 app options to run the deployed app on `port` (name, script, cwd=deploy, env PORT, autorestart true). */
  appOptions(name: string): Record<string, unknown>;
  /** Commit in the pusher clone a new version of the app of this kind, push it to main; returns the new full SHA. */
  push(kind: FixtureKind, version: string): string;
  /** Rewrite history: reset pusher to HEAD~1, commit a different change, `git push --force`; returns the new SHA. */
  forcePush(version: string): string;
  /** Full SHA of HEAD in a clone (default the deploy clone). */
  head(dir?: string): string;
  /** Subject of a commit in the deploy clone. */
  subject(sha: string): string;
}

const GIT_TIMEOUT_MS = 15_000;
const IDENTITY = ['-c', 'user.name=hdm fixture', '-c', 'user.email=fixture@hdm.invalid', '-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main'];

/** server.js of each kind. CommonJS: the clones live in a temp dir, with no package.json above them. */
function serverSource(kind: FixtureKind): string {
  const boot = kind === 'crash-at-boot' ? `throw new Error('boot failure in ' + version);\n` : '';
  const [code, status] = kind === 'health-500' ? [500, 'failing'] : [200, 'ok'];
  return `'use strict';
// helpdesk-monitor update fixture, kind ${kind}.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const version = fs.readFileSync(path.join(__dirname, 'version.txt'), 'utf8').trim();
${boot}
const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(${code}, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: '${status}', version }));
    return;
  }
  res.writeHead(404);
  res.end();
});
server.listen(Number(process.env.PORT), '127.0.0.1');

const stop = () => {
  server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
`;
}

/** build.js of each kind: the build step a monitor config runs as `node build.js`. */
function buildSource(kind: FixtureKind): string {
  const fail = kind === 'failing-build' ? `console.error('build failed for ' + version + ': fixture kind failing-build');\nprocess.exit(1);\n` : '';
  return `'use strict';
// helpdesk-monitor update fixture build step, kind ${kind}: writes build-stamp.txt (git-ignored).
const fs = require('node:fs');
const path = require('node:path');

const version = fs.readFileSync(path.join(__dirname, 'version.txt'), 'utf8').trim();
${fail}fs.writeFileSync(path.join(__dirname, 'build-stamp.txt'), version);
`;
}

/** Create remote + deploy + pusher under `parent` (a temp dir), initial commit = a 'good' app with version `initialVersion` (default 'v1'). */
export function createGitDeploy(parent: string, port: number, initialVersion = 'v1'): GitDeploy {
  const root = resolve(parent);
  const home = join(root, 'git-home');
  mkdirSync(home, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
  };
  const git = (cwd: string, args: readonly string[]): string => {
    try {
      return execFileSync('git', [...IDENTITY, ...args], { cwd, env, encoding: 'utf8', timeout: GIT_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`git ${args.join(' ')} in ${cwd} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
    }
  };

  const remote = join(root, 'remote.git');
  const deploy = join(root, 'deploy');
  const pusher = join(root, 'pusher');

  /** Write the app of `kind` at `version` into the pusher's work tree and commit it. */
  const commit = (kind: FixtureKind, version: string, subject: string): void => {
    const versionFile = join(pusher, 'version.txt');
    let current: string | undefined;
    try {
      current = readFileSync(versionFile, 'utf8').trim();
    } catch {
      current = undefined; // the initial commit
    }
    // Every fixture commit must change the tree, so an update always has something to deploy.
    if (current === version) throw new Error(`fixture version ${version} is already checked out in the pusher: use a new version`);
    writeFileSync(join(pusher, 'server.js'), serverSource(kind));
    writeFileSync(join(pusher, 'build.js'), buildSource(kind));
    writeFileSync(versionFile, `${version}\n`);
    writeFileSync(join(pusher, '.gitignore'), 'build-stamp.txt\n');
    git(pusher, ['add', '--all']);
    git(pusher, ['commit', '--quiet', '-m', subject]);
  };

  git(root, ['init', '--quiet', '--bare', '--initial-branch=main', remote]);
  git(root, ['clone', '--quiet', remote, pusher]);
  git(pusher, ['checkout', '--quiet', '-B', 'main']); // the clone of an empty repo has no branch checked out yet
  commit('good', initialVersion, `good ${initialVersion}`);
  git(pusher, ['push', '--quiet', '--set-upstream', 'origin', 'main']);
  // A plain clone: origin = remote, main tracking origin/main, as an operator's deployment would be.
  git(root, ['clone', '--quiet', '--branch', 'main', remote, deploy]);

  const head = (dir = deploy): string => git(dir, ['rev-parse', 'HEAD']);
  return {
    remote,
    deploy,
    pusher,
    script: join(deploy, 'server.js'),
    appOptions: (name) => ({ name, script: join(deploy, 'server.js'), cwd: deploy, env: { PORT: String(port) }, autorestart: true }),
    push(kind, version) {
      commit(kind, version, `${kind} ${version}`);
      git(pusher, ['push', '--quiet', 'origin', 'main']);
      return head(pusher);
    },
    forcePush(version) {
      git(pusher, ['reset', '--quiet', '--hard', 'HEAD~1']);
      commit('good', version, `force good ${version}`);
      git(pusher, ['push', '--quiet', '--force', 'origin', 'main']);
      return head(pusher);
    },
    head,
    subject: (sha) => git(deploy, ['log', '-1', '--format=%s', sha]),
  };
}
