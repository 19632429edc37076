/**
 * log_match, cpu and depends_on in a config file: what loads, and the errors that name the key
 * path, the bad value and what was expected (a pattern RE2 refuses, a cycle, an unknown app).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { dependencyLayers, findCycle } from '../../../src/config/rules.js';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-rules-config-'));
let seq = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

function write(yaml: string): string {
  const file = join(dir, `cfg-${++seq}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

function loadError(yaml: string): ConfigError {
  try {
    loadConfig(write(yaml));
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('the config loaded');
}

describe('log_match', () => {
  test('one rule, defaults filled in; a list keeps its order', () => {
    const one = loadConfig(write('apps:\n  - name: api\n    log_match: { pattern: FATAL }\n'));
    assert.deepEqual(one.apps[0]?.logMatch, [{ pattern: 'FATAL', minCount: 1, windowMs: 60_000, stream: 'both', action: 'restart', maxReadBytes: 1024 * 1024 }]);
    const two = loadConfig(write("apps:\n  - name: api\n    log_match:\n      - { pattern: 'FATAL', min_count: 3, window: 2m, stream: err }\n      - { pattern: '(?i)deprecated', action: notify, file: /var/log/x.log, max_read: 64k }\n"));
    assert.deepEqual(two.apps[0]?.logMatch?.map((r) => [r.pattern, r.minCount, r.windowMs, r.stream, r.action, r.file, r.maxReadBytes]), [
      ['FATAL', 3, 120_000, 'err', 'restart', undefined, 1024 * 1024],
      ['(?i)deprecated', 1, 60_000, 'both', 'notify', '/var/log/x.log', 64 * 1024],
    ]);
  });

  test('a pattern RE2 refuses (a backreference, lookaround, a syntax error) names the key and says why', () => {
    for (const [pattern, why] of [['(a)\\1', /invalid escape/], ['(?<=a)b', /invalid named capture|lookaround|\(\?</], ['a(', /missing closing \)/]] as const) {
      const err = loadError(`apps:\n  - name: api\n    log_match: { pattern: '${pattern}' }\n`);
      const issue = err.issues.find((i) => i.path === 'apps[0].log_match.pattern');
      assert.ok(issue, `an issue at apps[0].log_match.pattern for ${pattern}: ${err.message}`);
      assert.match(issue.message, /expected a regular expression RE2 accepts/);
      assert.match(issue.message, why);
    }
  });

  test('bad window, stream, action and max_read are named', () => {
    const err = loadError('apps:\n  - name: api\n    log_match: { pattern: x, window: 0.5, stream: all, action: kill, max_read: 1 }\n');
    const paths = err.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['apps[0].log_match.action', 'apps[0].log_match.max_read', 'apps[0].log_match.stream', 'apps[0].log_match.window']);
    assert.match(err.message, /window from 1s to 24h/);
  });
});

describe('cpu', () => {
  test('"90%" and 90 are the same; defaults', () => {
    const a = loadConfig(write("apps:\n  - name: api\n    cpu: { above: '90%' }\n"));
    const b = loadConfig(write('apps:\n  - name: api\n    cpu: { above: 90, for: 5, include_children: true }\n'));
    assert.deepEqual(a.apps[0]?.cpu, { abovePercent: 90, forChecks: 3, includeChildren: false });
    assert.deepEqual(b.apps[0]?.cpu, { abovePercent: 90, forChecks: 5, includeChildren: true });
  });

  test('a percent that is not one is named with what is expected', () => {
    for (const bad of ["'lots'", '0', '-5', "'90 %%'"]) {
      const err = loadError(`apps:\n  - name: api\n    cpu: { above: ${bad} }\n`);
      assert.equal(err.issues[0]?.path, 'apps[0].cpu.above', err.message);
      assert.match(err.message, /expected a percent of one core/);
    }
  });
});

describe('depends_on', () => {
  test('a name or a list; kept in order', () => {
    const cfg = loadConfig(write('apps:\n  - name: db\n  - name: cache\n  - name: api\n    depends_on: [db, cache]\n  - name: web\n    depends_on: api\n'));
    assert.deepEqual(cfg.apps.map((a) => a.dependsOn), [undefined, undefined, ['db', 'cache'], ['api']]);
  });

  test('an unknown name lists the apps; itself is refused', () => {
    const err = loadError('apps:\n  - name: db\n  - name: api\n    depends_on: [db, dbb]\n');
    const issue = err.issues.find((i) => i.path === 'apps[1].depends_on[1]');
    assert.ok(issue, err.message);
    assert.match(issue.message, /expected the name of an app under apps: \(db, api\)/);
    assert.match(err.message, /dbb/);
    const self = loadError('apps:\n  - name: api\n    depends_on: api\n');
    assert.match(self.message, /apps\[0\]\.depends_on\[0\]: an app cannot depend on itself/);
  });

  test('a cycle is refused and shown as a path', () => {
    const err = loadError('apps:\n  - name: a\n    depends_on: c\n  - name: b\n    depends_on: a\n  - name: c\n    depends_on: b\n');
    assert.match(err.message, /depends_on makes a cycle: a -> c -> b -> a/);
    assert.equal(err.issues.length, 1);
  });

  test('findCycle and layers', () => {
    assert.equal(findCycle(new Map([['a', ['b']], ['b', []]])), undefined);
    assert.deepEqual(findCycle(new Map([['a', ['b']], ['b', ['a']]])), ['a', 'b', 'a']);
    assert.deepEqual(
      dependencyLayers([{ name: 'web', dependsOn: ['api'] }, { name: 'api', dependsOn: ['db', 'cache'] }, { name: 'db', dependsOn: [] }, { name: 'cache', dependsOn: [] }, { name: 'solo', dependsOn: [] }]),
      [['db', 'cache', 'solo'], ['api'], ['web']],
    );
  });
});
