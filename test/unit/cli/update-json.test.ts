/**
 * The document `update --json` and `rollback --json` print, against schemas/update.schema.json:
 * reports built by hand (no git, no PM2) go through toJson and the same redaction and printing
 * printJson applies, and must match the schema and the naming convention (snake_case keys,
 * integer *_ms). Wrong documents must fail it, so the schema is known to say something.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toJson } from '../../../src/cli/update.js';
import { redactDeep } from '../../../src/redact.js';
import { printableJson } from '../../../src/text/printable.js';
import type { Refusal } from '../../../src/update/decide.js';
import type { UpdateOutcome, UpdateReport } from '../../../src/update/run-update.js';
import type { StepRecord, UpdateStory } from '../../../src/update/story.js';
import { assertMatchesSchema } from '../../helpers/schema.js';

const OLD = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const NEW = 'f0e1d2c3b4a5968778695a4b3c2d1e0f98765432';
const REPO = '/srv/helpdesk-backend';

/** The document as printJson writes it, read back. */
const printed = (r: UpdateReport): unknown => JSON.parse(printableJson(redactDeep(toJson(r)), 2));

function story(over: Partial<UpdateStory> & Pick<UpdateStory, 'result' | 'steps' | 'detail'>): UpdateStory {
  return {
    id: '3f6c1a2b-9d4e-4f5a-8b7c-1d2e3f4a5b6c',
    app: 'helpdesk-backend',
    trigger: 'cli',
    at: '2026-03-14T09:26:53.589Z',
    from: { sha: OLD, subject: 'Fix the login page' },
    to: { sha: NEW, subject: 'Add the ticket export' },
    ms: 18_734,
    ...over,
  };
}

const MERGE: StepRecord = { name: 'git merge --ff-only f0e1d2c3b4', ok: true, ms: 41, exitCode: 0, detail: 'HEAD is f0e1d2c3b4' };
const BUILD: StepRecord = { name: 'command 1: npm ci', ok: true, ms: 9120, exitCode: 0, tail: 'added 212 packages in 9s', detail: 'added 212 packages in 9s' };
const RELOAD: StepRecord = { name: 'pm2 reload', ok: true, ms: 830, detail: 'reload of pm_id 0, 1' };
const VERIFY: StepRecord = { name: 'verify', ok: true, ms: 8543, detail: 'healthy in 8543 ms (200 OK)' };

const APPLIED: UpdateReport = {
  app: 'helpdesk-backend', outcome: 'applied', repo: REPO, head: NEW, tip: NEW, detail: VERIFY.detail,
  story: story({ result: 'applied', steps: [MERGE, BUILD, RELOAD, VERIFY], detail: VERIFY.detail }),
};

const DIRTY: Refusal = {
  kind: 'dirty',
  text: 'the work tree has local changes (1 modified or staged and 1 untracked file(s): src/app.js, notes.txt) (HEAD a1b2c3d4e5, origin/main f0e1d2c3b4)',
  files: ['src/app.js', 'notes.txt'],
  wayOut: 'commit them upstream or remove them yourself (the monitor never stashes, resets or cleans); untracked files only: update.allow_untracked: true',
  key: `dirty:${OLD}:notes.txt\0src/app.js`,
};
const REFUSED: UpdateReport = {
  app: 'helpdesk-backend', outcome: 'refused', repo: REPO, head: OLD, tip: NEW, refusal: DIRTY, detail: `${DIRTY.text}; way out: ${DIRTY.wayOut}`,
};

const BUSY: UpdateReport = {
  app: 'helpdesk-backend', outcome: 'busy', repo: REPO, detail: 'update in progress: the update lock is held by pid 4242 (update, started 2026-03-14T09:26:50.000Z)',
};

