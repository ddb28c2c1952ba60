variable "virtual_machine_id" {
  description = "ARM ID of the Windows VM, for example azurerm_windows_virtual_machine.web.id."
  type        = string
}

variable "breakglass_password" {
  description = "The new password of the local administrator."
  type        = string
  sensitive   = true
  ephemeral   = true # only in memory: never in the plan, the state or the output
}

# Break-glass reset, run on demand (Terraform 1.14+):
#
#   TF_VAR_breakglass_password=… terraform apply -invoke=action.vm_access_reset.breakglass
#
# Resets (or creates and enables) the local administrator `opsadmin`, restores
# Remote Desktop, then removes the extension again. Nothing is written to state.
action "vm_access_reset" "breakglass" {
  config {
    virtual_machine_id             = var.virtual_machine_id
    username                       = "opsadmin"
    password                       = var.breakglass_password
    remove_extension_after_success = true
  }
}
