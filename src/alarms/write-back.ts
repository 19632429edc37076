/**
 * What the alarm trigger writes back to the table: the clear after a verified remedy (only while
 * the row still holds the value acted on) and the note. A write that fails is told once per cause
 * and never touches the remedy; a clear that failed is tried again at later polls while the row
 * is still in alarm with that value, so `on_success: clear` ends with the row cleared.
 */
import { AlarmSourceError, describeError } from '../errors.js';
import type { AlarmsConfig } from '../config/alarms.js';
import type { Logger } from '../log/logger.js';
import { redactText } from '../redact.js';
import type { AlarmRow, HandledRecord } from './plan.js';
import type { AlarmSource } from './source.js';
import { appendNote, clearAlarm, type Statement } from './sql.js';

export class WriteBack {
  private readonly told = new Set<string>();

  constructor(
    private readonly cfg: AlarmsConfig,
    private readonly source: () => AlarmSource | undefined,
    private readonly log: Logger,
  ) {}

  /**
   * Clear each row still holding the value acted on. Per row: true when done (cleared, or the row
   * changed meanwhile and is left as it is), false when the write failed (try again later).
   */
  async clear(rows: readonly AlarmRow[]): Promise<Map<number, boolean>> {
    const done = new Map<number, boolean>();
    for (const row of rows) {
      const changed = await this.write(clearAlarm(this.cfg, row.processId, row.value), 'clear');
      if (changed === 0) this.log.info(`alarm table: process_id ${row.processId} changed since the poll (not ${row.value} any more): left as it is`);
      done.set(row.processId, changed !== undefined);
    }
    return done;
  }

  /** Append one (redacted) line to a row's notes. */
  async note(processId: number, line: string): Promise<void> {
    await this.write(appendNote(this.cfg, processId, redactText(line)), 'note');
  }

  /**
   * Try again the clears that failed, for rows still in alarm with the value that was remedied;
   * returns the records to store (cleared now).
   */
  async retryClears(stillRaised: readonly { readonly row: AlarmRow; readonly record: HandledRecord }[]): Promise<HandledRecord[]> {
    if (this.cfg.onSuccess !== 'clear') return [];
    const pending = stillRaised.filter(({ row, record }) => record.result === 'remedied' && record.cleared === false && record.value === row.value);
    if (pending.length === 0) return [];
    const done = await this.clear(pending.map((p) => p.row));
    return pending.filter((p) => done.get(p.row.processId)).map((p) => ({ ...p.record, cleared: true }));
  }

  /** An UPDATE; undefined when it failed (told once per cause and kind of write). */
  private async write(stmt: Statement, what: 'clear' | 'note'): Promise<number | undefined> {
    const source = this.source();
    if (!source) return undefined;
    try {
      return await source.update(stmt);
    } catch (err) {
      const fault = err instanceof AlarmSourceError ? err.fault : { key: 'ERROR', text: describeError(err) };
      const key = `${what}:${fault.key}`;
      if (!this.told.has(key)) this.log.error(`alarm table: cannot ${what === 'clear' ? 'clear the alarm' : 'append to notes'}: ${fault.text}; the remedy itself is not affected`);
      this.told.add(key);
      return undefined;
    }
  }
}