const FAILED_BUILD: StepRecord = { name: 'command 1: npm run build', ok: false, ms: 2310, exitCode: 2, tail: 'src/app.ts(3,7): error TS2322\nnpm error code 2', detail: 'exit 2: npm error code 2' };
const KILLED: StepRecord = { name: 'command 2: npm test', ok: false, ms: 60_000, exitCode: null, detail: 'no exit within 1m: killed' };
const ROLLED_BACK: UpdateReport = {
  app: 'helpdesk-backend', outcome: 'rolled_back', repo: REPO, head: OLD, tip: NEW,
  detail: 'command 1: npm run build failed: exit 2; back on the previous commit: healthy in 2100 ms',
  story: story({
    result: 'rolled_back', trigger: 'webhook',
    steps: [MERGE, FAILED_BUILD, { ...MERGE, name: 'rollback: git reset --keep a1b2c3d4e5', detail: 'HEAD is a1b2c3d4e5' }, { ...BUILD, name: 'rollback: command 1: npm ci' }, { ...VERIFY, name: 'rollback: verify' }],
    detail: 'command 1: npm run build failed: exit 2; back on the previous commit: healthy in 2100 ms',
  }),
  resumed: story({ id: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', trigger: 'resume', result: 'rollback_failed', steps: [KILLED], detail: 'an interrupted update is rolled back; the rollback failed too' }),
};

describe('update --json: hand-built reports match schemas/update.schema.json', () => {
  test('applied, with its story of steps', () => {
    const doc = printed(APPLIED) as Record<string, unknown>;
    assertMatchesSchema('update', doc);
    assert.equal(doc['ok'], true);
    const s = doc['story'] as { duration_ms: number; steps: { duration_ms: number; exit_code?: number }[] };
    assert.equal(s.duration_ms, 18_734);
    assert.deepEqual(s.steps.map((x) => x.exit_code), [0, 0, undefined, undefined], 'exit_code only where the step has one');
  });

  test('refused, with the refusal: kind, text, files, way_out', () => {
    const doc = printed(REFUSED) as { ok: boolean; refusal: Record<string, unknown> };
    assertMatchesSchema('update', doc);
    assert.equal(doc.ok, false);
    assert.deepEqual(Object.keys(doc.refusal).sort(), ['files', 'kind', 'text', 'way_out'], 'the key of a refusal stays inside the monitor');
  });

  test('busy: only the repo besides the outcome', () => {
    assertMatchesSchema('update', printed(BUSY));
  });

  test('rolled back by a webhook, with a failed step, a step ended by a signal (exit_code null), and a resumed story', () => {
    assertMatchesSchema('update', printed(ROLLED_BACK));
  });

  test('every outcome, as the smallest report toJson gets, matches (and ok follows the outcome)', () => {
    const outcomes: readonly UpdateOutcome[] = ['up_to_date', 'skipped', 'refused', 'would_update', 'busy', 'failed', 'applied', 'rolled_back', 'rollback_failed'];
    for (const outcome of outcomes) {
      const r: UpdateReport = { app: 'api', outcome, detail: outcome, ...(outcome === 'refused' ? { refusal: DIRTY } : {}) };
      assertMatchesSchema('update', printed(r));
    }
  });

  test('a rollback report: the story of an operator\'s rollback', () => {
    const r: UpdateReport = {
      app: 'helpdesk-backend', outcome: 'rolled_back', repo: REPO, head: OLD, detail: 'rolled back by an operator; back on the previous commit',
      story: story({ trigger: 'rollback', result: 'rolled_back', steps: [{ ...MERGE, name: 'rollback: git reset --keep a1b2c3d4e5' }, { ...RELOAD, name: 'rollback: pm2 reload' }, { ...VERIFY, name: 'rollback: verify' }], detail: 'rolled back by an operator' }),
    };
    assertMatchesSchema('update', printed(r));
  });
});

describe('update --json: the schema refuses wrong documents', () => {
  /** The schema (not only the naming convention) rejects `doc`, with an error matching `why`. */
  const refuses = (doc: unknown, why: RegExp): void => {
    assert.throws(() => assertMatchesSchema('update', doc), (err: unknown) => {
      assert.ok(err instanceof assert.AssertionError, String(err));
      assert.match(err.message, /^update: /);
      assert.match(err.message, why);
      return true;
    });
  };
  const base = () => JSON.parse(JSON.stringify(printed(APPLIED))) as Record<string, unknown> & { story: Record<string, unknown> & { steps: Record<string, unknown>[] } };

  test('ok that contradicts the outcome', () => {
    refuses({ ...(printed(REFUSED) as object), ok: true }, /must be equal to constant/);
    refuses({ ...base(), ok: false }, /must be equal to constant/);
  });

  test('refused without a refusal, and a refusal on another outcome', () => {
    const { refusal: _r, ...noRefusal } = printed(REFUSED) as Record<string, unknown>;
    refuses(noRefusal, /must have required property 'refusal'/);
    refuses({ ...base(), refusal: (printed(REFUSED) as Record<string, unknown>)['refusal'] }, /must be equal to constant/);
  });

  test('an outcome that does not exist, a story on a busy report', () => {
    refuses({ ...base(), outcome: 'updated' }, /must be equal to one of the allowed values/);
    refuses({ ...(printed(BUSY) as object), story: base().story }, /must be equal to one of the allowed values/);
  });

  test('an engine-shaped story (ms, exitCode) and an unknown key', () => {
    const doc = base();
    const { duration_ms: ms, ...rest } = doc.story;
    refuses({ ...doc, story: { ...rest, ms } }, /must have required property 'duration_ms'|must NOT have additional properties/);
    doc.story.steps[0] = { ...doc.story.steps[0], exitCode: 0 };
    refuses(doc, /must NOT have additional properties/);
    refuses({ ...base(), wayOut: 'x' }, /must NOT have additional properties/);
  });

  test('a short SHA, a fractional duration, an exit code that is a string, too many refused files', () => {
    refuses({ ...base(), head: 'f0e1d2c3b4' }, /must match pattern/);
    const frac = base();
    frac.story['duration_ms'] = 12.5;
    refuses(frac, /must be integer/);
    const code = base();
    code.story.steps[0] = { ...code.story.steps[0], exit_code: '0' };
    refuses(code, /must be integer,null/);
    const many = printed({ ...REFUSED, refusal: { ...DIRTY, files: [] } }) as { refusal: { files: string[] } };
    many.refusal.files = Array.from({ length: 11 }, (_, i) => `f${i}`);
    refuses(many, /must NOT have more than 10 items/);
  });
});
