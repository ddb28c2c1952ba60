variable "virtual_machine_id" {
  description = "ARM ID of the Linux VM, for example azurerm_linux_virtual_machine.app.id."
  type        = string
}

# sshd does not start after a bad edit of /etc/ssh/sshd_config: put the
# distribution's default file back, open port 22 in the firewall and restart
# sshd. No user is touched. The default replaces the whole file, custom
# settings and the Include of sshd_config.d drop-ins included. Change
# `triggers` to run it again.
resource "vm_access_reset" "example" {
  virtual_machine_id = var.virtual_machine_id
  reset_ssh          = true
  triggers = {
    ticket = "INC-5678"
  }
}
