# Import by the ARM ID of the VMAccessAgent extension on the VM (the portal
# and the Azure CLI name it "enablevmaccess"; this provider "VMAccessAgent"):
terraform import vm_access_reset.example \
  /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web01/extensions/VMAccessAgent
