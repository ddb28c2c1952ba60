#!/usr/bin/env bash
# Apply/plan benchmark of the provider against the bundled emulator, with ratios measured in one
# run (issue 8). Not a test: it prints figures and whether each meets its target, and exits
# non-zero only if something fails to run.
#
#   ./scripts/bench.sh                 # debug build (what `cargo test` builds)
#   BENCH_RELEASE=1 ./scripts/bench.sh # release build
#   BENCH_N=200 BENCH_RUNS=3           # resources per run, repetitions of plan/overhead runs
#
# Needs cargo, python3 and terraform >= 1.11 (TF_ACC_TERRAFORM_PATH or `terraform` on PATH).
# The machine's load changes every figure: the script prints `uptime` before and after.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
profile=debug
if [[ "${BENCH_RELEASE:-}" == 1 ]]; then
  cargo build --workspace --bins --locked --release --quiet
  profile=release
else
  cargo build --workspace --bins --locked --quiet
fi
target_dir="$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
export BENCH_PROVIDER_DIR="$target_dir/$profile"
exec python3 "$ROOT/scripts/bench.py"
