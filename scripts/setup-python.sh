#!/usr/bin/env bash
# Creates .venv with the pinned AWS CLI, boto3 and moto server the tests use. Idempotent: it
# reinstalls only when client-tests/requirements.txt changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
req=client-tests/requirements.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
python3 -m venv .venv
# No pip cache: CI installs once into a clean clone, and the cache would double the disk it takes.
export PIP_NO_CACHE_DIR=1
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
echo "$want" > "$stamp"
echo "python clients installed: $(.venv/bin/aws --version 2>&1)"
