//! A local emulator of the slice of Azure that `terraform-provider-vm` talks to.
//!
//! It serves, over HTTPS with a certificate authority generated per start:
//! Azure cloud metadata, Entra ID (OpenID discovery, signing keys, a token
//! endpoint issuing signed JWTs for client secret, client certificate and
//! federated credentials), the Azure Resource Manager API for subscriptions,
//! virtual machines and their extensions (with long-running operations and
//! `api-version` validation), VM scale sets (uniform and flexible: the model's
//! extensions, `manualupgrade`, a uniform set's instances and their extensions), the VM extension image catalogue, and an
//! admin API under `/_emulator/` that tests use to seed VMs, inspect the guest
//! (accounts, Remote Desktop), inject faults and turn on throttling. Tests drive
//! it through [`admin::AdminClient`] (cargo feature `client`, on by default).
//!
//! The guest-side behaviour of the `Microsoft.Compute/VMAccessAgent` extension
//! is modelled in `model::vmaccess`, that of `Microsoft.OSTCExtensions/VMAccessForLinux` in
//! `model::vmaccess_linux`. It is not a general Azure emulator: only
//! the resources and behaviours the provider depends on exist here.
//!
//! # Layers
//!
//! A module imports only modules of lower layers (`ARCHITECTURE.md`; `tests/layers.rs` checks
//! it), and no two sibling modules import each other in a circle. Bottom up:
//!
//! 1. `clock`, `server`, `tls`: wall-clock time, HTTPS serving of a router, TLS material.
//!    They import nothing from the crate.
//! 2. `model`, `faults`, `throttle`: the emulated world and the mechanics around it.
//! 3. `compute_reads`: Compute's read budgets, a bucket of `throttle`'s kind.
//! 4. `admin_messages`: the admin API's bodies, shared with the client and re-exported by
//!    [`admin`].
//! 5. `config`: [`EmulatorConfig`] and the fixed values clients need.
//! 6. `tenant`: Entra's directory, the token signing key, the subscriptions.
//! 7. `state`: all of the above behind locks (`AppState`).
//! 8. `api`: the HTTP surface, in layers of its own (see its module doc).
//! 9. `emulator`: [`Emulator::start`] and [`Emulator::shutdown`].
//! 10. [`admin`]: the typed client, and the admin messages re-exported.
//! 11. This file: the public API, as modules and re-exports.
//!
//! The public items are what the binary, the tests (the emulator's and the provider's) and
//! the benchmarks use; everything else is `pub(crate)`.

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
    LinuxGuestSeed, LinuxUserSeed, LoggedRequest, LroStyle, ScaleSetSeed, ScaleSetView, Seed,
    SeededVm, VmPatch, VmSeed, VmView,
};
pub use compute_reads::ComputeReadSettings;
pub use config::{
    ARM_AUDIENCE, DEFAULT_GITHUB_REQUEST_TOKEN, DEFAULT_IDENTITY_HEADER, DEFAULT_LIST_PAGE_SIZE,
    DEFAULT_PIPELINES_ACCESS_TOKEN, EmulatorConfig, SPEC_LOG_ENV,
};
pub use emulator::{Emulator, EmulatorError};
pub use faults::{FaultAction, FaultSpec, StatusFault};
pub use model::linux_guest::{LinuxDistro, LinuxSudo, LinuxUserProfile, SshState, SshdConfig};
pub use model::scale_set::{OrchestrationMode, UpgradePolicy};
pub use model::vm::{OsType, PowerState};
pub use throttle::{BucketSpec, ThrottleSettings, WindowBudgets, WindowSpec};
