#!/usr/bin/env bash
# Installs and starts the product on the embedded default (standalone mode):
# every role in one process, SQLite in ./data, nothing else to install.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10 >/dev/null
pnpm install --frozen-lockfile
exec pnpm start
