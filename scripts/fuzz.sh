#!/usr/bin/env bash
# Coverage-guided fuzzing with cargo-fuzz (libFuzzer) on the stable toolchain.
#
#   scripts/fuzz.sh TARGET [SECONDS]   run one target (default 300 s); new inputs go to
#                                      fuzz/corpus/TARGET, crashes to fuzz/artifacts/TARGET
#   scripts/fuzz.sh --list             the targets
#   scripts/fuzz.sh --smoke SECONDS    CI: every target for SECONDS over the checked-in seeds and
#                                      regressions only (nothing is written to the repository)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --version 0.13.2 --locked`). RUSTC_BOOTSTRAP=1
# lets stable rustc take the nightly-only flags cargo-fuzz passes. FUZZ_SANITIZER=address adds
# AddressSanitizer (about 3x slower; the crate has no `unsafe` code, so the default is none).
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
sanitizer="${FUZZ_SANITIZER:-none}"
# -a: debug assertions, hence overflow checks: an unchecked `+` on input is a crash.
build_flags=(--fuzz-dir fuzz -a --sanitizer "$sanitizer")
# A hang is an input that takes 10 s; a balloon is 2 GiB resident.
libfuzzer_flags=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

usage() {
  sed -n '2,13p' "$0" >&2
  exit 2
}

# The fuzz crate pins what it shares with the provider through the provider's own Cargo.lock;
# only libfuzzer-sys (pinned exactly in fuzz/Cargo.toml) and its dependencies are added.
prepare_lock() {
  cp Cargo.lock fuzz/Cargo.lock
  cargo fetch --manifest-path fuzz/Cargo.toml --quiet
}

targets() {
  sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^terraform-provider-vm-fuzz$'
}

# The directories of TARGET's checked-in inputs that exist.
inputs() {
  for d in "fuzz/seeds/$1" "fuzz/regressions/$1"; do
    if [ -d "$d" ]; then echo "$d"; fi
  done
}

run() {
  local target=$1 seconds=$2 corpus=$3 artifacts=$4
  mkdir -p "$corpus" "$artifacts"
  # shellcheck disable=SC2046 # one directory per line, no spaces
  cargo fuzz run "${build_flags[@]}" "$target" "$corpus" $(inputs "$target") -- \
    "${libfuzzer_flags[@]}" -max_total_time="$seconds" -artifact_prefix="$artifacts/"
}

case "${1:-}" in
  --list)
    targets
    ;;
  --smoke)
    seconds="${2:-40}"
    prepare_lock
    echo "==> seeds and regressions match the encoders"
    cargo test --locked --features fuzzing --test fuzz_seeds
    echo "==> clippy with the fuzzing feature"
    cargo clippy --locked --features fuzzing --lib --tests -- -D warnings
    echo "==> cargo fuzz build"
    cargo fuzz build "${build_flags[@]}"
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    start=$SECONDS
    for t in $(targets); do
      echo "==> fuzz $t for ${seconds}s"
      # libFuzzer prints a line per new input; CI keeps its final figures, or the whole tail
      # when the target fails.
      if ! run "$t" "$seconds" "$scratch/corpus/$t" "$scratch/artifacts/$t" >"$scratch/$t.log" 2>&1; then
        tail -n 80 "$scratch/$t.log"
        echo "fuzz target $t failed" >&2
        exit 1
      fi
      grep -E '^(stat::|Done )' "$scratch/$t.log" | tr '\n' ' ' || true
      echo
    done
    echo "==> fuzz smoke run: $(targets | wc -l) targets in $((SECONDS - start))s"
    ;;
  "" | -*)
    usage
    ;;
  *)
    target=$1
    seconds="${2:-300}"
    targets | grep -qx "$target" || { echo "unknown target $target; one of: $(targets | tr '\n' ' ')" >&2; exit 2; }
    prepare_lock
    run "$target" "$seconds" "fuzz/corpus/$target" "fuzz/artifacts/$target"
    ;;
esac
