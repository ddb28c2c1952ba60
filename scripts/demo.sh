#!/usr/bin/env bash
# A five-minute tour of terraform-provider-vm, and a smoke test: it exits
# non-zero as soon as a step does not do what it says.
#
# Builds the provider and the bundled Azure emulator, starts the emulator,
# seeds a Windows VM whose administrator is locked out (account disabled,
# password forgotten, Remote Desktop off), then lets Terraform get back in:
# reset, no-op plan, rotation, recovery from an out-of-band failure, destroy;
# then a Linux VM whose user lost their SSH key gets the new key in place of
# the old one; and (with Terraform 1.14+) a break-glass reset by the action,
# with no state.
#
# Needs only cargo, terraform (>= 1.11), python3 and curl. Nothing reaches
# Azure or the network: the emulator listens on 127.0.0.1.
#
# Environment:
#   DEMO_PROVIDER_BIN, DEMO_EMULATOR_BIN  use these binaries instead of
#                                         running `cargo build` (both needed)
#   DEMO_TERRAFORM_BIN                    the terraform to run (default:
#                                         `terraform` on PATH)
#   DEMO_KEEP=1                           keep the temp dir (for poking around)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

step_no=0
step() {
  step_no=$((step_no + 1))
  printf '\n==> Step %d: %s\n' "$step_no" "$*"
}
info() { printf '    %s\n' "$*"; }
fail() {
  printf '\nDEMO FAILED: %s\n' "$*" >&2
  exit 1
}

# tests/demo.rs passes the terraform the tests run (TF_ACC_TERRAFORM_PATH).
TERRAFORM="${DEMO_TERRAFORM_BIN:-terraform}"
command -v "$TERRAFORM" >/dev/null 2>&1 || fail "$TERRAFORM is not on PATH (Terraform 1.11 or later is needed)"
for tool in python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not on PATH"
done

# Keep the developer's own Terraform settings out of the demo.
unset TF_LOG TF_LOG_PATH TF_REATTACH_PROVIDERS TF_WORKSPACE TF_CLI_ARGS TERRAFORM_CONFIG
while IFS='=' read -r name _; do
  case "$name" in TF_CLI_ARGS_* | TF_VAR_* | ARM_*) unset "$name" ;; esac
done < <(env)

TMP="$(mktemp -d "${TMPDIR:-/tmp}/vm-demo.XXXXXX")"
EMU_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$EMU_PID" ]] && kill -0 "$EMU_PID" 2>/dev/null; then
    kill "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
  fi
  if [[ "${DEMO_KEEP:-}" == 1 ]]; then
    echo "(kept $TMP)"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
step "Build the provider and the Azure emulator"
if [[ -n "${DEMO_PROVIDER_BIN:-}" && -n "${DEMO_EMULATOR_BIN:-}" ]]; then
  PROVIDER_BIN="$DEMO_PROVIDER_BIN"
  EMULATOR_BIN="$DEMO_EMULATOR_BIN"
  info "using prebuilt binaries (DEMO_PROVIDER_BIN, DEMO_EMULATOR_BIN)"
else
  info "cargo build --workspace --bins (debug; the first build takes a few minutes)"
  cargo build --workspace --bins --locked --quiet
  target_dir="$(cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  PROVIDER_BIN="$target_dir/debug/terraform-provider-vm"
  EMULATOR_BIN="$target_dir/debug/vm-emulator"
fi
[[ -x "$PROVIDER_BIN" ]] || fail "no provider binary at $PROVIDER_BIN"
[[ -x "$EMULATOR_BIN" ]] || fail "no emulator binary at $EMULATOR_BIN"
PROVIDER_BIN="$(cd "$(dirname "$PROVIDER_BIN")" && pwd)/$(basename "$PROVIDER_BIN")"
info "provider: $PROVIDER_BIN"
info "emulator: $EMULATOR_BIN"

