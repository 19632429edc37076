#!/usr/bin/env bash
# cleanup-ports.sh [--app NAME|all] [--dry-run] : the original script's name, now a thin wrapper
# over `helpdesk-monitor cleanup-ports` (the configured ports, within each app's kill_scope).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec node "$here/../dist/src/cli/index.js" cleanup-ports "$@"
