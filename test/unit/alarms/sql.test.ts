/**
 * The SQL the alarm trigger sends: built from checked identifiers only, every value a `?`
 * parameter. The text is asserted whole where it matters, so a value that slipped into the SQL
 * (or a lost backtick) fails here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alarmsSchema, toAlarmsConfig, type AlarmsConfig } from '../../../src/config/alarms.js';
import { isControl } from '../../../src/text/printable.js';
import { MAX_ROWS, NOTE_MAX, NOTES_KEEP, appendNote, clearAlarm, grantsFor, noteLine, quote, selectAlarms } from '../../../src/alarms/sql.js';

/** A config as loading `alarms:` with these keys would give it. */
const config = (raw: Record<string, unknown> = {}): AlarmsConfig => toAlarmsConfig(alarmsSchema.parse({ user: 'helpdesk', ...raw }));

const placeholders = (sql: string): number => sql.split('?').length - 1;

describe('quote', () => {
  test('backtick-quotes a plain identifier', () => {
    assert.equal(quote('STATUS_PROCESS'), '`STATUS_PROCESS`');
    assert.equal(quote('_x9'), '`_x9`');
  });

  test('throws on a backtick, a quote, a dot, a space, a leading digit, 65 characters, an empty name', () => {
    for (const name of ['STATUS`PROCESS', '`', "a'b", 'a.b', 'a b', '9a', 'a'.repeat(65), '', 'a\n', 'a;b']) {
      assert.throws(() => quote(name), /not a plain SQL identifier/, JSON.stringify(name));
    }
  });
});

