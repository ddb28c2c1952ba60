variable "linux_virtual_machine_id" {
  description = "ARM ID of the Linux VM, for example azurerm_linux_virtual_machine.app.id."
  type        = string
}

variable "new_ssh_public_key" {
  description = "The user's new OpenSSH public key, for example the content of ~/.ssh/id_ed25519.pub."
  type        = string
}

# Someone lost the private half of their SSH key. Replace every key in their
# authorized_keys with the new one, on demand (Terraform 1.14+):
#
#   TF_VAR_new_ssh_public_key="$(cat ~/.ssh/id_ed25519.pub)" \
#     terraform apply -invoke=action.vm_access_reset.replace_key
#
# No password is set, so sshd's PasswordAuthentication stays as it is.
action "vm_access_reset" "replace_key" {
  config {
    virtual_machine_id = var.linux_virtual_machine_id
    username           = "opsadmin"
    ssh_public_keys    = [var.new_ssh_public_key]
    remove_prior_keys  = true
  }
}
