#!/usr/bin/env bash
# Packages terraform-provider-vm as a Terraform Registry release:
#
#   terraform-provider-vm_VERSION_OS_ARCH.zip     (holds terraform-provider-vm_vVERSION)
#   terraform-provider-vm_VERSION_manifest.json   (the registry manifest, release name)
#   terraform-provider-vm_VERSION_SHA256SUMS      (sha256sum format: every zip in --out + manifest)
#   terraform-provider-vm_VERSION_SHA256SUMS.sig  (detached binary GPG signature, with --gpg-key)
#   terraform-registry-manifest.json              (protocol version 6.0)
#
# Usage: scripts/package.sh [--out DIR] [--version V] [--binary PATH]
#                           [--platform OS_ARCH] [--gpg-key ID] [--checksums-only]
#   --out DIR          where to write the files (default dist/)
#   --version V        the release version (default: Cargo.toml's)
#   --binary PATH      package this already-built binary instead of building
#                      one with scripts/build-release.sh (static on Linux;
#                      INSTALL_PROFILE=debug builds a plain debug one)
#   --platform OS_ARCH the zip's platform (default: this machine's, e.g. linux_amd64)
#   --gpg-key ID       sign SHA256SUMS with this GPG key (also PACKAGE_GPG_KEY);
#                      GNUPGHOME selects the keyring, PACKAGE_GPG_PASSPHRASE
#                      unlocks the key if it has a passphrase. Without a key the sums are
#                      left unsigned (a Registry release needs the signature).
#   --checksums-only   make no zip: write the manifest and the SHA256SUMS over
#                      the zips already in --out, and sign them (the release
#                      workflow collects one zip per platform, then runs this)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/release-common.sh
source "$ROOT/scripts/release-common.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

OUT="$ROOT/dist"
VERSION=""
BINARY=""
PLATFORM=""
GPG_KEY="${PACKAGE_GPG_KEY:-}"
CHECKSUMS_ONLY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
    --version) VERSION="${2:?--version needs a value}"; shift 2 ;;
    --binary) BINARY="${2:?--binary needs a path}"; shift 2 ;;
    --platform) PLATFORM="${2:?--platform needs OS_ARCH}"; shift 2 ;;
    --gpg-key) GPG_KEY="${2:?--gpg-key needs a key ID}"; shift 2 ;;
    --checksums-only) CHECKSUMS_ONLY=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "package.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

VERSION="${VERSION:-$(crate_version)}"
NAME="terraform-provider-vm"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

if [[ -z "$CHECKSUMS_ONLY" ]]; then
  PLATFORM="${PLATFORM:-$(terraform_target)}"
  BINARY="$(provider_binary "$BINARY")"
  exe=""
  [[ "$PLATFORM" == windows_* ]] && exe=".exe"
  STAGE="$(mktemp -d)"
  trap 'rm -rf "$STAGE"' EXIT
  install -m 0755 "$BINARY" "$STAGE/${NAME}_v$VERSION$exe"
  ZIP="${NAME}_${VERSION}_${PLATFORM}.zip"
  rm -f "$OUT/$ZIP"
  if command -v zip >/dev/null 2>&1; then
    (cd "$STAGE" && zip -q -X "$OUT/$ZIP" "${NAME}_v$VERSION$exe")
  else
    python3 - "$STAGE/${NAME}_v$VERSION$exe" "$OUT/$ZIP" <<'PY'
import os, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo(os.path.basename(src), date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16
info.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile(dest, "w") as z, open(src, "rb") as f:
    z.writestr(info, f.read())
PY
  fi
fi

MANIFEST='{"version":1,"metadata":{"protocol_versions":["6.0"]}}'
printf '%s\n' "$MANIFEST" >"$OUT/terraform-registry-manifest.json"
printf '%s\n' "$MANIFEST" >"$OUT/${NAME}_${VERSION}_manifest.json"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}
SUMS="${NAME}_${VERSION}_SHA256SUMS"
shopt -s nullglob
zips=()
for z in "$OUT/${NAME}_${VERSION}"_*.zip; do zips+=("$(basename "$z")"); done
[[ ${#zips[@]} -gt 0 ]] || { echo "package.sh: no ${NAME}_${VERSION}_*.zip in $OUT" >&2; exit 1; }
(cd "$OUT" && sha256 "${zips[@]}" "${NAME}_${VERSION}_manifest.json" >"$SUMS")
rm -f "$OUT/$SUMS.sig"
if [[ -n "$GPG_KEY" ]]; then
  # Binary detached signature, as the Registry and `terraform init` expect.
  if [[ -n "${PACKAGE_GPG_PASSPHRASE:-}" ]]; then
    printf '%s' "$PACKAGE_GPG_PASSPHRASE" | gpg --batch --yes --pinentry-mode loopback --passphrase-fd 0 \
      --local-user "$GPG_KEY" --output "$OUT/$SUMS.sig" --detach-sign "$OUT/$SUMS"
  else
    gpg --batch --yes --local-user "$GPG_KEY" --output "$OUT/$SUMS.sig" --detach-sign "$OUT/$SUMS"
  fi
else
  echo "package.sh: no --gpg-key: $SUMS is not signed (a Registry release needs $SUMS.sig)" >&2
fi

echo "packaged into $OUT:"
(cd "$OUT" && ls -1 "${zips[@]}" "${NAME}_${VERSION}_manifest.json" "$SUMS"* terraform-registry-manifest.json) | sed 's/^/  /'
