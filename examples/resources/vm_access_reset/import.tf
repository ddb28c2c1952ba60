# Terraform 1.5+: import the VM's existing VMAccessAgent extension on the
# next plan/apply. Secrets cannot be read back from Azure, so the first plan
# after the import reruns the extension (which sets the configured password),
# unless the configuration tells Terraform to ignore the difference:
#
#   lifecycle {
#     ignore_changes = [password_wo_version]
#   }
import {
  to = vm_access_reset.example
  id = "${var.virtual_machine_id}/extensions/VMAccessAgent"
}