# ---------------------------------------------------------------------------
step "Start the Azure emulator (HTTPS on 127.0.0.1, its own CA)"
mkdir -p "$TMP/emulator" "$TMP/work"
"$EMULATOR_BIN" --state-dir "$TMP/emulator" --operation-delay-ms 300 \
  >"$TMP/emulator.out" 2>"$TMP/emulator.log" &
EMU_PID=$!
for _ in $(seq 1 300); do
  [[ -s "$TMP/emulator/emulator.json" ]] && break
  kill -0 "$EMU_PID" 2>/dev/null || { cat "$TMP/emulator.log" >&2; fail "the emulator exited"; }
  sleep 0.1
done
[[ -s "$TMP/emulator/emulator.json" ]] || fail "the emulator did not start within 30s"

# emulator.json → shell variables, without jq.
field() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$TMP/emulator/emulator.json" "$1"
}
ENDPOINT="$(field endpoint)"
CA_FILE="$(field ca_file)"
SUBSCRIPTION="$(field subscription_id)"
info "endpoint: $ENDPOINT (pid $EMU_PID)"

# The provider sees the emulator exactly as it would see Azure, configured
# through the environment as in a pipeline. Against real Azure, drop
# ARM_METADATA_HOSTNAME and SSL_CERT_FILE and set your own ARM_* values.
export SSL_CERT_FILE="$CA_FILE"
export ARM_METADATA_HOSTNAME
ARM_METADATA_HOSTNAME="$(field metadata_host)"
export ARM_TENANT_ID ARM_CLIENT_ID ARM_CLIENT_SECRET ARM_SUBSCRIPTION_ID
ARM_TENANT_ID="$(field tenant_id)"
ARM_CLIENT_ID="$(field client_id)"
ARM_CLIENT_SECRET="$(field client_secret)"
ARM_SUBSCRIPTION_ID="$SUBSCRIPTION"

# A throwaway CLI configuration: use the binary just built for vmaccess/vm.
cat >"$TMP/terraform.rc" <<EOF
provider_installation {
  dev_overrides {
    "vmaccess/vm" = "$(dirname "$PROVIDER_BIN")"
  }
  direct {}
}
EOF
export TF_CLI_CONFIG_FILE="$TMP/terraform.rc"
export TF_DATA_DIR="$TMP/tfdata"
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

RG=demo-rg
VM=web01
VM_ID="/subscriptions/$SUBSCRIPTION/resourceGroups/$RG/providers/Microsoft.Compute/virtualMachines/$VM"
ADMIN_VM="$ENDPOINT/_emulator/vms/$SUBSCRIPTION/$RG/$VM"

admin() { # METHOD URL [JSON]
  local args=(--silent --show-error --fail-with-body --cacert "$CA_FILE" -X "$1" "$2")
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data "$3")
  curl "${args[@]}"
}

show_vm() {
  admin GET "$ADMIN_VM" >"$TMP/vm.json"
  python3 - "$TMP/vm.json" <<'PY'
import json, sys
vm = json.load(open(sys.argv[1]))
def yes(b):
    return "yes" if b else "no"
print("    VM %s: %s, Remote Desktop enabled: %s, firewall rule for 3389: %s, VMAccess runs: %d"
      % (vm["name"], vm["power_state"], yes(vm["rdp_enabled"]), yes(vm["rdp_firewall_rule"]), vm["vmaccess_runs"]))
for a in vm["accounts"]:
    role = "administrator" if a["administrator"] else "user"
    print("      account %-10s %-14s enabled: %-4s password set %dx"
          % (a["name"], role, yes(a["enabled"]), a["password_set_count"]))
for e in vm["extensions"]:
    print("      extension %s: %s (%s)" % (e.get("name", "?"), e.get("provisioning_state", "?"), e.get("status_message") or ""))
PY
}

login() { # USER PASSWORD: prints the result, returns 0 if the login worked
  local body
  body="$(python3 -c 'import json,sys; print(json.dumps({"username": sys.argv[1], "password": sys.argv[2]}))' "$1" "$2")"
  admin POST "$ADMIN_VM/login" "$body" >"$TMP/login.json"
  python3 - "$TMP/login.json" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("    login as %s: %s" % (sys.argv[2], "OK" if r["ok"] else "refused (%s)" % r.get("reason", "?")))
sys.exit(0 if r["ok"] else 1)
PY
}

