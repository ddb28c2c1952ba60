//! Long-running operations: an extension PUT or DELETE is accepted at once
//! and takes effect when its operation completes, `operation_delay` later.
//! Completion is applied lazily whenever state is read, so results are
//! deterministic and no background task is needed.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::extension::{ExtensionConfig, InstanceStatus};
use super::vm::Vm;
use super::vmaccess::{self, GuestFailure, OperationError};
use super::vmaccess_linux;
use crate::clock::now_rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OperationStatus {
    InProgress,
    Succeeded,
    Failed,
}

impl OperationStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OperationStatus::InProgress => "InProgress",
            OperationStatus::Succeeded => "Succeeded",
            OperationStatus::Failed => "Failed",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum OperationKind {
    /// Create (`created`) or update an extension with `config`.
    Put {
        created: bool,
        guest_run: bool,
        config: Box<ExtensionConfig>,
    },
    Delete,
    /// A change of a scale set (`vm_key` is the scale set's key). The new model is stored
    /// when the request arrives; on completion it reaches `instances` (world keys).
    ScaleSet {
        change: ScaleSetChange,
        instances: Vec<String>,
    },
}

/// What a scale-set operation started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScaleSetChange {
    /// A PUT of the whole scale set (its model's extensions).
    Update,
    /// A PUT of the model extension `extension_key`; `created` if it was new.
    ExtensionPut { created: bool },
    /// A DELETE of the model extension `extension_key`.
    ExtensionDelete,
    /// `manualupgrade`: the model reaches the instances named.
    ManualUpgrade,
}

/// A long-running extension operation: what it does, to which extension, and how it ended.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    /// The operation ID in its status URL.
    pub id: String,
    /// Lower-cased `subscription/resource_group/vm`.
    pub vm_key: String,
    /// The VM's subscription; polls from another subscription find nothing.
    pub subscription: String,
    /// The VM's normalized location, part of the status URL.
    pub location: String,
    /// The extension's lower-cased name.
    pub extension_key: String,
    /// Create, update or delete.
    pub kind: OperationKind,
    /// RFC 3339, as the status body's `startTime`.
    pub started: String,
    /// When it completes (on the first read of the world after this).
    pub due: Instant,
    /// An injected `fail_operation` fault: it ends Failed with this error.
    pub forced_failure: Option<OperationError>,
    /// In progress, succeeded or failed.
    pub status: OperationStatus,
    /// Why it failed.
    pub error: Option<OperationError>,
    /// RFC 3339, as the status body's `endTime`, once it completed.
    pub ended: Option<String>,
}

impl Operation {
    pub(crate) fn is_running(&self) -> bool {
        self.status == OperationStatus::InProgress
    }

    /// Whether a new PUT of `config` to `extension_key` is the same request.
    pub(crate) fn is_same_put(&self, extension_key: &str, config: &ExtensionConfig) -> bool {
        matches!(&self.kind, OperationKind::Put { config: c, .. } if **c == *config)
            && self.extension_key == extension_key
    }

    /// The operation-status body (`Azure-AsyncOperation` style).
    pub(crate) fn status_body(&self) -> Value {
        let mut body = Map::new();
        body.insert("startTime".into(), json!(self.started));
        if let Some(ended) = &self.ended {
            body.insert("endTime".into(), json!(ended));
        }
        body.insert("status".into(), json!(self.status.as_str()));
        if let Some(error) = &self.error {
            body.insert(
                "error".into(),
                json!({"code": error.code, "message": error.message}),
            );
        }
        body.insert("name".into(), json!(self.id));
        Value::Object(body)
    }

    /// Applies the operation to its VM (`None` if the VM was deleted meanwhile).
    pub(crate) fn complete(&mut self, vm: Option<&mut Vm>) {
        let result = match vm {
            None => Err(OperationError::new(
                "ResourceNotFound",
                "The virtual machine was deleted while the operation was running.",
            )),
            Some(vm) => self.apply(vm),
        };
        self.finish(result);
    }

