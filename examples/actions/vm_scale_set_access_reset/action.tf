variable "virtual_machine_scale_set_id" {
  description = "ARM ID of the Windows scale set, for example azurerm_windows_virtual_machine_scale_set.web.id."
  type        = string
}

variable "breakglass_password" {
  description = "The new password of the local administrator."
  type        = string
  sensitive   = true
  ephemeral   = true # only in memory: never in the plan, the state or the output
}

# Break-glass reset of every running instance, on demand (Terraform 1.14+):
#
#   TF_VAR_breakglass_password=… \
#     terraform apply -invoke=action.vm_scale_set_access_reset.breakglass
#
# Resets (or creates and enables) the local administrator `opsadmin` and
# restores Remote Desktop on each instance, printing each instance's progress;
# stopped and deallocated instances are skipped with a note. Nothing is
# written to state and the scale set's model is left alone.
action "vm_scale_set_access_reset" "breakglass" {
  config {
    virtual_machine_scale_set_id = var.virtual_machine_scale_set_id
    username                     = "opsadmin"
    password                     = var.breakglass_password
    max_parallel_instances       = 20
  }
}
