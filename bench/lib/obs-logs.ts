/**
 * Log bytes per incident: the real `run` watches the lab's example app with log.format json, then
 * text (level info, a log file of its own each); the bench makes it hang (SIGSTOP) and crash with a
 * port squatter, and counts the bytes, newline included, of the file's lines that carry the
 * remedy's incident_id (every line of a remedy does, its incident record last). The lines are read
 * back with the monitor's own parser (src/log/parse-line.ts), which reads both formats. Health is
 * followed through /api/status (the http: block is on for that), whichever the log format.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { parseLogLine } from '../../src/log/parse-line.js';
import { injectFault } from '../../test/helpers/sandbox.js';
import type { Lab, LabApp } from './lab.js';

export type LogFormat = 'json' | 'text';
export type Fault = 'hang' | 'squat';

export interface LogTrial {
  readonly format: LogFormat;
  readonly fault: Fault;
  readonly incidentId: string;
  readonly result: string;
  readonly lines: number;
  readonly bytes: number;
  /** The incident record line alone. */
  readonly recordBytes: number;
  /** The other lines of the remedy, by level. */
  readonly levels: Readonly<Record<string, number>>;
}

interface Story {
  readonly lines: { readonly text: string; readonly level: string; readonly record: boolean }[];
}

function stories(file: string): Map<string, Story> {
  const out = new Map<string, Story>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const raw of text.split('\n')) {
    const line = parseLogLine(raw);
    if (!line?.incident_id) continue;
    const s = out.get(line.incident_id) ?? { lines: [] };
    s.lines.push({ text: raw, level: line.level, record: line.event === 'incident' && line.incident !== undefined });
    out.set(line.incident_id, s);
  }
  return out;
}

async function appHealthy(httpPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/status`, { signal: AbortSignal.timeout(2000) });
    const doc = (await res.json()) as { apps: { healthy: boolean }[] };
    return doc.apps.length > 0 && doc.apps.every((a) => a.healthy);
  } catch {
    return false;
  }
}

async function until<T>(what: string, cond: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`log bytes: ${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function measureLogBytes(lab: Lab, app: LabApp, o: { httpPort: number; trials: number; progress: (t: string) => void }): Promise<LogTrial[]> {
  const trials: LogTrial[] = [];
  for (const format of ['json', 'text'] as const) {
    const file = join(lab.home, `monitor-${format}.log`);
    const config = join(lab.home, `log-${format}.yaml`);
    writeFileSync(config, YAML.stringify({
      state_dir: join(lab.home, `log-state-${format}`),
      log: { format, file, level: 'info' },
      http: { port: o.httpPort },
      apps: [{ name: app.name, health: { url: `http://127.0.0.1:${app.port}/health`, interval: '1s', timeout: '500ms', failure_threshold: 2 }, startup_grace: '2s', ports: [app.port] }],
    }));
    const m = lab.startMonitor(config);
    try {
      await until('the app healthy at start', async () => ((await appHealthy(o.httpPort)) ? true : undefined), 30_000);
      for (let t = 0; t < o.trials; t++) {
        for (const fault of ['hang', 'squat'] as const) {
          o.progress(`  ${format}: ${fault}, trial ${t + 1}/${o.trials}`);
          await lab.settle(app, { minUptimeMs: 2500 });
          const known = new Set(stories(file).keys());
          const pid = (await lab.info(app.name)).pid;
          if (fault === 'hang') lab.freeze(pid);
          else await injectFault(app.port, 'squat');
          const id = await until(`the ${fault} incident's record`, () => [...stories(file)].find(([k, s]) => !known.has(k) && s.lines.some((l) => l.record))?.[0], 30_000);
          if (fault === 'hang') lab.thaw(pid);
          await until('the app healthy again', async () => ((await appHealthy(o.httpPort)) ? true : undefined), 30_000);
          const story = stories(file).get(id)!;
          const record = story.lines.find((l) => l.record)!;
          const recordDoc = parseLogLine(record.text)?.incident ?? {};
          const levels: Record<string, number> = {};
          for (const l of story.lines) levels[l.level] = (levels[l.level] ?? 0) + 1;
          trials.push({
            format, fault, incidentId: id, result: String(recordDoc['result'] ?? '?'), lines: story.lines.length,
            bytes: story.lines.reduce((n, l) => n + Buffer.byteLength(l.text, 'utf8') + 1, 0),
            recordBytes: Buffer.byteLength(record.text, 'utf8') + 1, levels,
          });
        }
      }
    } finally {
      await m.stop();
    }
  }
  return trials;
}