# terraform in $TF_DIR with its output shown indented and kept in
# $TMP/last.out; sets TF_RC to the exit code instead of failing.
TF_DIR="$TMP/work"
tf() {
  set +e
  (cd "$TF_DIR" && "$TERRAFORM" "$1" -no-color -input=false "${@:2}") >"$TMP/last.out" 2>&1
  TF_RC=$?
  set -e
  python3 - "$TMP/last.out" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
out, skipping = [], False
for line in lines:
    # The dev_overrides warning is expected here; keep everything else.
    if "Provider development overrides are in effect" in line:
        skipping = True
    if not skipping and line.strip():
        out.append("    | " + line)
    if skipping and line.rstrip().endswith("releases."):
        skipping = False
print("\n".join(out))
PY
}
expect_rc() { [[ "$TF_RC" == "$1" ]] || fail "terraform exited with $TF_RC, expected $1 (output above)"; }
expect_out() { grep -qF -- "$1" "$TMP/last.out" || fail "terraform output lacks: $1"; }

# ---------------------------------------------------------------------------
step "Seed a locked-out Windows VM: admin account disabled, password forgotten, Remote Desktop off"
admin PUT "$ADMIN_VM" '{
  "os_type": "Windows", "power_state": "running", "agent_ready": true,
  "rdp_enabled": false, "rdp_firewall_rule": false,
  "accounts": [{"name": "opsadmin", "password": "Forgotten-Passw0rd!", "enabled": false, "administrator": true}]
}' >/dev/null
show_vm
if login opsadmin 'Forgotten-Passw0rd!'; then fail "the seeded VM should refuse logins"; fi

cat >"$TMP/work/main.tf" <<EOF
terraform {
  required_providers {
    vm = { source = "vmaccess/vm" }
  }
}

provider "vm" {} # everything comes from ARM_* variables

variable "admin_password" {
  type      = string
  sensitive = true
  ephemeral = true # never written to plan or state
}

variable "admin_password_version" {
  type = number
}

resource "vm_access_reset" "web01" {
  virtual_machine_id  = "$VM_ID"
  username            = "opsadmin"
  password_wo         = var.admin_password
  password_wo_version = var.admin_password_version
}
EOF
info "main.tf:"
sed -n '/^resource/,/^}/p' "$TMP/work/main.tf" | sed 's/^/    | /'

# ---------------------------------------------------------------------------
step "terraform apply: reset the password (password_wo from TF_VAR_admin_password, never stored)"
export TF_VAR_admin_password='Fresh-Passw0rd!2026'
export TF_VAR_admin_password_version=1
tf apply -auto-approve
expect_rc 0
expect_out "vm_access_reset.web01: Creation complete"
expect_out "1 added, 0 changed, 0 destroyed"
if grep -qF "$TF_VAR_admin_password" "$TMP/work/terraform.tfstate"; then
  fail "the write-only password reached the state file"
fi
info "state file checked: the password is not in it"

# ---------------------------------------------------------------------------
step "Look at the VM again: account enabled, Remote Desktop on, the new password works"
show_vm
login opsadmin "$TF_VAR_admin_password" || fail "the new password does not work"
if login opsadmin 'Forgotten-Passw0rd!'; then fail "the old password still works"; fi

# ---------------------------------------------------------------------------
step "terraform plan -detailed-exitcode: nothing to do (exit 0)"
tf plan -detailed-exitcode
expect_rc 0
expect_out "No changes."

# ---------------------------------------------------------------------------
step "Rotate: new password, bump password_wo_version → plan shows an in-place update"
export TF_VAR_admin_password='Rotated-Passw0rd!2027'
export TF_VAR_admin_password_version=2
tf plan -detailed-exitcode -out=rotate.tfplan
expect_rc 2
expect_out "~ update in-place"
expect_out "~ password_wo_version"
info "apply the saved plan (the ephemeral password is supplied again from TF_VAR_admin_password)"
tf apply rotate.tfplan
expect_rc 0
expect_out "0 added, 1 changed, 0 destroyed"
login opsadmin "$TF_VAR_admin_password" || fail "the rotated password does not work"

