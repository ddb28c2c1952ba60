variable "virtual_machine_scale_set_id" {
  description = "ARM ID of the Linux scale set, for example azurerm_linux_virtual_machine_scale_set.app.id."
  type        = string
}

variable "ssh_public_key" {
  description = "The user's new OpenSSH public key, for example file(\"~/.ssh/id_ed25519.pub\")."
  type        = string
}

# The private half of opsadmin's key is lost: make the new key the only line
# of opsadmin's authorized_keys on every running instance, twenty at a time.
# No password is set, so sshd's PasswordAuthentication stays as it is.
# Instances created later still get the keys of the scale set's model:
# replace the key there too (azurerm: admin_ssh_key), or set
# update_model = true (the plan warns what that means).
resource "vm_scale_set_access_reset" "example" {
  virtual_machine_scale_set_id = var.virtual_machine_scale_set_id
  username                     = "opsadmin"
  ssh_public_keys              = [var.ssh_public_key]
  remove_prior_keys            = true
  max_parallel_instances       = 20
}
