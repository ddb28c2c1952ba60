#!/usr/bin/env bash
# Conformance: Microsoft's own clients — the az CLI, azure-identity and
# azure-mgmt-compute, pinned in conformance/requirements.txt — run unmodified
# against the emulator binary (conformance/*.py, pytest). Installs them into
# target/conformance-venv first (scripts/conformance-venv.sh; only when the
# pins change). Extra arguments go to pytest (e.g. -k sdk).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/conformance-venv
./scripts/conformance-venv.sh

cargo build --locked --quiet -p vm-emulator --bin vm-emulator
export CONFORMANCE_EMULATOR_BIN="$PWD/target/debug/vm-emulator"

echo "==> client versions"
"$venv/bin/python" - <<'PY'
from importlib.metadata import version
for name in ("azure-cli", "azure-cli-core", "azure-identity", "azure-mgmt-compute", "msal", "azure-core", "pytest"):
    print(f"  {name} {version(name)}")
PY

# Keep the developer's own az login and proxy settings out of the run.
unset AZURE_CONFIG_DIR AZURE_CLI_DISABLE_CONNECTION_VERIFICATION
exec "$venv/bin/python" -m pytest conformance -p no:cacheprovider -q -rfE "$@"
