/**
 * Checking a command's `--json` output against its JSON Schema in schemas/, and against the
 * naming convention every document follows: snake_case keys, integer `*_ms` durations.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ROOT } from './sandbox.js';

const ajv = new Ajv2020({ allErrors: true, strict: true });
const compiled = new Map<string, ReturnType<typeof ajv.compile>>();

/** The schema file's names: status, check, check-dry-run, operation, ports, hook. */
export function schemaPath(name: string): string {
  return join(ROOT, 'schemas', `${name}.schema.json`);
}

/** Assert `doc` is valid under schemas/<name>.schema.json and keeps the naming convention. */
export function assertMatchesSchema(name: string, doc: unknown): void {
  let validate = compiled.get(name);
  if (!validate) {
    validate = ajv.compile(JSON.parse(readFileSync(schemaPath(name), 'utf8')) as object);
    compiled.set(name, validate);
  }
  const ok = validate(doc);
  assert.ok(ok, `${name}: ${ajv.errorsText(validate.errors, { separator: '\n' })}\n${JSON.stringify(doc, null, 2).slice(0, 4000)}`);
  assert.deepEqual(conventionBreaks(doc), [], `${name}: keys are snake_case and *_ms values integers`);
}

/** Every key that is not snake_case, and every `*_ms` value that is not an integer, by path. */
export function conventionBreaks(doc: unknown, at = '$'): string[] {
  if (Array.isArray(doc)) return doc.flatMap((v, i) => conventionBreaks(v, `${at}[${i}]`));
  if (typeof doc !== 'object' || doc === null) return [];
  return Object.entries(doc).flatMap(([k, v]) => [
    ...(/^[a-z][a-z0-9_]*$/.test(k) ? [] : [`${at}.${k}: not snake_case`]),
    ...((k.endsWith('_ms') || k === 'ms') && !Number.isInteger(v) ? [`${at}.${k}: ${String(v)} is not an integer`] : []),
    ...conventionBreaks(v, `${at}.${k}`),
  ]);
}
