#!/usr/bin/env bash
# The crash and fault campaign (bounded, loopback only): SIGKILL under load N times, an
# unwritable bucket, and a full disk (a small tmpfs, when run as root). Prints acknowledged,
# delivered, lost and duplicated calls and state changes without a record.
#
#   scripts/fault-campaign.sh [--kills 20] [--threads 4]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-python.sh
cargo build --release -p emulator
exec .venv/bin/python scripts/fault_campaign.py --binary "$PWD/target/release/emulator" "$@"
