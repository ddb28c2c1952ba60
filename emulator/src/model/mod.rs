//! The emulated world: virtual machines, their guest state, extensions and
//! the long-running operations that change them, with the ARM JSON of an
//! extension and of an operation status.
//!
//! Plain data and rules: no HTTP, no admin messages (their conversions are the
//! admin handlers'). It imports only `clock`; inside, [`extension`], [`secret`],
//! [`membership`] ← [`linux_guest`] ← [`vm`] ← [`vmaccess`] ← [`vmaccess_linux`] ←
//! [`operations`] ← [`scale_set`] ← [`upgrade`] (scale sets: their model, and how a model
//! change reaches the instances).

pub(crate) mod extension;
pub(crate) mod linux_guest;
pub(crate) mod membership;
pub(crate) mod operations;
pub(crate) mod scale_set;
pub(crate) mod secret;
pub(crate) mod upgrade;
pub(crate) mod vm;
pub(crate) mod vmaccess;
pub(crate) mod vmaccess_linux;
