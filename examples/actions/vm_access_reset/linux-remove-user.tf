# Delete a departed user's account and home directory on the Linux VM of
# linux-replace-key.tf (Linux only; not together with a password or
# reset_ssh):
#
#   terraform apply -invoke=action.vm_access_reset.remove_contractor
action "vm_access_reset" "remove_contractor" {
  config {
    virtual_machine_id = var.linux_virtual_machine_id
    remove_user        = "contractor"
  }
}
