// The README's Install section, "Getting helpdesk-monitor on PATH", for the plain npm install:
// one `npm install -g` of the packed tarball (into a private prefix here) gives a working
// `helpdesk-monitor` on PATH. The module form is checked in module-install.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT } from '../helpers/sandbox.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-install-path-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('npm install -g of the tarball puts a working helpdesk-monitor on PATH', { timeout: 300_000 }, () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.match(readme, /\| plain npm install of the tarball \| `npm install -g "\$PWD\/helpdesk-monitor-0\.1\.0\.tgz"`/, 'the README gives the command');
  // The suite has just built dist/; skip prepack's rebuild.
  const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').at(-1)!;
  const prefix = join(dir, 'prefix');
  // The README's command, with a private prefix instead of the system one (the cache npm ci filled first).
  execFileSync('npm', ['install', '-g', '--prefer-offline', '--no-audit', '--no-fund', '--prefix', prefix, join(dir, packed)], { cwd: dir, encoding: 'utf8', timeout: 240_000 });
  const env = { ...process.env, PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin` };
  const version = execFileSync('helpdesk-monitor', ['--version'], { env, encoding: 'utf8', cwd: dir }).trim();
  assert.equal(version, (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  const help = execFileSync('helpdesk-monitor', ['status', '--help'], { env, encoding: 'utf8', cwd: dir });
  assert.match(help, /^Usage: helpdesk-monitor status/);
});
