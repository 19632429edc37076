#!/usr/bin/env bash
# kill-port.sh PORT... : the original script's name, now a thin wrapper over
# `helpdesk-monitor kill-port` (SIGTERM, grace, SIGKILL, confirm free; never PID 1, PM2 or us).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec node "$here/../dist/src/cli/index.js" kill-port "$@"
