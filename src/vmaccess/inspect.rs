//! What the engine learns about a VM before touching its extensions, and the checks that turn
//! Azure's late 409s into an early reason with a fix.

use crate::azure::{AgentStatus, AzureError, OpContext, OsType, VirtualMachine, VirtualMachineId};

use super::error::RunError;
use super::{Arm, Engine, Kind};

/// A VM as the engine sees it.
#[derive(Debug, Clone)]
pub(crate) struct VmFacts {
    pub(crate) name: String,
    pub(crate) location: String,
    pub(crate) os: Option<OsType>,
    /// The `PowerState/*` suffix: "running", "stopped", "deallocated", …
    pub(crate) power: Option<String>,
    pub(crate) agent: AgentStatus,
    /// The name of the VM's extension of the inspected kind, if it has one.
    pub(crate) existing_name: Option<String>,
}

impl VmFacts {
    fn new(vm: &VirtualMachine, kind: &Kind) -> VmFacts {
        VmFacts {
            name: vm.name.clone(),
            location: vm.location.clone(),
            os: vm.os_type(),
            power: vm.power_state(),
            agent: vm.agent(),
            existing_name: vm.extension_name_of(kind.publisher, kind.extension_type),
        }
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
    /// Reads the VM: whether it exists, its OS, power and agent, and its extension of `kind`.
    pub(crate) async fn inspect(
        &self,
        vm: &VirtualMachineId,
        kind: &Kind,
        ctx: &OpContext,
    ) -> Result<VmFacts, RunError> {
        match self.arm.get_virtual_machine(vm, ctx).await {
            Ok(found) => Ok(VmFacts::new(&found, kind)),
            Err(AzureError::NotFound { .. }) => Err(RunError::VmNotFound { vm: vm.clone() }),
            Err(e) => Err(RunError::Azure(e)),
        }
    }
}
