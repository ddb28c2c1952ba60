//! What the engine learns about a VM before touching its extensions, and the checks that turn
//! Azure's late 409s into an early reason with a fix.

use crate::azure::{AgentStatus, AzureError, OpContext, OsType, VirtualMachine, VirtualMachineId};

use super::error::RunError;
use super::kind::{self, Kind};
use super::{Arm, Engine};

/// A VM as the engine sees it.
#[derive(Debug, Clone)]
pub(crate) struct VmFacts {
    pub(crate) name: String,
    pub(crate) location: String,
    pub(crate) os: Option<OsType>,
    /// The `PowerState/*` suffix: "running", "stopped", "deallocated", …
    pub(crate) power: Option<String>,
    pub(crate) agent: AgentStatus,
    /// Whether the VM was created with SSH password logins off (Linux; `None` when not said).
    pub(crate) password_authentication_disabled: Option<bool>,
    /// The VM's access extensions, each under its resource name.
    existing: Vec<(&'static Kind, String)>,
}

impl VmFacts {
    pub(super) fn new(vm: &VirtualMachine) -> VmFacts {
        VmFacts {
            name: vm.name.clone(),
            location: vm.location.clone(),
            os: vm.os_type(),
            power: vm.power_state(),
            agent: vm.agent(),
            password_authentication_disabled: vm.password_authentication_disabled(),
            existing: kind::ALL
                .iter()
                .filter_map(|k| Some((*k, vm.extension_name_of(k.publisher, k.extension_type)?)))
                .collect(),
        }
    }

    /// The access extension for the VM's OS (Windows' when Azure does not say which OS it runs).
    pub(crate) fn kind(&self) -> &'static Kind {
        kind::for_os(self.os)
    }

    /// The name of the VM's extension of `kind`, if it has one (a VM may have only one per kind).
    pub(crate) fn existing_name(&self, kind: &Kind) -> Option<&str> {
        self.existing
            .iter()
            .find(|(k, _)| k.is(kind))
            .map(|(_, name)| name.as_str())
    }

    /// Whether `kind` can run on this VM now.
    pub(crate) fn preflight(&self, kind: &'static Kind) -> Result<(), RunError> {
        if let Some(found) = self.os.filter(|os| *os != kind.os) {
            return Err(RunError::WrongOs {
                vm: self.name.clone(),
                found,
                kind,
            });
        }
        if self.power.as_deref() != Some("running") {
            return Err(RunError::NotRunning {
                vm: self.name.clone(),
                power: self
                    .power
                    .clone()
                    .unwrap_or_else(|| "not running".to_string()),
            });
        }
        if !self.agent.ready {
            return Err(RunError::AgentNotReady {
                kind,
                vm: self.name.clone(),
                status: self
                    .agent
                    .display_status
                    .clone()
                    .unwrap_or_else(|| "no status".into()),
                message: self
                    .agent
                    .message
                    .clone()
                    .unwrap_or_else(|| "no message".into()),
            });
        }
        Ok(())
    }
}

impl<A: Arm> Engine<A> {
    /// Reads the VM: whether it exists, its OS, power and agent, and its access extensions.
    pub(crate) async fn inspect(
        &self,
        vm: &VirtualMachineId,
        ctx: &OpContext,
    ) -> Result<VmFacts, RunError> {
        match self.arm.get_virtual_machine(vm, ctx).await {
            Ok(found) => Ok(VmFacts::new(&found)),
            Err(AzureError::NotFound { .. }) => Err(RunError::VmNotFound { vm: vm.clone() }),
            Err(e) => Err(RunError::Azure(e)),
        }
    }
}
