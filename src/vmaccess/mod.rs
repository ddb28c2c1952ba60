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
    InstanceOutcome, InstanceResult, ModelOutcome, ScaleSetFacts, ScaleSetProgress, ScaleSetRequest,
};
pub(crate) use status::{Lookup, Removal, Status};

/// Advice for a stopped VM, wherever the engine or Azure finds one.
pub(crate) const START_THE_VM: &str = "Extensions run inside the guest, so the VM must be running: \
     start it (`az vm start`, `Start-AzVM` or the portal) and apply again.";

/// Resets `username`'s password on every running instance of a scale set, `max_parallel` at a
/// time, through the engine exactly as the `vm_scale_set_access_reset` surfaces do (scale set
/// and instance reads, per-instance preflight, PUT and wait). The benchmarks' entry point:
/// returns how many instances took the reset and how many did not (skipped ones excluded).
pub async fn reset_every_instance(
    client: crate::azure::ArmClient,
    scale_set: &crate::azure::ScaleSetId,
    username: &str,
    password: secrecy::SecretString,
    max_parallel: usize,
    ctx: &crate::azure::OpContext,
) -> Result<(usize, usize), String> {
    let engine = Engine::new(client, Arc::new(VmLocks::default()));
    let facts = engine
        .inspect_scale_set(scale_set, ctx)
        .await
        .map_err(|e| e.to_string())?;
    let account = (Some(username.to_string()), Some(password));
    let input = match facts.kind().os {
        crate::azure::OsType::Windows => AccessInput::Windows(AccountReset {
            username: account.0,
            password: account.1,
        }),
        crate::azure::OsType::Linux => AccessInput::Linux(LinuxAccessReset {
            username: account.0,
            password: account.1,
            ..LinuxAccessReset::default()
        }),
    };
    let request = ScaleSetRequest {
        handler_version: facts.kind().default_handler_version.to_string(),
        facts,
        only: None,
        auto_upgrade_minor_version: true,
        input,
        max_parallel,
        update_model: false,
    };
    let run = engine.reset_scale_set(request, ctx, &|_| {}).await;
    let succeeded = run
        .instances
        .iter()
        .filter(|r| r.outcome.succeeded())
        .count();
    let skipped = run
        .instances
        .iter()
        .filter(|r| matches!(r.outcome, InstanceOutcome::Skipped(_)))
        .count();
    Ok((succeeded, run.instances.len() - succeeded - skipped))
}

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
