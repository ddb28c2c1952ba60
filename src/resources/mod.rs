//! The provider's resources, one module each. What they share with the action and the list
//! resource (validation, diagnostics, attribute names) is the surface layer's
//! ([`crate::surface`]).

pub mod vm_access_reset;
pub mod vm_scale_set_access_reset;
