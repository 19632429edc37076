/** A uid's user name from /etc/passwd. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePasswd, userName } from '../../../src/proc/users.js';

test('parsePasswd: name by uid, the first entry of a uid wins, broken lines are skipped', () => {
  const map = parsePasswd('root:x:0:0:root:/root:/bin/bash\n# comment\nbroken\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\ntoor:x:0:0::/root:/bin/sh\n:x:5:5::/:/bin/sh\nnouid:x::1::/:/bin/sh\n');
  assert.deepEqual([...map], [[0, 'root'], [33, 'www-data']]);
});

test('userName: this machine\'s root, and nothing for a uid without an entry', () => {
  assert.equal(userName(0), 'root');
  assert.equal(userName(2_147_000_123), undefined);
});
