//! The emulated world: virtual machines, their guest state, extensions and
//! the long-running operations that change them.

pub(crate) mod extension;
pub(crate) mod operations;
pub(crate) mod vm;
pub(crate) mod vmaccess;
