//! The VMAccess engine: inspect a VM, run an access extension on it (preflight, choose the
//! resource name, PUT with a fresh `forceUpdateTag`, wait within the deadline, classify), read
//! the extension's status, remove it. Every Terraform surface (resource, action, list) is an
//! adapter over this module; nothing here knows Terraform.
//!
//! The engine is generic over the extension kind ([`ExtensionKind`]) and talks to Azure through
//! the [`Arm`] trait, so its decisions are unit-tested against a fake (`tests.rs`).

mod access;
mod arm;
pub mod discovery;
mod error;
mod inspect;
mod kind;
mod locks;
mod run;
mod scale_set;
mod status;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub(crate) use access::AccessInput;
pub(crate) use arm::Arm;
pub(crate) use error::RunError;
pub(crate) use kind::linux::LinuxAccessReset;
pub(crate) use kind::{AccountReset, ExtensionKind, Kind, WindowsVmAccess, for_os};
pub(crate) use locks::VmLocks;
pub(crate) use run::{NameChoice, Outcome, Progress, RunRequest};
pub(crate) use scale_set::{
    InstanceOutcome, InstanceResult, ScaleSetFacts, ScaleSetProgress, ScaleSetRequest,
};
pub(crate) use status::{Lookup, Removal, Status};

/// Advice for a stopped VM, wherever the engine or Azure finds one.
pub(crate) const START_THE_VM: &str = "Extensions run inside the guest, so the VM must be running: \
     start it (`az vm start`, `Start-AzVM` or the portal) and apply again.";

/// The engine over one ARM client, sharing the per-VM locks of the process.
pub(crate) struct Engine<A> {
    arm: A,
    locks: Arc<VmLocks>,
}

impl<A: Arm> Engine<A> {
    pub(crate) fn new(arm: A, locks: Arc<VmLocks>) -> Engine<A> {
        Engine { arm, locks }
    }
}
