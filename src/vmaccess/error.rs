//! Why a run stops before anything is sent to the extension: what inspecting the VM and
//! choosing the extension's name decide. A leaf of the engine, which `inspect` and `run` share.

use crate::azure::{AzureError, OsType, ScaleSetId, VirtualMachineId};

use super::kind::Kind;

/// Why a run stopped before anything was sent to the extension.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error("no VM exists at {vm}")]
    VmNotFound { vm: VirtualMachineId },
    #[error("no virtual machine scale set exists at {scale_set}")]
    ScaleSetNotFound { scale_set: ScaleSetId },
    #[error("VM {vm:?} runs {found:?}, and {} is the {:?} extension", kind.extension_type, kind.os)]
    WrongOs {
        vm: String,
        found: OsType,
        kind: &'static Kind,
    },
    #[error("VM {vm:?} is {power}")]
    NotRunning { vm: String, power: String },
    #[error("the Azure VM agent on {vm:?} reports {status:?}: {message}")]
    AgentNotReady {
        vm: String,
        status: String,
        message: String,
        /// The extension that needs the agent (it names the agent's service).
        kind: &'static Kind,
    },
    #[error("VM {vm:?} has a {} extension named {existing:?}, and a VM can have only one", kind.extension_type)]
    NameTaken {
        vm: String,
        existing: String,
        kind: &'static Kind,
    },
    #[error(transparent)]
    Azure(AzureError),
}