# ---------------------------------------------------------------------------
step "Something goes wrong outside Terraform: the extension ends up Failed on the VM"
admin PATCH "$ADMIN_VM/extensions/VMAccessAgent" \
  '{"provisioning_state": "Failed", "status_message": "Someone ran a reset by hand and it failed."}' >/dev/null
show_vm
tf plan -detailed-exitcode -out=repair.tfplan
expect_rc 2
expect_out "will rerun the VMAccess extension"
expect_out "provisioning state in Azure is Failed"
expect_out "~ update in-place"
info "the plan says why it reruns (the warning above); applying it repairs the VM"
tf apply repair.tfplan
expect_rc 0
expect_out "0 added, 1 changed, 0 destroyed"
show_vm
tf plan -detailed-exitcode
expect_rc 0

# ---------------------------------------------------------------------------
step "terraform destroy: remove the extension (the account keeps its password)"
tf destroy -auto-approve
expect_rc 0
expect_out "1 destroyed"
show_vm
if admin GET "$ADMIN_VM" | grep -q '"VMAccessAgent"'; then fail "the extension is still on the VM"; fi
login opsadmin "$TF_VAR_admin_password" || fail "the password stopped working after destroy"

# ---------------------------------------------------------------------------
step "A Linux VM whose user lost their SSH key: replace it with ssh_public_keys and remove_prior_keys"
LINUX_VM=app01
LINUX_VM_ID="/subscriptions/$SUBSCRIPTION/resourceGroups/$RG/providers/Microsoft.Compute/virtualMachines/$LINUX_VM"
ADMIN_LINUX_VM="$ENDPOINT/_emulator/vms/$SUBSCRIPTION/$RG/$LINUX_VM"
# Fixed public keys stand for the lost key pair and the user's new one. The
# emulator checks a key login by its public half only, so the demo needs no
# private key and no ssh-keygen.
LOST_KEY='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEJBVsQIYEGV17SQWlLerxAqyUdaU+v13FRmyLlGEfy+ lost@laptop'
NEW_KEY='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2UqqugBUcq15fYUzEo2Bgbp/3qAZNui/VpOuXHzMic ops@new-laptop'

show_linux_vm() {
  admin GET "$ADMIN_LINUX_VM/linux" >"$TMP/linux.json"
  admin GET "$ADMIN_LINUX_VM" >"$TMP/vm.json"
  python3 - "$TMP/linux.json" "$TMP/vm.json" <<'PY'
import json, sys
guest, vm = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print("    VM %s (Linux): %s, sshd PasswordAuthentication: %s"
      % (vm["name"], vm["power_state"], "yes" if guest["password_authentication"] else "no"))
for u in guest["users"]:
    keys = ", ".join(k.split()[-1] for k in u["authorized_keys"]) or "none"
    print("      user %-10s password: %-4s authorized_keys: %s"
          % (u["name"], "yes" if u["has_password"] else "no", keys))
for e in vm["extensions"]:
    print("      extension %s: %s (%s)" % (e.get("name", "?"), e.get("provisioning_state", "?"), e.get("status_message") or ""))
PY
}

ssh_login() { # USER PUBLIC_KEY: prints the result, returns 0 if the login worked
  local body
  body="$(python3 -c 'import json,sys; print(json.dumps({"username": sys.argv[1], "public_key": sys.argv[2]}))' "$1" "$2")"
  admin POST "$ADMIN_LINUX_VM/ssh-login" "$body" >"$TMP/login.json"
  python3 - "$TMP/login.json" "$1" "${2##* }" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("    ssh login as %s with key %s: %s" % (sys.argv[2], sys.argv[3], "OK" if r["ok"] else "refused (%s)" % r.get("reason", "?")))
sys.exit(0 if r["ok"] else 1)
PY
}

