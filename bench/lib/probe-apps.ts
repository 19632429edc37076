/**
 * The apps `bench:probe` probes: N child processes, one loopback HTTP server each, on ports the
 * kernel picks. Each counts the /health requests it answered, so the bench can check that every
 * probe it sent was really served.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';

/**
 * One app: answers /health with a small JSON body and counts it, /hits returns the count. Its
 * keep-alive timeout outlasts a whole round, so the sockets of a resting variant are still open
 * when its turn comes again (the monitor's own sockets never rest that long). It exits when the
 * bench's end of its stdin closes, so a killed bench leaves no app behind.
 */
const APP_SOURCE = `'use strict';
const http = require('node:http');
let hits = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 15 });
    return res.end('{"status":"ok"}');
  }
  if (req.url === '/hits') {
    const body = String(hits);
    res.writeHead(200, { 'content-length': body.length });
    return res.end(body);
  }
  res.writeHead(404, { 'content-length': 0 });
  res.end();
});
server.keepAliveTimeout = 600000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0)).resume();
`;

/** Start one app; resolves with its port. */
function startApp(children: ChildProcess[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', APP_SOURCE], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    const t = setTimeout(() => reject(new Error(`app pid ${child.pid} did not listen within 30 s`)), 30_000);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`app pid ${child.pid} exited ${code}`)));
    child.stdout!.setEncoding('utf8').once('data', (line: string) => {
      clearTimeout(t);
      resolve(Number(line.trim()));
    });
  });
}

/** What one app answers to /hits (asked on a connection of its own; not counted). */
function hitsOf(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/hits', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve(Number(body) || 0)).on('error', reject);
    }).on('error', reject);
  });
}

/** Total /health hits the apps answered. */
export async function totalHits(ports: readonly number[]): Promise<number> {
  return (await Promise.all(ports.map(hitsOf))).reduce((a, b) => a + b, 0);
}

/** Start `count` apps, ten at a time; `children` gets every child started (for cleanup). */
export async function startApps(count: number, children: ChildProcess[], progress: (text: string) => void): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i += 10) {
    progress(`starting apps ${i + 1}-${Math.min(count, i + 10)} of ${count}`);
    ports.push(...(await Promise.all(Array.from({ length: Math.min(10, count - i) }, () => startApp(children)))));
  }
  return ports;
}

/** SIGKILL the apps still running (each also exits by itself once our end of its stdin closes). */
export function stopApps(children: readonly ChildProcess[]): void {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null || !child.pid) continue;
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
