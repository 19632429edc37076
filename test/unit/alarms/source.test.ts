/**
 * The source's part that needs no server: the password env var is taken out of the environment
 * the monitor's children inherit (kept in memory for reconnects), and faults name the code, where
 * and the fix without a credential. Connecting is the integration tests' job (real MariaDB).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alarmsSchema, toAlarmsConfig } from '../../../src/config/alarms.js';
import { faultOf, openAlarmSource } from '../../../src/alarms/source.js';

const config = (raw: Record<string, unknown> = {}) => toAlarmsConfig(alarmsSchema.parse({ user: 'helpdesk', port: 9, ...raw }));

describe('openAlarmSource', () => {
  test('takes the password env var out of the environment, and finds it again on a reopen', async () => {
    const env: NodeJS.ProcessEnv = { HDM_UNIT_PW: 'unit-secret-123', OTHER: 'x' };
    const cfg = config({ password_env: 'HDM_UNIT_PW' });
    const first = openAlarmSource(cfg, env);
    assert.deepEqual(env, { OTHER: 'x' }, 'children spawned after this do not inherit the password');
    await first.close();
    const again = openAlarmSource(cfg, env);
    await again.close();
    assert.equal(again.where, '127.0.0.1:9');
  });
});

describe('faultOf', () => {
  const cfg = config({ on_success: 'clear', note: true });
  test('unreachable: the code and where', () => {
    const f = faultOf(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }), cfg, '127.0.0.1:9');
    assert.equal(f.kind, 'unreachable');
    assert.match(f.text, /^ECONNREFUSED at 127\.0\.0\.1:9/);
  });
  test('a missing privilege: the SQL code and the GRANT that fixes it', () => {
    const f = faultOf({ code: 'ER_TABLEACCESS_DENIED_ERROR', errno: 1142, sqlMessage: "UPDATE command denied to user 'helpdesk'@'localhost' for table `v_process_monitor`.`STATUS_PROCESS`" }, cfg, 'x');
    assert.equal(f.kind, 'refused');
    assert.match(f.text, /ER_TABLEACCESS_DENIED_ERROR \(1142\)/);
    assert.match(f.text, /fix: GRANT SELECT .* GRANT UPDATE \(`alarma`, `notes`\)/);
  });
  test('a query that outlived query_timeout is retried at the regular interval, not with backoff', () => {
    const f = faultOf({ code: 'PROTOCOL_SEQUENCE_TIMEOUT', message: 'Query inactivity timeout' }, cfg, 'x');
    assert.equal(f.kind, 'refused');
    assert.match(f.text, /longer than alarms\.query_timeout/);
  });
});
