//! List resources for `terraform query` (Terraform 1.14+): Terraform adapters over fleet
//! discovery, one file per listed resource type.

pub mod vm_access_reset;
