#!/usr/bin/env bash
# setup-monitoring.sh: the original one-shot setup, safe to run again.
#   - checks the config (a dry run of the port cleanup)
#   - makes the scripts executable
#   - creates the config's state/log directory (mode 0700) and installs the fallback watch:
#     a systemd timer when systemd runs, else a cron line
# Usage: sudo bash scripts/setup-monitoring.sh --config /srv/helpdesk/monitor.yaml [--every 5m] [--cron|--systemd]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cli=(node "$here/../dist/src/cli/index.js")
config="${HELPDESK_MONITOR_CONFIG:-}"
every="5m"
mode=""
while [ $# -gt 0 ]; do
  case "$1" in
    --config|-c) config="$2"; shift 2 ;;
    --every|-e) every="$2"; shift 2 ;;
    --cron) mode="--cron"; shift ;;
    --systemd) mode="--systemd"; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "setup-monitoring.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$config" ] || { echo "setup-monitoring.sh: pass --config FILE (or set HELPDESK_MONITOR_CONFIG)" >&2; exit 2; }
[ -f "$here/../dist/src/cli/index.js" ] || { echo "setup-monitoring.sh: build first (npm ci && npm run build)" >&2; exit 2; }

# %q: a path is shown, never obeyed by the terminal (install-timer refuses control characters in it).
echo "1/3 checking the config $(printf '%q' "$config") (a dry run of the port cleanup: validates, kills nothing)"
"${cli[@]}" cleanup-ports --dry-run --config "$config"

echo "2/3 making the scripts executable"
chmod +x "$here"/*.sh

if [ -z "$mode" ]; then
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then mode="--systemd"; else mode="--cron"; fi
fi
# install-timer also creates the config's state_dir (lock, state.json, logs) with mode 0700.
echo "3/3 installing the fallback watch ($mode, every $every) and the state directory"
"${cli[@]}" install-timer "$mode" --every "$every" --config "$config"
echo "done: the watch runs \`helpdesk-monitor check\` every $every (exit 3 = the module is active = fine)"
