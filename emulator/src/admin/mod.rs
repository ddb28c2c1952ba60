//! The admin API's side that tests see: the bodies it takes and returns ([`messages`]) and,
//! with the cargo feature `client` (on by default), a typed client of it ([`AdminClient`]). The server's
//! handlers are in [`crate::api::admin`] and [`crate::api::listing`].

pub mod messages;

#[cfg(feature = "client")]
mod client;

#[cfg(feature = "client")]
pub use client::{AdminClient, AdminError, VmRef};
pub use messages::*;
