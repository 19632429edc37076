// kill-port and its input: a squatter whose command line carries terminal escape sequences (ESC,
// a C1 CSI, an OSC title, a newline) is printed escaped, never raw, in the human and the JSON
// output, and still killed; a port argument is a plain decimal 1-65535 (`0x50` is not port 80).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cliEnv, runCli, type CliResult } from '../helpers/cli.js';
import { PidLedger, holdersOf, isAlive, type ProcIdentity } from '../helpers/holders.js';
import { waitFor } from '../helpers/sandbox.js';

const T = { timeout: 120_000 };
/** What the squatter puts in its argv: colour, a C1 CSI "clear screen", an OSC window title, a newline. */
const EVIL = '\u001b[31mRED\u001b[0m\nNEXT\u009b2J\u001b]0;pwned\u0007end';
const ledger = new PidLedger();
let home: string;
let env: NodeJS.ProcessEnv;

before(() => {
  // An empty PM2_HOME: no daemon of ours to protect, nothing of the host's PM2 consulted.
  home = mkdtempSync(join(tmpdir(), 'hdm-killport-'));
  env = cliEnv(process.env, { PM2_HOME: home });
});
after(() => {
  ledger.killAll();
  rmSync(home, { recursive: true, force: true });
});

const show = (r: CliResult): string => `exit ${r.code}\nstdout:\n${JSON.stringify(r.stdout)}\nstderr:\n${JSON.stringify(r.stderr)}`;

/** The control characters in text other than the newlines that end its lines. */
function rawControls(text: string): string[] {
  return [...text].filter((c) => {
    const cp = c.codePointAt(0)!;
    return cp !== 0x0a && (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f));
  });
}

/** A listener on a free 127.0.0.1 port whose command line ends with EVIL; resolves with its port. */
async function spawnEvilSquatter(): Promise<{ id: ProcIdentity; port: number; exited: Promise<unknown> }> {
  const code = "const s = require('net').createServer().listen(0, '127.0.0.1', () => process.stdout.write(s.address().port + '\\n')); setInterval(() => {}, 1e9);";
  const child = spawn(process.execPath, ['-e', code, EVIL], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const id = child.pid ? ledger.add(child.pid) : undefined;
  if (!id) throw new Error('the squatter did not start');
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const port = await waitFor('the squatter to report its port', () => (/^(\d+)\n/.exec(out) ? Number(/^(\d+)\n/.exec(out)![1]) : undefined), 15_000, 20);
  await waitFor(`the squatter listening on ${port}`, () => holdersOf(port).some((h) => h.pid === id.pid), 10_000, 20);
  return { id, port, exited };
}

test('kill-port prints a squatter\'s escape sequences escaped (human and JSON) and kills it', T, async () => {
  const s = await spawnEvilSquatter();
  const port = String(s.port);

  const dry = await runCli(['kill-port', '--dry-run', port], env, 60_000);
  assert.equal(dry.code, 0, show(dry));
  assert.deepEqual(rawControls(dry.stdout), [], `no raw control character in: ${show(dry)}`);
  assert.match(dry.stdout, new RegExp(`would kill pid ${s.id.pid} \\(.*\\\\x1b\\[31mRED\\\\x1b\\[0m NEXT\\\\x9b2J\\\\x1b\\]0;pwned\\\\x07end\\) on port ${port}`), show(dry));
  assert.ok(isAlive(s.id), 'a dry run kills nothing');

  const json = await runCli(['kill-port', '--dry-run', '--json', port], env, 60_000);
  assert.equal(json.code, 0, show(json));
  assert.deepEqual(rawControls(json.stdout), [], `no raw control character in the JSON text: ${show(json)}`);
  const doc = JSON.parse(json.stdout) as { results: { would_kill: { pid: number; command: string }[] }[] };
  const target = doc.results[0]?.would_kill.find((w) => w.pid === s.id.pid);
  assert.ok(target, json.stdout);
  assert.ok(target.command.endsWith(EVIL.replace('\n', ' ')), `the JSON value is the command itself: ${JSON.stringify(target.command)}`);

  const kill = await runCli(['kill-port', '--grace', '2s', port], env, 60_000);
  assert.equal(kill.code, 0, show(kill));
  assert.deepEqual(rawControls(kill.stdout + kill.stderr), [], `no raw control character in: ${show(kill)}`);
  assert.match(kill.stdout, new RegExp(`killed pid ${s.id.pid} \\(.*\\\\x1b\\[31mRED.*pwned\\\\x07end\\) on port ${port} with SIG`), show(kill));
  assert.equal(kill.stdout.trim().split('\n').length, 1, 'one line');
  await s.exited;
  assert.equal(isAlive(s.id), false, 'the squatter is gone');
});

test('kill-port takes plain decimal ports 1-65535 only: 0x50, 1e3, 65536, 0 ... exit 2 and touch nothing', T, async () => {
  const s = await spawnEvilSquatter(); // a live listener that a misread port must not reach
  const bad = ['0x50', '1e3', '65536', '0', '080', '+80', ' 80', '80 ', '80.0', '8e1', '0b1', 'Infinity', '', `${s.port}\u001b[2J`];
  // --dry-run: should parsing ever regress, these must not reach a real service on port 80 or 1000.
  for (const arg of bad) {
    const r = await runCli(['kill-port', '--dry-run', arg], env, 60_000);
    assert.equal(r.code, 2, `kill-port ${JSON.stringify(arg)}: ${show(r)}`);
    assert.match(r.stderr, /not a TCP port: ".*" \(expected a plain decimal number 1-65535/, JSON.stringify(arg));
    assert.deepEqual(rawControls(r.stderr), [], `the bad value is printed escaped: ${show(r)}`);
    assert.equal(r.stdout, '', 'nothing done');
  }
  const hex = await runCli(['kill-port', '--dry-run', '0x50'], env, 60_000);
  assert.match(hex.stderr, /not a TCP port: "0x50"/);
  const esc = await runCli(['kill-port', '--dry-run', `${s.port}\u001b[2J`], env, 60_000);
  assert.ok(esc.stderr.includes(`"${s.port}\\x1b[2J"`), esc.stderr);
  // For real, on our own squatter's port: "PORT.0" was that port, and a mix stops before acting.
  for (const args of [[`${s.port}.0`], [String(s.port), `0x${s.port.toString(16)}`]]) {
    const r = await runCli(['kill-port', ...args], env, 60_000);
    assert.equal(r.code, 2, `kill-port ${args.join(' ')}: ${show(r)}`);
    assert.ok(isAlive(s.id), `kill-port ${args.join(' ')} killed nothing`);
  }

  const ok = await runCli(['kill-port', '--dry-run', String(s.port)], env, 60_000);
  assert.equal(ok.code, 0, `a plain port is accepted: ${show(ok)}`);
});
