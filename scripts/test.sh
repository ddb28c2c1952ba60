#!/usr/bin/env bash
# The project's test command (README "Quick start" and .ci/run): formatting,
# lints, then every unit, integration, property and acceptance test of the
# workspace, including those that drive the real terraform binary.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Keep the developer's own Terraform settings out of the tests.
unset TF_CLI_CONFIG_FILE TF_LOG TF_LOG_PATH TF_REATTACH_PROVIDERS

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo test"
cargo test --workspace --locked

# ---- conformance: the az CLI and the Azure SDK for Python against the emulator
echo "==> conformance (az CLI, azure-identity, azure-mgmt-compute)"
./scripts/conformance.sh
# ---- end conformance
