//! Either access extension, picked by the VM's OS: what a surface that serves Windows and Linux
//! VMs alike asks the engine to run, and how it reads back the extension it manages.

use crate::azure::{AzureError, ExtensionId, OpContext, ProtectedSettings};

use super::error::RunError;
use super::inspect::VmFacts;
use super::kind::linux::{LinuxAccessReset, LinuxVmAccess};
use super::kind::{AccountReset, Kind, WindowsVmAccess};
use super::run::Run;
use super::{Arm, Engine, ExtensionKind, Lookup, Progress, RunRequest};

/// One run's input, for the kind of the VM it goes to.
#[derive(Debug, Clone)]
pub(crate) enum AccessInput {
    Windows(AccountReset),
    Linux(LinuxAccessReset),
}

impl AccessInput {
    /// The extension kind this input is for.
    pub(crate) fn kind(&self) -> &'static Kind {
        match self {
            AccessInput::Windows(_) => WindowsVmAccess::KIND,
            AccessInput::Linux(_) => LinuxVmAccess::KIND,
        }
    }

    /// The extension's public and protected settings for this input.
    pub(crate) fn settings(&self) -> (serde_json::Value, ProtectedSettings) {
        match self {
            AccessInput::Windows(input) => WindowsVmAccess::settings(input),
            AccessInput::Linux(input) => LinuxVmAccess::settings(input),
        }
    }
}

impl<I> RunRequest<I> {
    fn with_input<J>(self, input: J) -> RunRequest<J> {
        RunRequest {
            vm: self.vm,
            name: self.name,
            handler_version: self.handler_version,
            auto_upgrade_minor_version: self.auto_upgrade_minor_version,
            input,
        }
    }
}

impl<A: Arm> Engine<A> {
    /// [`Engine::run`] with the kind the input is for; the VM must run that kind's OS.
    pub(crate) async fn reset(
        &self,
        request: RunRequest<AccessInput>,
        ctx: &OpContext,
        report: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Run, RunError> {
        self.reset_on(request, None, ctx, report).await
    }

    /// [`Engine::reset`] of a VM a listing has just read ([`Engine::run_on`]).
    pub(crate) async fn reset_on(
        &self,
        request: RunRequest<AccessInput>,
        listed: Option<VmFacts>,
        ctx: &OpContext,
        report: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Run, RunError> {
        match request.input.clone() {
            AccessInput::Windows(input) => {
                let request = request.with_input(input);
                self.run_on::<WindowsVmAccess>(request, listed, ctx, report)
                    .await
            }
            AccessInput::Linux(input) => {
                let request = request.with_input(input);
                self.run_on::<LinuxVmAccess>(request, listed, ctx, report)
                    .await
            }
        }
    }

    /// [`Engine::status`] of an extension of `kind`.
    pub(crate) async fn status_of(
        &self,
        kind: &'static Kind,
        id: &ExtensionId,
        ctx: &OpContext,
    ) -> Result<Lookup, AzureError> {
        if kind.is(LinuxVmAccess::KIND) {
            self.status::<LinuxVmAccess>(id, ctx).await
        } else {
            self.status::<WindowsVmAccess>(id, ctx).await
        }
    }
}
