#!/usr/bin/env bash
# Packages terraform-provider-vm as a Terraform Registry release for this
# platform:
#
#   terraform-provider-vm_VERSION_OS_ARCH.zip   (holds terraform-provider-vm_vVERSION)
#   terraform-provider-vm_VERSION_manifest.json (the registry manifest, release name)
#   terraform-provider-vm_VERSION_SHA256SUMS    (sha256sum format, for signing)
#   terraform-registry-manifest.json            (protocol version 6.0)
#
# Usage: scripts/package.sh [--out DIR] [--version V] [--binary PATH]
#   --out DIR      where to write the files (default dist/)
#   --version V    the release version (default: Cargo.toml's)
#   --binary PATH  package this already-built binary instead of building a
#                  release one (INSTALL_PROFILE=debug builds a debug one)
#
# The binary links glibc dynamically (a static musl build needs the
# x86_64-unknown-linux-musl target, which this project does not require).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/release-common.sh
source "$ROOT/scripts/release-common.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

OUT="$ROOT/dist"
VERSION=""
BINARY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
    --version) VERSION="${2:?--version needs a value}"; shift 2 ;;
    --binary) BINARY="${2:?--binary needs a path}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "package.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

VERSION="${VERSION:-$(crate_version)}"
TARGET="$(terraform_target)"
BINARY="$(provider_binary "$BINARY")"
NAME="terraform-provider-vm"

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT

install -m 0755 "$BINARY" "$STAGE/${NAME}_v$VERSION"
ZIP="${NAME}_${VERSION}_${TARGET}.zip"
rm -f "$OUT/$ZIP"
if command -v zip >/dev/null 2>&1; then
  (cd "$STAGE" && zip -q -X "$OUT/$ZIP" "${NAME}_v$VERSION")
else
  python3 - "$STAGE/${NAME}_v$VERSION" "$OUT/$ZIP" <<'PY'
import os, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo(os.path.basename(src), date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16
info.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile(dest, "w") as z, open(src, "rb") as f:
    z.writestr(info, f.read())
PY
fi

MANIFEST='{"version":1,"metadata":{"protocol_versions":["6.0"]}}'
printf '%s\n' "$MANIFEST" >"$OUT/terraform-registry-manifest.json"
printf '%s\n' "$MANIFEST" >"$OUT/${NAME}_${VERSION}_manifest.json"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}
SUMS="${NAME}_${VERSION}_SHA256SUMS"
(cd "$OUT" && sha256 "$ZIP" "${NAME}_${VERSION}_manifest.json" >"$SUMS")

echo "packaged into $OUT:"
(cd "$OUT" && ls -1 "$ZIP" "${NAME}_${VERSION}_manifest.json" "$SUMS" terraform-registry-manifest.json | sed 's/^/  /')
