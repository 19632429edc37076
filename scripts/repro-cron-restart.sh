#!/usr/bin/env bash
# repro-cron-restart.sh [CASE...] : what PM2 (this repo's node_modules/pm2) does with cron_restart
# across stop, save, kill and resurrect. Each case runs in its own temp PM2_HOME, which is killed
# and removed afterwards. Cases: a b c1 c2 d1 d2 e1 e2 f (default: all); see README
# "Schedules PM2 loses". Prints, per case, the starts counted in the 12 s after the last step
# (ticks every 5 s: 2 or 3 means PM2 fired), and the final status.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
pm2="$root/node_modules/pm2/bin/pm2"
app="$root/test/fixtures/cron-app.cjs"

run_case() {
  local name=$1 mode=$2 kill=$3
  local home; home=$(mktemp -d)
  export PM2_HOME=$home PM2_DISCRETE_MODE=true PM2_DISABLE_VERSION_CHECK=true
  local file=$home/starts ar=true tmode=serve
  [ "$mode" = job ] && { ar=false; tmode=job; }
  cat >"$home/eco.config.js" <<EOT
module.exports = { apps: [{ name: 'cronapp', script: '$app', cron_restart: '*/5 * * * * *', autorestart: $ar,
  env: { TICK_FILE: '$file', TICK_MODE: '$tmode' } }] };
EOT
  node "$pm2" start "$home/eco.config.js" >/dev/null 2>&1
  sleep 1.5
  [ "$mode" = stopped ] && node "$pm2" stop cronapp >/dev/null 2>&1
  if [ "$kill" != none ]; then
    node "$pm2" save >/dev/null 2>&1
    if [ "$kill" = kill ]; then node "$pm2" kill >/dev/null 2>&1
    else kill -9 "$(cat "$home/pm2.pid")"; sleep 0.5; fi
  fi
  # An online app's orphan (after a SIGKILL of the daemon) is ended below, by the pid it recorded.
  local orphans; orphans=$(cut -d' ' -f2 "$file" 2>/dev/null)
  [ "$kill" != none ] && node "$pm2" resurrect >/dev/null 2>&1
  local before; before=$(wc -l <"$file")
  sleep 12
  local after; after=$(wc -l <"$file")
  local status; status=$(node "$pm2" jlist 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const p of JSON.parse(s)) console.log(p.pm2_env.status)})')
  echo "case $name: app=$mode daemon=$kill starts_in_12s=$((after - before)) status=$status"
  node "$pm2" kill >/dev/null 2>&1
  if [ "$kill" = sigkill ]; then for p in $orphans; do kill "$p" 2>/dev/null; done; fi
  rm -rf "$home"
}

declare -A cases=([a]="online none" [b]="stopped none" [c1]="online kill" [c2]="online sigkill"
  [d1]="stopped kill" [d2]="stopped sigkill" [e1]="job kill" [e2]="job sigkill" [f]="job none")
selected=("$@")
[ ${#selected[@]} -eq 0 ] && selected=(a b c1 c2 d1 d2 e1 e2 f)
for c in "${selected[@]}"; do
  [ -n "${cases[$c]:-}" ] || { echo "unknown case $c" >&2; exit 2; }
  # shellcheck disable=SC2086
  run_case "$c" ${cases[$c]}
done
