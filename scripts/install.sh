#!/usr/bin/env bash
# Builds terraform-provider-vm and installs it into a Terraform filesystem
# mirror, so that an ordinary
#
#   terraform { required_providers { vm = { source = "vmaccess/vm", version = "0.1.0" } } }
#
# works with `terraform init`, offline, and gets a lock file.
#
# Usage: scripts/install.sh [--mirror DIR] [--version V] [--binary PATH]
#   --mirror DIR   the mirror root (default ~/.terraform.d/plugins, which
#                  Terraform searches without any CLI configuration)
#   --version V    the version to install as (default: Cargo.toml's)
#   --binary PATH  install this already-built binary instead of building a
#                  release one (INSTALL_PROFILE=debug builds a debug one)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/release-common.sh
source "$ROOT/scripts/release-common.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

MIRROR="${HOME:?HOME is not set}/.terraform.d/plugins"
VERSION=""
BINARY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mirror) MIRROR="${2:?--mirror needs a directory}"; shift 2 ;;
    --version) VERSION="${2:?--version needs a value}"; shift 2 ;;
    --binary) BINARY="${2:?--binary needs a path}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

VERSION="${VERSION:-$(crate_version)}"
TARGET="$(terraform_target)"
BINARY="$(provider_binary "$BINARY")"

DEST="$MIRROR/registry.terraform.io/vmaccess/vm/$VERSION/$TARGET"
mkdir -p "$DEST"
install -m 0755 "$BINARY" "$DEST/terraform-provider-vm_v$VERSION"
echo "installed $DEST/terraform-provider-vm_v$VERSION"
cat <<MSG

Use it with:

  terraform {
    required_providers {
      vm = {
        source  = "vmaccess/vm"
        version = "$VERSION"
      }
    }
  }
MSG
if [[ "$MIRROR" != "$HOME/.terraform.d/plugins" ]]; then
  cat <<MSG

and a CLI configuration (~/.terraformrc or TF_CLI_CONFIG_FILE) naming the mirror:

  provider_installation {
    filesystem_mirror {
      path    = "$MIRROR"
      include = ["registry.terraform.io/vmaccess/vm"]
    }
    direct {
      exclude = ["registry.terraform.io/vmaccess/vm"]
    }
  }
MSG
fi
cat <<MSG

After reinstalling a rebuilt binary, existing working directories need
\`rm .terraform.lock.hcl && terraform init\` (the lock file pins its checksum).
MSG
