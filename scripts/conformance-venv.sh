#!/usr/bin/env bash
# Installs the conformance tests' clients (conformance/requirements.txt, every
# dependency pinned by conformance/constraints.txt) into target/conformance-venv.
# Idempotent: reinstalls only when the pins change.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/conformance-venv
stamp="$venv/.pins.sha256"
pins=$(cat conformance/requirements.txt conformance/constraints.txt | sha256sum | cut -d' ' -f1)
if [[ -x "$venv/bin/python" && "$(cat "$stamp" 2>/dev/null)" == "$pins" ]]; then
  exit 0
fi
echo "==> installing the pinned conformance clients into $venv"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r conformance/requirements.txt -c conformance/constraints.txt
echo "$pins" >"$stamp"
