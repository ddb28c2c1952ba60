//! The admin API as tests see it: the bodies it takes and returns (seeds, patches, views,
//! settings; defined in the crate's `admin_messages` layer and re-exported here) and, with
//! the cargo feature `client` (on by default), a typed client of it ([`AdminClient`]).
//!
//! The top of the crate: the client can start from a running `Emulator`.
//! The server's admin handlers are part of the HTTP layer (`api`).

#[cfg(feature = "client")]
mod client;

pub use crate::admin_messages::*;
#[cfg(feature = "client")]
pub use client::{AdminClient, AdminError, ScaleSetRef, VmRef};