describe('selectAlarms', () => {
  test('the default: one LEFT JOIN of the seed tables, non-zero alarma, 0 as the only parameter', () => {
    const st = selectAlarms(config());
    assert.equal(
      st.sql,
      'SELECT /*+ MAX_EXECUTION_TIME(10000) */ CAST(s.`process_id` AS SIGNED) AS process_id, CAST(s.`alarma` AS SIGNED) AS alarm, p.`process_name` AS process_name'
        + ' FROM `STATUS_PROCESS` AS s LEFT JOIN `PROCESE` AS p ON p.`process_id` = s.`process_id`'
        + ` WHERE s.\`alarma\` <> ? ORDER BY s.\`process_id\` LIMIT ${MAX_ROWS}`,
    );
    assert.deepEqual(st.params, [0]);
    assert.equal(placeholders(st.sql), st.params.length);
  });

  test('no value in the SQL text: no digit outside identifiers and the config\'s own bounds, no string literal', () => {
    const st = selectAlarms(config({ alarm_values: [7, 42] }));
    const withoutIdentifiers = st.sql.replace(/`[A-Za-z0-9_]+`/g, '``').replace(`MAX_EXECUTION_TIME(10000)`, 'MAX_EXECUTION_TIME()').replace(`LIMIT ${MAX_ROWS}`, 'LIMIT');
    assert.doesNotMatch(withoutIdentifiers, /\d/);
    assert.doesNotMatch(withoutIdentifiers, /['"]/);
  });

  test('alarm_values become IN (?, ?) with the values as parameters, in order', () => {
    const st = selectAlarms(config({ alarm_values: [1, 2] }));
    assert.match(st.sql, / WHERE s\.`alarma` IN \(\?, \?\) ORDER BY /);
    assert.doesNotMatch(st.sql, /<>/);
    assert.deepEqual(st.params, [1, 2]);
    assert.equal(placeholders(st.sql), 2);
    const one = selectAlarms(config({ alarm_values: [3] }));
    assert.match(one.sql, /IN \(\?\)/);
    assert.deepEqual(one.params, [3]);
  });

  test('configured tables and columns are used, each backtick-quoted', () => {
    const st = selectAlarms(config({
      tables: { status: 'Status_Process', processes: 'procs' },
      columns: { process_id: 'pid', alarma: 'in_alarm', process_name: 'pname' },
    }));
    assert.equal(
      st.sql,
      'SELECT /*+ MAX_EXECUTION_TIME(10000) */ CAST(s.`pid` AS SIGNED) AS process_id, CAST(s.`in_alarm` AS SIGNED) AS alarm, p.`pname` AS process_name'
        + ' FROM `Status_Process` AS s LEFT JOIN `procs` AS p ON p.`pid` = s.`pid`'
        + ` WHERE s.\`in_alarm\` <> ? ORDER BY s.\`pid\` LIMIT ${MAX_ROWS}`,
    );
  });

  test('a config that bypassed the schema with a bad identifier cannot build SQL', () => {
    const cfg = config();
    assert.throws(() => selectAlarms({ ...cfg, tables: { ...cfg.tables, status: 'x` ; DROP TABLE PROCESE; --' } }), /not a plain SQL identifier/);
  });
});

describe('clearAlarm', () => {
  test('sets the alarm column to 0 only where the id and the acted-on value still match', () => {
    const st = clearAlarm(config({ on_success: 'clear' }), 7, 1);
    assert.equal(st.sql, 'UPDATE `STATUS_PROCESS` SET `alarma` = 0 WHERE `process_id` = ? AND `alarma` = ?');
    assert.deepEqual(st.params, [7, 1]);
    assert.doesNotMatch(st.sql, /sound/, 'sound is never written without clear_sound');
  });

  test('with clear_sound, the sound column is set to 0 as well', () => {
    const st = clearAlarm(config({ on_success: 'clear', clear_sound: true }), 12, 3);
    assert.equal(st.sql, 'UPDATE `STATUS_PROCESS` SET `alarma` = 0, `sound` = 0 WHERE `process_id` = ? AND `alarma` = ?');
    assert.deepEqual(st.params, [12, 3]);
  });

  test('configured names are used', () => {
    const st = clearAlarm(config({ on_success: 'clear', clear_sound: true, tables: { status: 'S' }, columns: { alarma: 'a', sound: 'b', process_id: 'i' } }), 1, 2);
    assert.equal(st.sql, 'UPDATE `S` SET `a` = 0, `b` = 0 WHERE `i` = ? AND `a` = ?');
  });
});

describe('appendNote and noteLine', () => {
  test('appends the line as a parameter, keeping the column bounded to its newest NOTES_KEEP characters', () => {
    const st = appendNote(config({ note: true }), 7, 'incident 20261201T000000Z-7-00ff: restarted api');
    assert.equal(st.sql, `UPDATE \`STATUS_PROCESS\` SET \`notes\` = RIGHT(CONCAT_WS(?, \`notes\`, ?), ${NOTES_KEEP}) WHERE \`process_id\` = ?`);
    assert.deepEqual(st.params, ['\n', 'incident 20261201T000000Z-7-00ff: restarted api', 7]);
    assert.equal(placeholders(st.sql), 3);
  });

  test('a line that looks like SQL stays a parameter, never part of the statement', () => {
    const evil = "x'); DROP TABLE PROCESE; --";
    const st = appendNote(config({ note: true }), 1, evil);
    assert.ok(!st.sql.includes('DROP'), st.sql);
    assert.deepEqual(st.params, ['\n', evil, 1], 'the newline, the line and the id: all parameters');
  });

  test('the line is bounded: a long one is cut to NOTE_MAX characters ending with "..."', () => {
    const st = appendNote(config({ note: true }), 1, 'x'.repeat(5000));
    const line = st.params[1] as string;
    assert.equal(line.length, NOTE_MAX);
    assert.ok(line.endsWith('...'));
    assert.equal(noteLine('y'.repeat(NOTE_MAX)), 'y'.repeat(NOTE_MAX), 'exactly NOTE_MAX is kept whole');
    assert.equal(noteLine('y'.repeat(NOTE_MAX + 1)).length, NOTE_MAX);
  });

  test('ASCII only: what a latin1 column cannot hold becomes ?', () => {
    assert.equal(noteLine('café 😀 done'), 'caf? ? done');
  });

  test('control characters are flattened to spaces: one line whatever the detail held', () => {
    assert.equal(noteLine('restarted\napi\r\n\tok\u0000\u001b[31m\u007f!'), 'restarted api   ok  [31m !');
    assert.equal(noteLine('a\nb\rc\u000bd'), 'a b c d');
  });
});

describe('grantsFor', () => {
  const ACC = "'helpdesk'@'localhost'";
  const SELECTS = [
    `GRANT SELECT ON \`v_process_monitor\`.\`STATUS_PROCESS\` TO ${ACC};`,
    `GRANT SELECT ON \`v_process_monitor\`.\`PROCESE\` TO ${ACC};`,
  ];

  test('keep, no note: SELECT on both tables, no UPDATE', () => {
    assert.deepEqual(grantsFor(config()), SELECTS);
  });

  test('clear: UPDATE (alarma) only', () => {
    assert.deepEqual(grantsFor(config({ on_success: 'clear' })), [...SELECTS, `GRANT UPDATE (\`alarma\`) ON \`v_process_monitor\`.\`STATUS_PROCESS\` TO ${ACC};`]);
  });

  test('note: UPDATE (notes) only', () => {
    assert.deepEqual(grantsFor(config({ note: true })), [...SELECTS, `GRANT UPDATE (\`notes\`) ON \`v_process_monitor\`.\`STATUS_PROCESS\` TO ${ACC};`]);
  });

  test('clear and note: UPDATE (alarma, notes); sound only with clear_sound', () => {
    assert.deepEqual(grantsFor(config({ on_success: 'clear', note: true })).at(-1), `GRANT UPDATE (\`alarma\`, \`notes\`) ON \`v_process_monitor\`.\`STATUS_PROCESS\` TO ${ACC};`);
    assert.deepEqual(grantsFor(config({ on_success: 'clear', note: true, clear_sound: true })).at(-1), `GRANT UPDATE (\`alarma\`, \`sound\`, \`notes\`) ON \`v_process_monitor\`.\`STATUS_PROCESS\` TO ${ACC};`);
  });

  test('configured database, tables and account are used', () => {
    const g = grantsFor(config({ database: 'mon', tables: { status: 'st', processes: 'pr' }, note: true }), "'hd'@'%'");
    assert.deepEqual(g, [
      "GRANT SELECT ON `mon`.`st` TO 'hd'@'%';",
      "GRANT SELECT ON `mon`.`pr` TO 'hd'@'%';",
      "GRANT UPDATE (`notes`) ON `mon`.`st` TO 'hd'@'%';",
    ]);
  });
});

/**
 * Known failures (see the commit message): noteLine promises "one printable line" but flattens
 * only C0 controls and DEL, and cuts by UTF-16 code units.
 */
describe('noteLine: one printable line', () => {
  test('C1 controls (CSI 0x9b, NEL 0x85) and the Unicode line/paragraph separators are flattened too', () => {
    const line = noteLine('restarted api\u009b31m red\u0085next\u2028line\u2029para');
    for (const ch of line) {
      const cp = ch.codePointAt(0)!;
      assert.ok(!isControl(cp) && cp !== 0x2028 && cp !== 0x2029, `U+${cp.toString(16).padStart(4, '0')} left in ${JSON.stringify(line)}`);
    }
  });

  test('a cut never splits a surrogate pair (no lone surrogate reaches the utf8 column)', () => {
    const line = noteLine(`${'x'.repeat(NOTE_MAX - 2)}\u{1f600}tail`);
    assert.doesNotMatch(line, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/, JSON.stringify(line.slice(-4)));
    assert.ok([...line].length <= NOTE_MAX, 'at most NOTE_MAX characters (code points)');
  });
});
