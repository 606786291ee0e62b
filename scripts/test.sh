#!/usr/bin/env bash
# Installs everything and runs every test: the README's test command, and
# what CI runs. Cluster-mode tests need MariaDB, Redis and NATS on 127.0.0.1;
# ensure-services.sh starts them (installing from Debian's packages if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-services.sh
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10 >/dev/null
pnpm install --frozen-lockfile
pnpm test
