//! The provider's actions (Terraform 1.14+), one module each: Terraform adapters over the same
//! engine as the resources.

pub mod vm_access_reset;
pub mod vm_scale_set_access_reset;
