//! The provider's resources, one module each, and the boundary where Azure
//! errors become diagnostics.

pub mod azure_diagnostics;
pub mod validation;
pub mod vm_access_reset;
