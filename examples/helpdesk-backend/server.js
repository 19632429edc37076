// A small HelpDesk-like backend: plain node:http, a /health route, a tickets route, and (only
// when FAULTS=1) fault injection used by the demo, the tests and the benchmark.
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

if (process.argv[2] === '--squatter') {
  // A detached child that inherited the listening socket and outlives its parent.
  process.on('message', (msg, handle) => {
    if (msg === 'server') {
      handle.on('connection', (socket) => socket.destroy());
      process.send?.('holding');
    }
  });
  setInterval(() => undefined, 60_000);
} else {
  const port = Number(process.env.PORT ?? 5000);
  const host = process.env.HOST ?? '127.0.0.1';
  const healthDelay = Number(process.env.HEALTH_DELAY_MS ?? 0);
  const faults = process.env.FAULTS === '1';
  let healthHangs = false;
  let healthTrickles = false;
  const tickets = [{ id: 1, title: 'Printer on fire', status: 'open' }];

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url === '/health') {
      if (healthHangs) return; // accept, never answer
      if (healthTrickles) {
        // A 200 whose body never ends: one byte every 100 ms, forever.
        res.writeHead(200, { 'content-type': 'application/json' });
        const drip = setInterval(() => res.write(' '), 100);
        return res.on('close', () => clearInterval(drip));
      }
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'ok', pid: process.pid, uptime: process.uptime() }));
      };
      return healthDelay > 0 ? setTimeout(answer, healthDelay) : answer();
    }
    if (req.method === 'GET' && url === '/api/tickets') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(tickets));
    }
    if (faults && req.method === 'POST' && url.startsWith('/__fault/')) return fault(url.slice(9), res);
    res.writeHead(404).end();
  });

  function fault(kind, res) {
    res.writeHead(202).end(`${kind}\n`);
    switch (kind) {
      case 'crash':
        return setTimeout(() => process.exit(1), 20);
      case 'hang':
        return setTimeout(() => { for (;;); }, 20);
      case 'hang-health':
        healthHangs = true;
        return;
      case 'trickle':
        healthTrickles = true;
        return;
      case 'squat': {
        // Hand the listening socket to a detached child, then crash: the classic EADDRINUSE trap.
        const child = fork(fileURLToPath(import.meta.url), ['--squatter'], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
        child.on('message', () => {
          child.unref();
          process.exit(1);
        });
        child.send('server', server);
        return;
      }
    }
  }

  server.listen(port, host, () => console.log(`helpdesk-backend listening on http://${host}:${port} (pid ${process.pid})`));
  process.on('SIGINT', () => server.close(() => process.exit(0)));
}
