variable "virtual_machine_id" {
  description = "ARM ID of the Linux VM, for example azurerm_linux_virtual_machine.app.id."
  type        = string
}

variable "ssh_public_key" {
  description = "The user's new OpenSSH public key, for example file(\"~/.ssh/id_ed25519.pub\")."
  type        = string
}

# The private half of opsadmin's key is lost: make the new key the only line
# of their authorized_keys. Without remove_prior_keys the key would be
# appended and the lost one would stay authorized. No password is set, so
# sshd's PasswordAuthentication stays as it is.
resource "vm_access_reset" "example" {
  virtual_machine_id = var.virtual_machine_id
  username           = "opsadmin"
  ssh_public_keys    = [var.ssh_public_key]
  remove_prior_keys  = true
}