body="$(python3 -c '
import json, sys
print(json.dumps({"os_type": "Linux", "power_state": "running", "agent_ready": True,
                  "linux": {"users": [{"name": "opsadmin", "sudo": "no_password", "authorized_keys": [sys.argv[1]]}]}}))
' "$LOST_KEY")"
admin PUT "$ADMIN_LINUX_VM" "$body" >/dev/null
show_linux_vm
if ssh_login opsadmin "$NEW_KEY"; then fail "the new key should not open the account yet"; fi

TF_DIR="$TMP/linux"
mkdir -p "$TF_DIR"
cat >"$TF_DIR/main.tf" <<EOF
terraform {
  required_providers {
    vm = { source = "vmaccess/vm" }
  }
}

provider "vm" {}

variable "ssh_public_key" {
  type = string
}

resource "vm_access_reset" "app01" {
  virtual_machine_id = "$LINUX_VM_ID"
  username           = "opsadmin"
  ssh_public_keys    = [var.ssh_public_key]
  remove_prior_keys  = true # the new key replaces the lost one
}
EOF
info "main.tf (same resource type as for Windows; the provider reads the VM's OS):"
sed -n '/^resource/,/^}/p' "$TF_DIR/main.tf" | sed 's/^/    | /'
export TF_VAR_ssh_public_key="$NEW_KEY"
tf apply -auto-approve
expect_rc 0
expect_out "vm_access_reset.app01: Creation complete"
expect_out "1 added, 0 changed, 0 destroyed"
python3 - "$TF_DIR/terraform.tfstate" <<'PY' || fail "os_type in state is not Linux"
import json, sys
state = json.load(open(sys.argv[1]))
sys.exit(0 if state["resources"][0]["instances"][0]["attributes"]["os_type"] == "Linux" else 1)
PY
info "state checked: os_type = \"Linux\" (VMAccessForLinux ran)"
show_linux_vm
ssh_login opsadmin "$NEW_KEY" || fail "the new key does not open the account"
if ssh_login opsadmin "$LOST_KEY"; then fail "the lost key still opens the account"; fi
tf plan -detailed-exitcode
expect_rc 0
expect_out "No changes."
TF_DIR="$TMP/work"

# ---------------------------------------------------------------------------
step "A scale set whose image password leaked: vm_scale_set_access_reset resets every running instance"
SS=web-vmss
SS_ID="/subscriptions/$SUBSCRIPTION/resourceGroups/$RG/providers/Microsoft.Compute/virtualMachineScaleSets/$SS"
ADMIN_SS="$ENDPOINT/_emulator/scale-sets/$SUBSCRIPTION/$RG/$SS"
admin PUT "$ADMIN_SS" '{
  "instances": 6, "stopped": [4],
  "instance": {"os_type": "Windows", "accounts": [{"name": "opsadmin", "password": "Leaked-Passw0rd!", "administrator": true}]}
}' >/dev/null
info "seeded: uniform scale set $SS, 6 Windows instances (instance 4 stopped), opsadmin's password leaked"
TF_DIR="$TMP/vmss"
mkdir -p "$TF_DIR"
cat >"$TF_DIR/main.tf" <<EOF
terraform {
  required_providers {
    vm = { source = "vmaccess/vm" }
  }
}

provider "vm" {}

variable "admin_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "vm_scale_set_access_reset" "web" {
  virtual_machine_scale_set_id = "$SS_ID"
  username                     = "opsadmin"
  password_wo                  = var.admin_password
  password_wo_version          = 1
}
EOF
info "main.tf:"
sed -n '/^resource/,/^}/p' "$TF_DIR/main.tf" | sed 's/^/    | /'
export TF_VAR_admin_password='Fleet-Passw0rd!2026'
tf apply -auto-approve
expect_rc 0
expect_out "Stopped instances will be skipped"
expect_out "vm_scale_set_access_reset.web: Creation complete"
python3 - "$TF_DIR/terraform.tfstate" <<'PY' || fail "the per-instance results are not as expected"
import json, sys
attrs = json.load(open(sys.argv[1]))["resources"][0]["instances"][0]["attributes"]
for i in attrs["instances"]:
    print("    %-12s %-10s %s" % (i["name"], i["result"], i["message"] or ""))
