// The resurrected daemon's environment and how its process is recognised: pure parts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { godTitleOf, isGodTitleOf } from '../../../src/supervisor/god.js';
import { resurrectEnv } from '../../../src/supervisor/resurrect.js';

test('the daemon gets PM2_HOME, the owner, node first on PATH; never our secrets or an app\'s marks', () => {
  const env = resurrectEnv(
    { PATH: '/usr/bin:/bin', HOME: '/root', HELPDESK_MONITOR_DB_PASSWORD: 's3cret', HELPDESK_MONITOR_SMTP_PASSWORD: 'x', pm_id: '3', name: 'api', LANG: 'C.UTF-8' },
    '/home/app/.pm2', { uid: 1000, gid: 1000, name: 'app', home: '/home/app' }, '/home/app/.nvm/versions/node/v20.19.0/bin/node',
  );
  assert.equal(env['PM2_HOME'], '/home/app/.pm2');
  assert.equal(env['PATH'], '/home/app/.nvm/versions/node/v20.19.0/bin:/usr/bin:/bin');
  assert.equal(env['HOME'], '/home/app');
  assert.equal(env['USER'], 'app');
  assert.equal(env['LOGNAME'], 'app');
  assert.equal(env['LANG'], 'C.UTF-8');
  for (const k of ['HELPDESK_MONITOR_DB_PASSWORD', 'HELPDESK_MONITOR_SMTP_PASSWORD', 'pm_id', 'name']) assert.equal(env[k], undefined, k);
});

test('a bare PATH (cron) still gets node and the system dirs', () => {
  const env = resurrectEnv({}, '/h', { uid: 0, gid: 0, name: 'root', home: '/root' }, '/opt/node/bin/node');
  assert.equal(env['PATH'], '/opt/node/bin:/usr/local/bin:/usr/bin:/bin');
});

test('the daemon title names its PM2_HOME exactly', () => {
  assert.equal(isGodTitleOf('PM2 v7.0.4: God Daemon (/home/app/.pm2)', '/home/app/.pm2'), true);
  assert.equal(isGodTitleOf('PM2 v7.0.4: God Daemon (/home/app/.pm2)', '/home/app/.pm2x'), false);
  assert.equal(isGodTitleOf('PM2 v7.0.4: God Daemon (/home/app/.pm2-other)', '/home/app/.pm2'), false);
  assert.equal(isGodTitleOf('node /srv/app.js God Daemon (/home/app/.pm2)', '/home/app/.pm2'), false);
});

test('a title cut at the original argv length is this home\'s only if what is left starts it', () => {
  const home = '/tmp/hdm-chaos-abcdef/row-3/pm2-home';
  assert.equal(godTitleOf(`PM2 v7.0.4: God Daemon (${home})`, home), 'yes');
  assert.equal(godTitleOf('PM2 v7.0.4: God Daemon (/tmp/hdm-chaos-abc', home), 'cut');
  assert.equal(godTitleOf('PM2 v7.0.4: God Daemon (/tmp/other', home), 'no');
  assert.equal(godTitleOf(`PM2 v7.0.4: God Daemon (${home}x)`, home), 'no');
  assert.equal(godTitleOf('PM2 v7.0.4: God Daemon (', home), 'cut');
});