    /// Ends the operation with `result`.
    pub(crate) fn finish(&mut self, result: Result<(), OperationError>) {
        self.ended = Some(now_rfc3339());
        match result {
            Ok(()) => self.status = OperationStatus::Succeeded,
            Err(error) => {
                self.status = OperationStatus::Failed;
                self.error = Some(error);
            }
        }
    }

    fn apply(&self, vm: &mut Vm) -> Result<(), OperationError> {
        match &self.kind {
            OperationKind::Delete => {
                if let Some(error) = &self.forced_failure {
                    mark(
                        vm,
                        &self.extension_key,
                        "Failed",
                        Some(InstanceStatus::failed(&error.message)),
                    );
                    return Err(error.clone());
                }
                if !vm.agent_ready {
                    let error = not_reporting(vm);
                    mark(vm, &self.extension_key, "Failed", None);
                    return Err(error);
                }
                vm.extensions.remove(&self.extension_key);
                Ok(())
            }
            OperationKind::Put {
                guest_run, config, ..
            } => apply_put(
                vm,
                &self.extension_key,
                config,
                *guest_run,
                self.forced_failure.as_ref(),
            ),
            // Scale-set operations complete through `upgrade`, never on one VM.
            OperationKind::ScaleSet { .. } => Ok(()),
        }
    }
}

/// The error of an extension operation on a VM whose agent is not ready.
pub(crate) fn not_reporting(vm: &Vm) -> OperationError {
    OperationError::new(
        "VMAgentStatusCommunicationError",
        format!(
            "VM '{}' has not reported status for VM agent or extensions. Please verify the VM has a running VM agent, and can establish outbound connections to Azure storage.",
            vm.name
        ),
    )
}

/// Completes the PUT of `config` as the VM's extension `extension_key` (already stored with
/// its new configuration): runs the guest handler if `guest_run` (a new goal state), and
/// records the outcome in the extension. A VM extension's operation and a scale set's
/// upgrade of an instance both end here.
pub(crate) fn apply_put(
    vm: &mut Vm,
    extension_key: &str,
    config: &ExtensionConfig,
    guest_run: bool,
    forced_failure: Option<&OperationError>,
) -> Result<(), OperationError> {
    let outcome = if let Some(error) = forced_failure {
        Err((error.clone(), InstanceStatus::failed(&error.message)))
    } else if !vm.agent_ready {
        let error = not_reporting(vm);
        let status = InstanceStatus::failed(&error.message);
        Err((error, status))
    } else if guest_run {
        let name = vm
            .extensions
            .get(extension_key)
            .map(|e| e.name.clone())
            .unwrap_or_default();
        run_handler(vm, &name, config)
            .map(Some)
            .map_err(|f| (f.error.clone(), f.status()))
    } else {
        // No new goal state: nothing runs; VMAccessForLinux reports its last run.
        match vm
            .extensions
            .get(extension_key)
            .filter(|e| e.config.is_vmaccess_linux())
            .and_then(vmaccess_linux::last_failure)
        {
            Some(f) => Err((f.error.clone(), f.status())),
            None => Ok(None),
        }
    };
    match outcome {
        Ok(message) => {
            let status = message.as_deref().map(InstanceStatus::succeeded);
            mark(vm, extension_key, "Succeeded", status);
            Ok(())
        }
        Err((error, status)) => {
            mark(vm, extension_key, "Failed", Some(status));
            Err(error)
        }
    }
}

fn mark(vm: &mut Vm, extension_key: &str, state: &str, status: Option<InstanceStatus>) {
    if let Some(extension) = vm.extensions.get_mut(extension_key) {
        extension.provisioning_state = state.to_string();
        if let Some(status) = status {
            extension.statuses = vec![status];
            extension.substatuses.clear();
        }
    }
}

/// Runs the guest handler of the extension's kind: VMAccess for Windows or for Linux; any
/// other extension succeeds without doing anything the emulator models.
fn run_handler(vm: &mut Vm, name: &str, config: &ExtensionConfig) -> Result<String, GuestFailure> {
    let handler = if config.is_vmaccess() {
        &vmaccess::WINDOWS
    } else if config.is_vmaccess_linux() {
        &vmaccess_linux::LINUX
    } else {
        return Ok("Enable succeeded.".to_string());
    };
    vmaccess::run(handler, vm, name, config)
}
