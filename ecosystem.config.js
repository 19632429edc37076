// PM2 ecosystem for the example HelpDesk backend, with the pre-start hook, a monitor block, and
// the monitor itself.
//
// This package is ESM ("type": "module"), so the apps are a named export: PM2 7 on Node >= 20.19
// loads this file through require(esm), and helpdesk-monitor reads the same file for the
// `monitor:` blocks (PM2 itself ignores keys it does not know).
//
//   npm run build && pm2 start ecosystem.config.js     # the example app and the monitor
//   helpdesk-monitor status --config ecosystem.config.js
//
// In your own project (CommonJS), write `module.exports = { apps: [...] }` and point the hook at
// require.resolve('helpdesk-monitor/hooks/pre-start.cjs').
const root = import.meta.dirname;
const PORT = Number(process.env.PORT ?? 5000);

export const apps = [
  {
    name: 'helpdesk-backend',
    script: `${root}/examples/helpdesk-backend/server.js`,
    cwd: `${root}/examples/helpdesk-backend`,
    // Runs before every start, PM2's own autorestarts included: frees PORT from leftovers.
    node_args: ['--require', `${root}/hooks/pre-start.cjs`],
    env: { PORT: String(PORT), NODE_ENV: 'production', HDM_KILL_SCOPE: 'app' },
    kill_timeout: 3000,
    monitor: {
      health: { url: `http://127.0.0.1:${PORT}/health`, timeout: '2s', interval: '5s', failure_threshold: 3 },
      startup_grace: '10s',
      ports: [PORT],
      kill_scope: 'app',
    },
  },
  {
    // The monitor as a plain PM2 app (or install it as a module: see the README).
    name: 'helpdesk-monitor-run',
    script: `${root}/dist/src/cli/index.js`,
    args: ['run', '--config', `${root}/ecosystem.config.js`],
    env: { PORT: String(PORT) },
    max_memory_restart: '200M',
    autorestart: true,
  },
];

export default { apps };
