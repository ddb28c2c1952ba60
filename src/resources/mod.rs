//! The provider's resources, one file each.

pub mod validation;
pub mod vm_access_reset;
