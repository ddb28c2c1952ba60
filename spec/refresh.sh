#!/usr/bin/env bash
# Refreshes the pinned copy of Azure/azure-rest-api-specs under spec/ at one upstream commit: every
# file in MANIFEST.tsv (optionally moved to another api-version), and compute-stable-versions.txt.
# For maintainers, on a machine that reaches github.com; CI never runs it (it reads the copy).
#
#   spec/refresh.sh COMMIT [API_VERSION]
#
# COMMIT: a commit of Azure/azure-rest-api-specs. API_VERSION: the Compute api-version to vendor
# instead of the one MANIFEST.tsv names (the same file names under the new version's folder; a file
# missing there is reported, and the operation's examples must then be looked up by hand).
# Afterwards: cargo test -p spec-check && cargo test --lib spec_ (examples, request bodies), then
# move COMPUTE_API_VERSION (src/azure/operations.rs) and the emulator's accepted versions.
set -euo pipefail
cd "$(dirname "$0")"
commit="${1:?usage: spec/refresh.sh COMMIT [API_VERSION]}"
new_version="${2:-}"
repo="https://github.com/Azure/azure-rest-api-specs.git"
stable="specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Blobless and without a checkout: only the blobs asked for below are fetched.
git clone --quiet --filter=blob:none --no-checkout "$repo" "$work/specs"
git -C "$work/specs" fetch --quiet --depth 1 origin "$commit"

old_version="$(awk -F'\t' '!/^#/ { if (match($1, /stable\/[0-9]{4}-[0-9]{2}-[0-9]{2}/)) { print substr($1, RSTART + 7, 10); exit } }' MANIFEST.tsv)"
{
  echo "# upstream path (under Azure/azure-rest-api-specs and under spec/)	commit of the stored version	sha256"
  awk -F'\t' '!/^#/ { print $1 }' MANIFEST.tsv | while read -r path; do
    [[ -n "$new_version" ]] && path="${path//stable\/$old_version\//stable/$new_version/}"
    if ! git -C "$work/specs" cat-file -e "$commit:$path" 2>/dev/null; then
      echo "missing at $commit: $path" >&2
      continue
    fi
    mkdir -p "$(dirname "$path")"
    git -C "$work/specs" show "$commit:$path" > "$path"
    printf '%s\t%s\t%s\n' "$path" "$commit" "$(sha256sum "$path" | cut -d' ' -f1)"
  done
} > MANIFEST.tsv.new
mv MANIFEST.tsv.new MANIFEST.tsv
[[ -n "$new_version" ]] && rm -rf "$stable/$old_version"

{
  sed -n '/^#/p' compute-stable-versions.txt | sed '/^# Recorded from/,/^# vendored this copy/d'
  echo "# Listed by spec/refresh.sh at $commit."
  for folder in "$stable" "${stable/ComputeRP/Compute}"; do
    git -C "$work/specs" ls-tree --name-only "$commit:$folder/" 2>/dev/null || true
  done | grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' | sort -u
} > compute-stable-versions.txt.new
mv compute-stable-versions.txt.new compute-stable-versions.txt
echo "refreshed at $commit: $(grep -vc '^#' MANIFEST.tsv) files"
