#!/usr/bin/env bash
# Builds the release binary the way it ships, and prints its path on stdout
# (build output goes to stderr).
#
# Usage: scripts/build-release.sh [--target TRIPLE]
#   --target TRIPLE  the Rust target (default: this machine's)
#
# Linux (glibc): statically linked (`-C target-feature=+crt-static`), so the
# binary runs on any Linux of its architecture — old glibc, musl-based Alpine,
# an empty root — without a loader or shared libraries. Building with an
# explicit --target keeps build scripts and proc-macros dynamic (they run on
# the build machine). Two things a static glibc binary cannot use at run time
# are avoided: NSS for DNS (reqwest resolves with hickory-dns, pure Rust) and
# dlsym, through which the getrandom crate would look up glibc's getrandom()
# and, not finding it, fall back to /dev/urandom; `getrandom_backend =
# "linux_getrandom"` calls the (statically linked) getrandom() directly.
# Windows (MSVC): the C runtime is linked statically as well. macOS: the
# system libraries are always dynamic there; nothing to change.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) TARGET="${2:?--target needs a triple}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-release.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
TARGET="${TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"

flags="${RUSTFLAGS:-}"
case "$TARGET" in
  *-linux-gnu*) flags+=' -C target-feature=+crt-static --cfg getrandom_backend="linux_getrandom"' ;;
  *-windows-msvc) flags+=' -C target-feature=+crt-static' ;;
esac

cd "$ROOT"
RUSTFLAGS="$flags" cargo build --release --locked --target "$TARGET" --bin terraform-provider-vm >&2
target_dir="$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
exe=""
[[ "$TARGET" == *windows* ]] && exe=".exe"
echo "$target_dir/$TARGET/release/terraform-provider-vm$exe"
