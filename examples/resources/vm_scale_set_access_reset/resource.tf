variable "virtual_machine_scale_set_id" {
  description = "ARM ID of the Windows scale set, for example azurerm_windows_virtual_machine_scale_set.web.id."
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

# Reset (or create) the local administrator `opsadmin` on every running
# instance of the scale set, a batch at a time (max_parallel_instances).
# Stopped and deallocated instances are skipped (the plan names them); start
# them and apply again.
# The scale set's model is not changed: instances that a scale-out or a
# reimage creates later come up with the model's credentials, not these.
resource "vm_scale_set_access_reset" "example" {
  virtual_machine_scale_set_id = var.virtual_machine_scale_set_id
  username                     = "opsadmin"
  password_wo                  = var.admin_password
  password_wo_version          = var.admin_password_version
}

# The instances that have not taken the reset, and why.
output "instances_not_reset" {
  value = {
    for i in vm_scale_set_access_reset.example.instances :
    i.name => "${i.result}: ${coalesce(i.message, "-")}" if i.result != "succeeded"
  }
}
