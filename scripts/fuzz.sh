#!/usr/bin/env bash
# Fuzzes every target in fuzz/ with libFuzzer for a bounded time, and reports executions and
# findings. Bounded, loopback-free, and not part of CI (CI runs the committed corpus through
# `cargo test -p fuzzing`).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# New inputs found go to fuzz/found/<target>/ (not committed); crashes to
# fuzz/artifacts/<target>/. Copy an input worth keeping into fuzz/corpus/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(sigv4 aws_json rest_json s3_request filter_expression)
fi

# Coverage instrumentation as cargo-fuzz sets it, on stable Rust (no sanitizer). The explicit
# --target keeps these flags off build scripts and proc macros.
triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
export CARGO_TARGET_DIR="$PWD/target/fuzz"
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
(cd fuzz && cargo build --release --target "$triple" "${bins[@]}")

status=0
printf '%-18s %12s %10s %8s %9s\n' target executions exec/s corpus findings
for t in "${targets[@]}"; do
  found="fuzz/found/$t"
  artifacts="fuzz/artifacts/$t"
  mkdir -p "$found" "$artifacts"
  log=$(mktemp)
  "$CARGO_TARGET_DIR/$triple/release/$t" "$found" "fuzz/corpus/$t" \
    -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    -max_len=65536 -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1 || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  crashes=$(find "$artifacts" -type f | wc -l)
  units=$(find "$found" -type f | wc -l)
  printf '%-18s %12s %10s %8s %9s\n' "$t" "${execs:-?}" "${rate:-?}" "$units" "$crashes"
  if [ "$crashes" -gt 0 ]; then
    status=1
    grep -E 'panicked|ERROR|SUMMARY' "$log" | head -5 || true
  fi
  rm -f "$log"
done
exit $status
