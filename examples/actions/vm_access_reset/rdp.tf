# Remote Desktop configuration only (no account is touched), with the
# virtual_machine_id variable of action.tf:
#
#   terraform apply -invoke=action.vm_access_reset.rdp
action "vm_access_reset" "rdp" {
  config {
    virtual_machine_id = var.virtual_machine_id
  }
}
