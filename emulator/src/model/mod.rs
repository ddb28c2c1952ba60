//! The emulated world: virtual machines, their guest state, extensions and
//! the long-running operations that change them.

pub mod extension;
pub mod operations;
pub mod vm;
pub mod vmaccess;
