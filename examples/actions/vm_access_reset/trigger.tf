variable "rotation" {
  description = "Change it (for example to the quarter, \"2026-q2\") to rotate the password."
  type        = string
}

# Rotate the break-glass password whenever `rotation` changes: the update of
# this terraform_data triggers the action, with the current
# breakglass_password of action.tf. Creating it triggers nothing.
resource "terraform_data" "rotation" {
  input = var.rotation

  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.vm_access_reset.breakglass]
    }
  }
}
