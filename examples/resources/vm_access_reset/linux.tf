variable "virtual_machine_id" {
  description = "ARM ID of the Linux VM, for example azurerm_linux_virtual_machine.app.id."
  type        = string
}

variable "admin_password" {
  description = "The new password of the Linux user."
  type        = string
  sensitive   = true
  ephemeral   = true # Terraform 1.11+: never written to plan or state
}

variable "admin_password_version" {
  description = "Bump to apply a new admin_password."
  type        = number
  default     = 1
}

variable "ssh_public_key" {
  description = "An OpenSSH public key (ssh-ed25519, or ssh-rsa of 2048 bits or more), for example file(\"~/.ssh/id_ed25519.pub\")."
  type        = string
}

# Reset (or create, with sudo) the user `opsadmin` on a Linux VM: set its
# password and add a public key to its authorized_keys. Setting a password
# makes VMAccessForLinux turn on PasswordAuthentication in sshd_config for the
# whole VM (the plan warns about it); leave out password_wo for a key only.
resource "vm_access_reset" "example" {
  virtual_machine_id  = var.virtual_machine_id
  username            = "opsadmin"
  password_wo         = var.admin_password
  password_wo_version = var.admin_password_version
  ssh_public_keys     = [var.ssh_public_key]
}
