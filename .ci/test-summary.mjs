// Summarise a node:test TAP file (written by `npm test`) for the end of a CI log: the counts and
// every failed test by name and source file, so a failure is found without scrolling back.
// Usage: node .ci/test-summary.mjs FILE.tap   (exits 0; the caller decides the exit status)
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

const file = process.argv[2];
if (!file || !existsSync(file)) {
  console.log(`test summary: no results in ${file ?? '(no file given)'}: the tests did not run (see the build or runner output above)`);
  process.exit(0);
}

const lines = readFileSync(file, 'utf8').split('\n');
const counts = {};
const failed = [];
let viaSubtests = 0;
let lastError;
// Names of the open subtests by indent level: a result line closes the subtest at its level.
const open = [];
for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  const count = /^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$/.exec(line);
  if (count) counts[count[1]] = Number(count[2]);
  // A file that fails outside its tests (a crash, an uncaught error after the tests) is told
  // in top-level comments just before its result.
  if (/^# Error: /.test(line)) lastError = line.slice(2);
  if (/^(not )?ok \d+ /.test(line) && !line.startsWith('not ok')) lastError = undefined;
  const sub = /^( *)# Subtest: (.*)$/.exec(line);
  if (sub) {
    const depth = sub[1].length / 4;
    open.length = depth;
    open[depth] = sub[2];
    continue;
  }
  const result = /^( *)not ok \d+ - (.*?)(?: # (?:SKIP|TODO).*)?$/.exec(line);
  if (!result) continue;
  const indent = result[1];
  const depth = indent.length / 4;
  const yaml = {};
  if (lines[i + 1]?.trim() === '---') {
    for (let j = i + 2; j < lines.length && lines[j].startsWith(`${indent}  `) && lines[j].trim() !== '...'; j++) {
      const kv = new RegExp(`^${indent}  ([a-zA-Z]+): (.*)$`).exec(lines[j]);
      if (!kv) continue;
      // A block scalar (`|-`): its lines (more indented than the key), joined on one line.
      const block = [];
      if (kv[2] === '|-') {
        for (let k = j + 1; k < lines.length && (lines[k].startsWith(`${indent}    `) || lines[k].trim() === ''); k++) {
          if (lines[k].trim() !== '') block.push(lines[k].trim());
        }
      }
      yaml[kv[1]] = kv[2] === '|-' ? block.join(' / ') : kv[2].replace(/^'(.*)'$/, '$1');
    }
  }
  // A suite or test that failed only because a subtest did is told by that subtest.
  if (yaml.failureType === 'subtestsFailed') {
    if (yaml.type !== 'suite') viaSubtests++;
    continue;
  }
  const wholeFile = depth === 0 && result[2].startsWith('/');
  const path = wholeFile ? '(the file itself, outside its tests)' : [...open.slice(0, depth), result[2]].filter(Boolean).join(' > ');
  const error = wholeFile && lastError ? `${yaml.error ?? 'failed'}; ${lastError}` : yaml.error;
  failed.push({ path, where: sourceOf(yaml.location), why: yaml.failureType, error });
  if (depth === 0) lastError = undefined;
}

/** `/abs/dist/test/unit/x.test.js:12:3` -> `test/unit/x.test.ts` (the compiled line is not the source line). */
function sourceOf(location) {
  if (!location) return '?';
  const path = location.replace(/:\d+:\d+$/, '');
  const inDist = /\/dist\/(test\/.*)$/.exec(path);
  return (inDist ? inDist[1] : relative(process.cwd(), path)).replace(/\.js$/, '.ts');
}

const n = (k) => counts[k] ?? 0;
console.log('');
console.log('==== test summary ====');
const parents = viaSubtests > 0 ? ` (${viaSubtests} of them only through a failed subtest)` : '';
console.log(`${n('pass')}/${n('tests')} passed, ${n('fail')} failed${parents}, ${n('cancelled')} cancelled, ${n('skipped')} skipped, ${n('todo')} todo`);
if (counts.tests === undefined) console.log('(no final counts in the TAP file: the runner did not finish)');
if (failed.length > 0) {
  console.log(`failed tests (${failed.length}):`);
  for (const f of failed) {
    const error = f.error ? `: ${f.error.slice(0, 400)}` : '';
    console.log(`  ✖ ${f.where}: ${f.path} [${f.why ?? 'failed'}]${error}`);
  }
}
