#!/usr/bin/env bash
# Live-mode benchmark for issue 5: builds the release emulator, then runs the generator's live
# bench, which drives that emulator (started as a child process on this machine) and, as a
# ceiling, a fixed-response server. Prints offered vs achieved rate, errors by code, p50/p99,
# and whether the emulator kept up (every answered call in a delivered log file after a flush).
#
#   scripts/live-bench.sh                      # 20,000 req/s of audit-noise for 10 s
#   BENCH_RATE=5000 BENCH_SECS=5 BENCH_SCENARIO=demo scripts/live-bench.sh
#   BENCH_CASES=emulator scripts/live-bench.sh # skip the fixed-response ceiling
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p emulator
EMULATOR_BIN="$(pwd)/target/release/emulator" exec cargo bench -p generator --bench live
