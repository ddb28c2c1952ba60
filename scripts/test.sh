#!/usr/bin/env bash
# The project's test command (README "Quick start" and .ci/run): formatting,
# lints, then every unit, integration, property and acceptance test of the
# workspace, including those that drive the real terraform binary, and then
# the acceptance tests again under Terraform 1.15, then the conformance tests
# (Microsoft's az CLI and Azure SDK for Python against the emulator).
#
# The Terraform matrix (TF_ACC_TERRAFORM_PATH selects the binary the tests run):
#   1. TERRAFORM_OLDEST (default: `terraform` on PATH, 1.11.4 in CI) — all tests
#      except the NEWER_TERRAFORM_ONLY files;
#   2. TERRAFORM_NEWEST (default: the Terraform 1.15.5 that
#      scripts/install-terraform-1.15.sh installs) — every acceptance test file
#      (acceptance_*, demo), the NEWER_TERRAFORM_ONLY ones included, same build.
# Each stage prints the terraform version it uses.
#
# The acceptance runs and the conformance tests run with the emulator's spec log on
# (VM_EMULATOR_SPEC_LOG: every ARM request and answer, into target/spec-log/, emptied
# first); the last stage holds those answers against Azure's REST API specification in
# spec/ (`spec-check validate-log`) and fails on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."

# Test files (tests/NAME.rs) that need Terraform newer than 1.11 (identity:
# 1.12; actions, `terraform query`: 1.14). They run only under the newest
# terraform; under an older one they would fail (support::terraform::require_terraform).
NEWER_TERRAFORM_ONLY="acceptance_identity acceptance_action acceptance_query acceptance_linux_newer acceptance_scale_sets_action acceptance_query_scale_sets"

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Keep the developer's own Terraform settings out of the tests.
unset TF_CLI_CONFIG_FILE TF_LOG TF_LOG_PATH TF_REATTACH_PROVIDERS TF_ACC_TERRAFORM_PATH VM_EMULATOR_SPEC_LOG

oldest="${TERRAFORM_OLDEST:-$(command -v terraform || true)}"
[[ -n "$oldest" ]] || { echo "error: terraform is not on PATH (Terraform 1.11.4 is the oldest tested)" >&2; exit 1; }
newest="${TERRAFORM_NEWEST:-$(scripts/install-terraform-1.15.sh)}"

# Prints the version of terraform $1 under a heading.
announce() {
  local version
  version="$(CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null "$1" version -json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["terraform_version"])')"
  echo "==> [${SECONDS}s] cargo test $2 — Terraform $version ($1)"
}

# Every test target of the workspace, one per line.
test_targets() {
  cargo metadata --no-deps --locked --format-version 1 |
    python3 -c 'import json, sys
for p in json.load(sys.stdin)["packages"]:
    for t in p["targets"]:
        if "test" in t["kind"]:
            print(t["name"])'
}
is_newer_only() { [[ " $NEWER_TERRAFORM_ONLY " == *" $1 "* ]]; }

# Under the oldest terraform: the acceptance tests (with the spec log) apart from the rest.
oldest_args=(--lib --bins)
oldest_acceptance_args=()
newest_args=()
for t in $(test_targets); do
  if is_newer_only "$t"; then
    newest_args+=(--test "$t")
    continue
  fi
  case "$t" in
    acceptance_* | demo)
      oldest_acceptance_args+=(--test "$t")
      newest_args+=(--test "$t")
      ;;
    *) oldest_args+=(--test "$t") ;;
  esac
done
for t in $NEWER_TERRAFORM_ONLY; do
  [[ " ${newest_args[*]} " == *" $t "* ]] || { echo "error: NEWER_TERRAFORM_ONLY names $t, which is no test target" >&2; exit 1; }
done

# The emulator's spec log: one file per emulator instance, every run's in one directory.
spec_log="$(realpath -m "${CARGO_TARGET_DIR:-target}")/spec-log"
rm -rf "$spec_log"
mkdir -p "$spec_log"

echo "==> [${SECONDS}s] cargo fmt --check"
cargo fmt --all -- --check
echo "==> [${SECONDS}s] cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# --workspace in every cargo test: the same feature resolution, so the later
# runs reuse the first one's build.
announce "$oldest" "(all but the newer-Terraform-only tests)"
TF_ACC_TERRAFORM_PATH="$oldest" cargo test --workspace --locked "${oldest_args[@]}"
VM_EMULATOR_SPEC_LOG="$spec_log" TF_ACC_TERRAFORM_PATH="$oldest" \
  cargo test --workspace --locked "${oldest_acceptance_args[@]}"
# The provider against the specification's examples and request schemas (src/spec_tests/, run
# above already): again, for its two counts; on a failure, the whole output.
echo "==> [${SECONDS}s] spec: provider examples and request bodies"
spec_out="$(cargo test --workspace --locked --lib spec_ -- --nocapture 2>&1)" || {
  printf '%s\n' "$spec_out"
  exit 1
}
grep -E '^spec (examples decoded|request bodies validated): ' <<<"$spec_out"
echo "==> [${SECONDS}s] cargo test --doc"
cargo test --workspace --locked --doc

announce "$newest" "(acceptance tests)"
VM_EMULATOR_SPEC_LOG="$spec_log" TF_ACC_TERRAFORM_PATH="$newest" TF_ACC_TERRAFORM_OLD_PATH="$oldest" \
  cargo test --workspace --locked "${newest_args[@]}"

# ---- conformance: the az CLI and the Azure SDK for Python against the emulator
echo "==> [${SECONDS}s] conformance (az CLI, azure-identity, azure-mgmt-compute)"
VM_EMULATOR_SPEC_LOG="$spec_log" ./scripts/conformance.sh
# ---- end conformance

# ---- the emulator's answers (acceptance and conformance runs) against the REST API specification
echo "==> [${SECONDS}s] spec check of the emulator's answers"
cargo run --locked --quiet -p spec-check -- validate-log "$spec_log" --spec spec
