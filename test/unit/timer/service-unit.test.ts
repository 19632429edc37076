// The service unit for `run` (timer/service-unit.ts), generated purely: our marker first, values
// quoted by systemd's rules, refusals for what a unit cannot carry, and the relaxations that
// depend on the input (root's capabilities, PrivateTmp for paths under /tmp).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SERVICE_MARKER, isOurServiceUnit, serviceUnit, type ServiceSpec } from '../../../src/timer/service-unit.js';
import { UsageError } from '../../../src/errors.js';
import { execArgv, unitEnv, unitValues } from '../../helpers/unit-file.js';

const spec: ServiceSpec = { node: '/opt/node/bin/node', cli: '/opt/hdm/dist/src/cli/index.js', config: '/etc/hdm/monitor.yaml', pm2Home: '/home/deploy/.pm2', stateDir: '/home/deploy/.pm2/helpdesk-monitor', user: 'deploy' };

test('the marker is the first line, and only a unit that starts with it is ours', () => {
  const text = serviceUnit(spec);
  assert.equal(text.split('\n')[0], SERVICE_MARKER);
  assert.ok(isOurServiceUnit(text));
  assert.ok(!isOurServiceUnit(`[Unit]\n${SERVICE_MARKER}\n`), 'the marker elsewhere is not ours');
  assert.ok(!isOurServiceUnit('[Service]\nExecStart=/bin/true\n'));
});

test('a non-root unit: the user, no capabilities, node\'s directory first on PATH, a state dir inside PM2_HOME not repeated', () => {
  const text = serviceUnit(spec);
  assert.deepEqual(unitValues(text, 'User'), ['deploy']);
  assert.deepEqual(unitValues(text, 'CapabilityBoundingSet'), ['']);
  assert.deepEqual(unitValues(text, 'ReadWritePaths'), ['/home/deploy/.pm2']);
  assert.deepEqual(unitValues(text, 'PrivateTmp'), ['yes']);
  assert.equal(unitEnv(text)['PATH'], '/opt/node/bin:/usr/local/bin:/usr/bin:/bin');
  assert.deepEqual(execArgv(unitValues(text, 'ExecStart')[0]!), [spec.node, spec.cli, 'run', '--config', spec.config]);
  assert.match(text, /After=network-online\.target pm2-deploy\.service/);
});

test('root keeps three capabilities, and says why; /tmp paths turn PrivateTmp off with the reason', () => {
  const text = serviceUnit({ ...spec, user: 'root', pm2Home: '/tmp/pm2', stateDir: '/var/lib/hdm' });
  assert.deepEqual(unitValues(text, 'CapabilityBoundingSet'), ['CAP_KILL CAP_SYS_PTRACE CAP_DAC_READ_SEARCH']);
  assert.deepEqual(unitValues(text, 'ReadWritePaths'), ['/tmp/pm2 /var/lib/hdm']);
  assert.deepEqual(unitValues(text, 'PrivateTmp'), ['no']);
  assert.match(text, /# PrivateTmp=no: \/tmp\/pm2 is under \/tmp/);
});

test('odd paths are quoted; control characters, relative paths and odd user names are refused', () => {
  const odd = serviceUnit({ ...spec, config: '/etc/my 100% "sure" $HOME/monitor.yaml', pm2Home: '/home/a b/.pm2', stateDir: '/home/a b/.pm2/x' });
  assert.deepEqual(execArgv(unitValues(odd, 'ExecStart')[0]!).slice(-1), ['/etc/my 100% "sure" $HOME/monitor.yaml']);
  assert.equal(unitEnv(odd)['PM2_HOME'], '/home/a b/.pm2');
  assert.deepEqual(unitValues(odd, 'ReadWritePaths'), ['"/home/a b/.pm2"']);
  assert.throws(() => serviceUnit({ ...spec, config: '/etc/a\nExecStartPre=/bin/sh' }), (e: unknown) => e instanceof UsageError && /control character/.test(e.message));
  assert.throws(() => serviceUnit({ ...spec, stateDir: 'relative/dir' }), /state_dir must be an absolute path/);
  assert.throws(() => serviceUnit({ ...spec, user: 'a b' }), /--user: "a b" is not a user name/);
});
