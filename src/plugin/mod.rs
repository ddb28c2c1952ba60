//! The go-plugin side: how Terraform starts the provider, authenticates it
//! (AutoMTLS), talks to it (gRPC with the companion services), and stops it.

pub mod handshake;
mod lifetime;
pub mod logging;
pub mod panic;
pub mod serve;
pub mod services;
pub(crate) mod tls;

pub use handshake::{HandshakeEnv, HandshakeError};
pub use serve::{Mode, ServeError, serve};
pub use tls::TlsError;
