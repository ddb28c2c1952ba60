//! A local emulator of the slice of Azure that `terraform-provider-vm` talks to.
//!
//! It serves, over HTTPS with a certificate authority generated per start:
//! Azure cloud metadata, Entra ID (OpenID discovery, signing keys, a token
//! endpoint issuing signed JWTs for client secret, client certificate and
//! federated credentials), the Azure Resource Manager API for subscriptions,
//! virtual machines and their extensions (with long-running operations and
//! `api-version` validation), the VM extension image catalogue, and an
//! admin API under `/_emulator/` that tests use to seed VMs, inspect the guest
//! (accounts, Remote Desktop), inject faults and turn on throttling. Tests drive
//! it through [`admin::AdminClient`] (cargo feature `client`, on by default).
//!
//! The guest-side behaviour of the `Microsoft.Compute/VMAccessAgent` extension
//! is modelled in [`model::vmaccess`]. It is not a general Azure emulator: only
//! the resources and behaviours the provider depends on exist here.

pub mod admin;
mod admin_messages;
mod api;
mod clock;
mod compute_reads;
mod config;
mod emulator;
mod faults;
mod model;
mod server;
mod state;
mod tenant;
mod throttle;
mod tls;

pub use admin_messages::{
    AccountSeed, AccountView, Credentials, ExtensionView, LOCKED_OUT_PASSWORD, LOCKED_OUT_USER,
    LoggedRequest, LroStyle, Seed, SeededVm, VmPatch, VmSeed, VmView,
};
pub use compute_reads::ComputeReadSettings;
pub use config::{
    ARM_AUDIENCE, DEFAULT_GITHUB_REQUEST_TOKEN, DEFAULT_IDENTITY_HEADER, DEFAULT_LIST_PAGE_SIZE,
    DEFAULT_PIPELINES_ACCESS_TOKEN, EmulatorConfig,
};
pub use emulator::{Emulator, EmulatorError};
pub use faults::{FaultAction, FaultSpec, StatusFault};
pub use model::vm::{OsType, PowerState};
pub use throttle::{BucketSpec, ThrottleSettings};
