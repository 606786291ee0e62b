#!/usr/bin/env bash
# Installs everything and runs every test: the README's test command, and
# what CI runs. Cluster-mode tests need MariaDB, Redis and NATS on 127.0.0.1;
# ensure-services.sh starts them (installing from Debian's packages if missing);
# the browser tests need Chromium, installed below the same way.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-services.sh
# Headless Chromium for the browser tests (tests/e2e/webchat.test.ts), from Debian's packages.
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10 >/dev/null
pnpm install --frozen-lockfile
pnpm test