results = sorted(i["result"] for i in attrs["instances"])
sys.exit(0 if results == ["skipped"] + ["succeeded"] * 5 else 1)
PY
if grep -qF "$TF_VAR_admin_password" "$TF_DIR/terraform.tfstate" "$TMP/last.out"; then
  fail "the password reached the state or the output"
fi
body="$(python3 -c 'import json,sys; print(json.dumps({"username": "opsadmin", "password": sys.argv[1]}))' "$TF_VAR_admin_password")"
admin POST "$ADMIN_SS/instances/0/login" "$body" >"$TMP/login.json"
python3 -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))["ok"] else 1)' "$TMP/login.json" ||
  fail "instance 0 refuses the new password"
info "instance 0 accepts the new password"
admin GET "$ADMIN_SS" >"$TMP/vmss.json"
python3 - "$TMP/vmss.json" <<'PY' || fail "the scale set model carries VMAccess settings"
import json, sys
model = [e["name"] for e in json.load(open(sys.argv[1]))["model_extensions"] if e["extension_type"].startswith("VMAccess")]
print("    VMAccess extensions in the scale set's model: %s" % (", ".join(model) or "none, no credentials left there"))
sys.exit(1 if model else 0)
PY
tf plan -detailed-exitcode
expect_rc 0
expect_out "No changes."
TF_DIR="$TMP/work"

# ---------------------------------------------------------------------------
step "Break-glass without state: terraform apply -invoke runs the vm_access_reset action (Terraform 1.14+)"
TF_VERSION="$("$TERRAFORM" version -json | python3 -c 'import json, sys; print(json.load(sys.stdin)["terraform_version"])')"
if python3 -c 'import sys; v = tuple(int(p) for p in sys.argv[1].split("-")[0].split(".")[:2]); sys.exit(0 if v >= (1, 14) else 1)' "$TF_VERSION"; then
  rm -f "$TMP/work/terraform.tfstate" "$TMP/work/terraform.tfstate.backup" "$TMP/work/"*.tfplan
  cat >"$TMP/work/main.tf" <<EOF
terraform {
  required_providers {
    vm = { source = "vmaccess/vm" }
  }
}

provider "vm" {}

variable "breakglass_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

action "vm_access_reset" "breakglass" {
  config {
    virtual_machine_id             = "$VM_ID"
    username                       = "opsadmin"
    password                       = var.breakglass_password
    remove_extension_after_success = true
  }
}
EOF
  info "main.tf:"
  sed -n '/^action/,/^}/p' "$TMP/work/main.tf" | sed 's/^/    | /'
  export TF_VAR_breakglass_password='Break-Glass-Passw0rd!2028'
  tf apply -invoke=action.vm_access_reset.breakglass -auto-approve
  expect_rc 0
  expect_out "Setting extension \"VMAccessAgent\""
  expect_out "Extension run succeeded"
  expect_out "Extension removed"
  if grep -qF "$TF_VAR_breakglass_password" "$TMP/last.out" "$TMP/work/terraform.tfstate" 2>/dev/null; then
    fail "the break-glass password reached the output or the state"
  fi
  python3 - "$TMP/work/terraform.tfstate" <<'PY' || fail "the action left something in state"
import json, os, sys
path = sys.argv[1]
sys.exit(0 if not os.path.exists(path) or json.load(open(path)).get("resources", []) == [] else 1)
PY
  info "state checked: empty, and the password is in neither the output nor the state"
  show_vm
  login opsadmin "$TF_VAR_breakglass_password" || fail "the break-glass password does not work"
else
  info "skipped: Terraform $TF_VERSION has no actions (they need 1.14 or later)"
fi

printf '\n==> Demo complete: every step behaved as expected.\n'
