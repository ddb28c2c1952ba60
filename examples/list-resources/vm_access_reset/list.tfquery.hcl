# Every VM of the web resource groups, Windows or Linux, whose password, SSH key
# or Remote Desktop/SSH configuration was reset with VMAccess (by the portal,
# the Azure CLI, PowerShell or Terraform). Run:
#   terraform query
#   terraform query -generate-config-out=generated.tf
list "vm_access_reset" "web" {
  provider = vm
  limit    = 500

  config {
    resource_group_names = ["rg-web-prod", "rg-web-test"]
    name_filters         = ["web-*"]
  }
}

# Every Windows VM of the subscription, with or without a VMAccess extension yet,
# to put each under Terraform. os_type = "Linux" lists the Linux VMs instead;
# leave it out for both.
list "vm_access_reset" "all_windows" {
  provider = vm
  limit    = 1000

  config {
    os_type                       = "Windows"
    include_vms_without_extension = true
  }
}
