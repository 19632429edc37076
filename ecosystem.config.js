// PM2 ecosystem for the example HelpDesk backend, watched by helpdesk-monitor.
// This package is ESM ("type": "module"), so the apps are a named export: PM2 7 on Node >= 20.19
// loads this file through require(esm), and helpdesk-monitor reads the same file for the
// `monitor:` blocks (PM2 itself ignores keys it does not know).
//
//   pm2 start ecosystem.config.js                     # the example app
//   helpdesk-monitor run --config ecosystem.config.js # the monitor, in the foreground
const root = import.meta.dirname;
const PORT = Number(process.env.PORT ?? 5000);

export const apps = [
  {
    name: 'helpdesk-backend',
    script: `${root}/examples/helpdesk-backend/server.js`,
    cwd: `${root}/examples/helpdesk-backend`,
    env: { PORT: String(PORT), NODE_ENV: 'production' },
    kill_timeout: 3000,
    monitor: {
      health: { url: `http://127.0.0.1:${PORT}/health`, timeout: '2s', interval: '5s', failure_threshold: 3 },
      startup_grace: '10s',
      ports: [PORT],
      kill_scope: 'app',
    },
  },
];

export default { apps };
