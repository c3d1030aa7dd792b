#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: Python clients, formatting, lints, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# A clean run needs about 2.5 GB; say what there is, so a full disk is plain from the log.
echo "==> free disk: $(df -Ph . | awk 'NR==2 {print $4}') in $(pwd)"

echo "==> python clients (.venv: pinned awscli, boto3, moto server)"
scripts/setup-python.sh
echo "==> console tests (Debian's Chromium, Playwright from console-tests/package-lock.json)"
scripts/setup-console.sh

# Tests find the AWS CLI, boto3 and moto_server here.
export PATH="$PWD/.venv/bin:$PATH"
export EMULATOR_TEST_VENV="$PWD/.venv"

# CI builds from a clean clone, where incremental caches only cost disk (1.5 GB) and time.
export CARGO_INCREMENTAL=0

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "==> tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast --failure-output final --status-level fail
else
  cargo test --workspace --no-fail-fast
fi
