#!/usr/bin/env bash
# What the console's browser tests need: Debian's Chromium, and Playwright from the npm registry
# at the version console-tests/package-lock.json pins. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  # The package lists may be stale on a fresh machine; refresh them only when the first try fails.
  $sudo apt-get install -y --no-install-recommends chromium \
    || { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends chromium; }
fi
echo "chromium: $(chromium --version)"

# Installed again only when what is there is not what the lock file pins.
pinned=$(node -p 'require("./console-tests/package-lock.json").packages["node_modules/playwright-core"].version')
installed=$(node -p 'try { require("./console-tests/node_modules/playwright-core/package.json").version } catch { "" }')
if [ "$pinned" != "$installed" ]; then
  (cd console-tests && npm ci --no-audit --no-fund)
fi
echo "playwright-core: $(node -p 'require("./console-tests/node_modules/playwright-core/package.json").version')"
