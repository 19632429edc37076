/** The PM2 module's first line: where its command is, and how to put it on PATH. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commandPlace, startLine } from '../../../src/cli/command-path.js';

describe('commandPlace', () => {
  test('the installed PM2 module: the bin link beside the package in node_modules/.bin', () => {
    assert.deepEqual(commandPlace('/root/.pm2/modules/helpdesk-monitor/node_modules/helpdesk-monitor', 'helpdesk-monitor'), {
      command: '/root/.pm2/modules/helpdesk-monitor/node_modules/.bin/helpdesk-monitor',
      installed: true,
    });
  });
  test('any npm install of the package (a global one too)', () => {
    assert.equal(commandPlace('/usr/lib/node_modules/helpdesk-monitor', 'helpdesk-monitor').command, '/usr/lib/node_modules/.bin/helpdesk-monitor');
  });
  test('a checkout (run as a plain PM2 app): its built script', () => {
    assert.deepEqual(commandPlace('/srv/helpdesk-monitor', 'helpdesk-monitor'), { command: '/srv/helpdesk-monitor/dist/src/cli/index.js', installed: false });
  });
  test('a folder named like the package but not in node_modules is a checkout', () => {
    assert.equal(commandPlace('/opt/helpdesk-monitor', 'helpdesk-monitor').installed, false);
    assert.equal(commandPlace('/x/node_modules/other', 'helpdesk-monitor').installed, false);
  });
});

describe('startLine', () => {
  test('names the version, the command and the link to make', () => {
    const place = commandPlace('/root/.pm2/modules/helpdesk-monitor/node_modules/helpdesk-monitor', 'helpdesk-monitor');
    assert.equal(
      startLine('helpdesk-monitor', '0.1.0', place, true),
      'helpdesk-monitor 0.1.0 started; its command is /root/.pm2/modules/helpdesk-monitor/node_modules/.bin/helpdesk-monitor ' +
        '(put it on PATH: sudo ln -sf /root/.pm2/modules/helpdesk-monitor/node_modules/.bin/helpdesk-monitor /usr/local/bin/helpdesk-monitor)',
    );
  });
  test('a script that is not executable gets a chmod first; a path with a space is quoted for the shell', () => {
    const line = startLine('helpdesk-monitor', '0.1.0', commandPlace('/srv/my apps/helpdesk-monitor', 'helpdesk-monitor'), false);
    assert.ok(line.endsWith(`(put it on PATH: sudo chmod +x '/srv/my apps/helpdesk-monitor/dist/src/cli/index.js' && sudo ln -sf '/srv/my apps/helpdesk-monitor/dist/src/cli/index.js' /usr/local/bin/helpdesk-monitor)`), line);
  });
});
