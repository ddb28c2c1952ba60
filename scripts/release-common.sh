#!/usr/bin/env bash
# Shared by install.sh and package.sh (sourced, not run).

# The version in the workspace's Cargo.toml ([workspace.package] version).
crate_version() {
  awk '
    /^\[/ { section = $0 }
    section == "[workspace.package]" && $1 == "version" {
      gsub(/[" ]/, "", $3); print $3; exit
    }' "$ROOT/Cargo.toml"
}

# Terraform's name for this platform, e.g. linux_amd64.
terraform_target() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    FreeBSD) os=freebsd ;;
    *) echo "unsupported OS: $(uname -s)" >&2; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    armv7l | armv6l) arch=arm ;;
    i386 | i686) arch=386 ;;
    *) echo "unsupported architecture: $(uname -m)" >&2; return 1 ;;
  esac
  echo "${os}_${arch}"
}

# The provider binary to ship: $1 if given, else a fresh build — the release
# binary from scripts/build-release.sh (static on Linux), or a plain debug
# one with INSTALL_PROFILE=debug. Build output goes to stderr.
provider_binary() {
  local given="$1" profile="${INSTALL_PROFILE:-release}" target_dir
  if [[ -n "$given" ]]; then
    [[ -f "$given" && -x "$given" ]] || { echo "not an executable: $given" >&2; return 1; }
    echo "$given"
    return
  fi
  case "$profile" in
    release) "$ROOT/scripts/build-release.sh"; return ;;
    debug) (cd "$ROOT" && cargo build --locked --bin terraform-provider-vm) >&2 ;;
    *) echo "INSTALL_PROFILE must be release or debug, not $profile" >&2; return 1 ;;
  esac
  target_dir="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  echo "$target_dir/$profile/terraform-provider-vm"
}
