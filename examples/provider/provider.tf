terraform {
  required_version = ">= 1.11" # write-only arguments (password_wo)

  required_providers {
    vm = {
      source  = "vmaccess/vm"
      version = "~> 0.1"
    }
  }
}

# Authentication follows the azurerm provider: every argument falls back to
# the same ARM_* environment variable, so a pipeline usually sets nothing
# here (ARM_SUBSCRIPTION_ID, ARM_TENANT_ID, ARM_CLIENT_ID, and ARM_USE_OIDC=true
# or ARM_CLIENT_SECRET, …). With nothing set, the Azure CLI's login is used.
provider "vm" {
  # subscription_id = "00000000-0000-0000-0000-000000000000" # or ARM_SUBSCRIPTION_ID
  # use_oidc        = true                                   # or ARM_USE_OIDC
}
