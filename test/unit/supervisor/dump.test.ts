// dump.pm2 judged, kept when good and changed, and chosen over an empty or corrupt one.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { DumpKeeper, chooseDump, judgeDumpText, keptDumpPath } from '../../../src/supervisor/dump.js';

const entry = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name, pm_exec_path: `/srv/${name}.js`, ...extra });
const text = (...apps: Record<string, unknown>[]): string => JSON.stringify(apps);

describe('judgeDumpText', () => {
  test('good, empty, corrupt', () => {
    assert.deepEqual(judgeDumpText(text(entry('a'), entry('b'))), { kind: 'good', apps: ['a', 'b'] });
    assert.equal(judgeDumpText('').kind, 'empty');
    assert.equal(judgeDumpText('[]').kind, 'empty');
    assert.equal(judgeDumpText(text(entry('mod', { pmx_module: true }))).kind, 'empty', 'modules are not apps');
    assert.equal(judgeDumpText('[{"name": "a"').kind, 'corrupt');
    assert.equal(judgeDumpText('{"name": "a"}').kind, 'corrupt');
    assert.equal(judgeDumpText('[{"pm_exec_path": "/x"}]').kind, 'corrupt');
  });
});

describe('keeping and choosing', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const setup = (): { home: string; state: string } => {
    dir = mkdtempSync(join(tmpdir(), 'hdm-dump-'));
    return { home: dir, state: join(dir, 'helpdesk-monitor') };
  };

  test('a good dump is kept (0600) when it changes; an empty one never replaces the copy', () => {
    const { home, state } = setup();
    const keeper = new DumpKeeper(home, state);
    assert.equal(keeper.keep(), undefined, 'no dump yet');
    writeFileSync(join(home, 'dump.pm2'), text(entry('a')));
    assert.match(keeper.keep() ?? '', /kept a copy of dump\.pm2 \(1 app: a\)/);
    assert.equal(statSync(keptDumpPath(state)).mode & 0o777, 0o600);
    assert.equal(keeper.keep(), undefined, 'unchanged: nothing to do');
    writeFileSync(join(home, 'dump.pm2'), '[]');
    assert.equal(keeper.keep(), undefined);
    assert.equal(readFileSync(keptDumpPath(state), 'utf8'), text(entry('a')), 'the good copy stays');
  });

  test('dump.pm2 first; else the kept copy; else dump.pm2.bak; else why not', () => {
    const { home, state } = setup();
    writeFileSync(join(home, 'dump.pm2'), text(entry('a')));
    assert.equal(chooseDump(home, state).choice?.source, 'dump.pm2');
    new DumpKeeper(home, state).keep();
    writeFileSync(join(home, 'dump.pm2'), '');
    const kept = chooseDump(home, state).choice;
    assert.equal(kept?.source, 'kept copy');
    assert.match(kept?.instead ?? '', /dump\.pm2 is not usable: it is empty/);
    assert.equal(kept?.restore?.toString('utf8'), text(entry('a')));
    rmSync(keptDumpPath(state));
    writeFileSync(join(home, 'dump.pm2.bak'), text(entry('b')));
    assert.deepEqual(chooseDump(home, state).choice?.apps, ['b']);
    writeFileSync(join(home, 'dump.pm2.bak'), 'garbage');
    const none = chooseDump(home, state);
    assert.equal(none.choice, undefined);
    assert.match(none.why, /no good copy/);
  });

  test('a dump.pm2 that is a link is not read through', () => {
    const { home, state } = setup();
    writeFileSync(join(home, 'elsewhere'), text(entry('x')));
    symlinkSync(join(home, 'elsewhere'), join(home, 'dump.pm2'));
    const r = chooseDump(home, state);
    assert.equal(r.choice, undefined);
    assert.match(r.why, /symbolic link/);
  });
});
