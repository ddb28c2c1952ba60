# Terraform 1.12+: import by identity instead of by ID. Only the resource
# group and the VM name are needed: the subscription defaults to the
# provider's, the extension to the VM's existing VMAccessAgent extension.
import {
  to = vm_access_reset.example
  identity = {
    resource_group_name  = "rg-web"
    virtual_machine_name = "web01"
  }
}
