/**
 * The incidents in the monitor's log: each `event: incident` line (one per remedy), with its
 * story, the lines that carry the same incident_id, across the current and rotated files, oldest
 * first. What `helpdesk-monitor incidents` prints. Lines of either format are read (parse-line.ts).
 */
import { logFiles, readLogText } from './log-files.js';
import { parseLogLine, type LogLine } from './parse-line.js';

export interface StoryLine {
  readonly time: string;
  readonly level: string;
  readonly message: string;
}

export interface FoundIncident {
  /** The incident line's time: when the remedy ended. */
  readonly time: string;
  readonly level: string;
  readonly app: string;
  readonly incident_id: string;
  readonly message: string;
  /** The record (schemas/log-line.schema.json, $defs/incident). */
  readonly incident: Record<string, unknown>;
  /** The remedy's lines before its record, in order. */
  readonly story: readonly StoryLine[];
  /** The file the record was found in. */
  readonly file: string;
}

export interface ReadFile {
  readonly path: string;
  readonly gzip: boolean;
  readonly lines: number;
  /** Lines that are neither a JSON nor a text log line. */
  readonly unreadable: number;
  /** Why the file could not be read at all. */
  readonly error?: string;
}

export interface IncidentFilter {
  readonly app?: string;
  /** Only incidents whose line is at or after this time (ms since the epoch). */
  readonly sinceMs?: number;
}

export interface IncidentScan {
  readonly files: readonly ReadFile[];
  readonly incidents: readonly FoundIncident[];
}

/** Story lines kept per incident (a remedy logs a handful; a runaway one must not fill memory). */
const STORY_MAX = 50;

/** Read the log file and its rotated siblings for incidents. */
export function scanIncidents(file: string, filter: IncidentFilter = {}): IncidentScan {
  const files: ReadFile[] = [];
  const collector = new Collector(filter);
  for (const f of logFiles(file)) {
    let read: { text: string; gzip: boolean };
    try {
      read = readLogText(f.path);
    } catch (err) {
      files.push({ path: f.path, gzip: f.path.endsWith('.gz'), lines: 0, unreadable: 0, error: err instanceof Error ? err.message : String(err) });
      continue;
    }
    let lines = 0;
    let unreadable = 0;
    for (const raw of read.text.split('\n')) {
      if (raw.trim() === '') continue;
      lines++;
      const line = parseLogLine(raw);
      if (line) collector.add(line, f.path);
      else unreadable++;
    }
    files.push({ path: f.path, gzip: read.gzip, lines, unreadable });
  }
  return { files, incidents: collector.incidents };
}

/** Incidents from lines in order (oldest first): a record closes the story of its incident_id. */
export class Collector {
  readonly incidents: FoundIncident[] = [];
  private readonly stories = new Map<string, StoryLine[]>();

  constructor(private readonly filter: IncidentFilter = {}) {}

  add(line: LogLine, file: string): void {
    const id = line.incident_id;
    if (id === undefined) return;
    if (line.event === 'incident' && line.incident) {
      const story = this.stories.get(id) ?? [];
      this.stories.delete(id);
      if (!this.wanted(line)) return;
      this.incidents.push({
        time: line.time, level: line.level, app: line.app ?? '', incident_id: id, message: line.message, incident: line.incident, story, file,
      });
      return;
    }
    let story = this.stories.get(id);
    if (!story) {
      story = [];
      this.stories.set(id, story);
    }
    if (story.length < STORY_MAX) story.push({ time: line.time, level: line.level, message: line.message });
  }

  private wanted(line: LogLine): boolean {
    if (this.filter.app !== undefined && line.app !== this.filter.app) return false;
    if (this.filter.sinceMs !== undefined && !(Date.parse(line.time) >= this.filter.sinceMs)) return false;
    return true;
  }
}
