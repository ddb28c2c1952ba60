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
set -euo pipefail
cd "$(dirname "$0")/.."

# Test files (tests/NAME.rs) that need Terraform newer than 1.11 (identity:
# 1.12; actions, `terraform query`: 1.14). They run only under the newest
# terraform; under an older one they would fail (support::terraform::require_terraform).
NEWER_TERRAFORM_ONLY="acceptance_identity acceptance_action acceptance_query acceptance_linux_newer acceptance_scale_sets_action acceptance_query_scale_sets"

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Keep the developer's own Terraform settings out of the tests.
unset TF_CLI_CONFIG_FILE TF_LOG TF_LOG_PATH TF_REATTACH_PROVIDERS TF_ACC_TERRAFORM_PATH

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

oldest_args=(--lib --bins)
newest_args=()
for t in $(test_targets); do
  if is_newer_only "$t"; then
    newest_args+=(--test "$t")
    continue
  fi
  oldest_args+=(--test "$t")
  case "$t" in acceptance_* | demo) newest_args+=(--test "$t") ;; esac
done
for t in $NEWER_TERRAFORM_ONLY; do
  [[ " ${newest_args[*]} " == *" $t "* ]] || { echo "error: NEWER_TERRAFORM_ONLY names $t, which is no test target" >&2; exit 1; }
done

echo "==> [${SECONDS}s] cargo fmt --check"
cargo fmt --all -- --check
echo "==> [${SECONDS}s] cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# --workspace in every cargo test: the same feature resolution, so the later
# runs reuse the first one's build.
announce "$oldest" "(all but the newer-Terraform-only tests)"
TF_ACC_TERRAFORM_PATH="$oldest" cargo test --workspace --locked "${oldest_args[@]}"
echo "==> [${SECONDS}s] cargo test --doc"
cargo test --workspace --locked --doc

announce "$newest" "(acceptance tests)"
TF_ACC_TERRAFORM_PATH="$newest" TF_ACC_TERRAFORM_OLD_PATH="$oldest" cargo test --workspace --locked "${newest_args[@]}"

# ---- conformance: the az CLI and the Azure SDK for Python against the emulator
echo "==> [${SECONDS}s] conformance (az CLI, azure-identity, azure-mgmt-compute)"
./scripts/conformance.sh
# ---- end conformance
