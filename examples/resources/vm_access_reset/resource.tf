variable "virtual_machine_id" {
  description = "ARM ID of the Windows VM, for example azurerm_windows_virtual_machine.web.id."
  type        = string
}

variable "admin_password" {
  description = "The new password of the local administrator."
  type        = string
  sensitive   = true
  ephemeral   = true # Terraform 1.11+: never written to plan or state
}

variable "admin_password_version" {
  description = "Bump to apply a new admin_password."
  type        = number
  default     = 1
}

# Reset (or create) the local administrator `opsadmin` and restore Remote
# Desktop access. The password is write-only: rotate it by changing
# admin_password and bumping admin_password_version.
resource "vm_access_reset" "example" {
  virtual_machine_id  = var.virtual_machine_id
  username            = "opsadmin"
  password_wo         = var.admin_password
  password_wo_version = var.admin_password_version
}

# Remote Desktop configuration only (no username): enables Remote Desktop
# and its firewall rule. Change `triggers` to run it again on demand. Use it
# on a VM of its own: a VM has a single VMAccess extension, so only one
# vm_access_reset may manage each VM.
#
# resource "vm_access_reset" "rdp_only" {
#   virtual_machine_id = var.other_virtual_machine_id
#   triggers = {
#     ticket = "INC-1234"
#   }
# }
