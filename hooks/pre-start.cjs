// helpdesk-monitor pre-start hook for PM2 apps. PM2 has no pre_start option, so preload it:
//   node_args: ['--require', '/ABSOLUTE/PATH/node_modules/helpdesk-monitor/hooks/pre-start.cjs']
// It runs before the app's own code on every start, PM2's autorestarts included, and frees the
// app's ports (HDM_PORTS, else PORT) from leftover holders in HDM_KILL_SCOPE (default: app).
// Synchronous on purpose (a preload cannot await); it never throws, so it can never stop the app
// from starting.
'use strict';
(function preStart() {
  const started = process.hrtime.bigint();
  try {
    // Fork mode: the app env is process.env. Cluster mode: only in pm2_env.
    let env = process.env;
    let cwd = process.cwd();
    if (process.env.pm2_env) {
      try {
        const pm2Env = JSON.parse(process.env.pm2_env);
        // The app's identity for the kill scope: its pm_id and name (cluster workers get theirs here).
        env = { ...process.env, ...(pm2Env.env || {}), name: pm2Env.name, pm_id: String(pm2Env.pm_id) };
        cwd = pm2Env.pm_cwd || cwd;
      } catch {
        // keep process.env
      }
    }
    if (env.HDM_PRE_START === 'off') return;
    const dist = require('node:path').join(__dirname, '..', 'dist', 'src', 'ports');
    const name = env.name || env.pm_id || process.pid;
    // Cheap first: settings and one look at the TCP tables; the full plan loads only when a port is busy.
    const gate = requireQuietly(require('node:path').join(dist, 'hook-gate.js')).gate(env);
    if (typeof gate !== 'string' && !gate.busy) {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (env.HDM_DEBUG) process.stderr.write(`[helpdesk-monitor pre-start ${name}] ports ${gate.ports.join(',')} free (${ms.toFixed(1)} ms)\n`);
      return;
    }
    const hook = requireQuietly(require('node:path').join(dist, 'hook.js'));
    const result = hook.preStartFreePorts({ env, cwd });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (typeof result === 'string') {
      if (env.HDM_DEBUG) process.stderr.write(`[helpdesk-monitor pre-start ${name}] ${result}\n`);
      return;
    }
    if (result.killed.length === 0 && result.refused.length === 0) {
      if (env.HDM_DEBUG) process.stderr.write(`[helpdesk-monitor pre-start ${name}] ports ${result.ports.join(',')} free (${ms.toFixed(1)} ms)\n`);
      return;
    }
    for (const line of hook.describePreStart(result, String(name), ms)) process.stderr.write(`${line}\n`);
  } catch (err) {
    process.stderr.write(`[helpdesk-monitor pre-start] skipped: ${err && err.message ? err.message : String(err)}\n`);
  }
})();

// require(esm) prints an ExperimentalWarning on Node 20/22 into every app's log: mute that one.
function requireQuietly(file) {
  const emit = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    const text = String(warning && warning.message ? warning.message : warning);
    const type = typeof rest[0] === 'string' ? rest[0] : rest[0] && rest[0].type;
    if (type === 'ExperimentalWarning' && /require\(\)|ES Module/i.test(text)) return;
    return emit.call(process, warning, ...rest);
  };
  try {
    return require(file);
  } finally {
    process.emitWarning = emit;
  }
}
