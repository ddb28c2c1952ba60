//! The ARM the engine runs against in the spec tests: it answers with values decoded from the
//! specification's examples (or built from them) and records every extension PUT as the client
//! would send it: method, URL path and JSON body.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::azure::{
    AzureError, ExtensionId, ExtensionPut, InstancePageAt, ModelExtensionId, OpContext, ScaleSet,
    ScaleSetId, VirtualMachine, VirtualMachineId, VmExtension, VmPage,
};
use crate::vmaccess::{Arm, Engine, VmLocks};

/// A request the engine sent.
#[derive(Debug, Clone)]
pub(super) struct Sent {
    pub(super) method: &'static str,
    /// The URL's path, as the client builds it from the resource ID's segments.
    pub(super) path: String,
    /// The body, serialised as the client serialises it and parsed back.
    pub(super) body: Value,
}

#[derive(Default)]
pub(super) struct ExampleArm {
    vm: Option<VirtualMachine>,
    extension: Option<VmExtension>,
    scale_set: Option<ScaleSet>,
    /// The pages of instances, in order; an empty last page once they run out.
    pages: Mutex<VecDeque<VmPage>>,
    sent: Mutex<Vec<Sent>>,
}

impl ExampleArm {
    /// Every VM read answers `vm`.
    pub(super) fn with_vm(vm: VirtualMachine) -> ExampleArm {
        ExampleArm {
            vm: Some(vm),
            ..ExampleArm::default()
        }
    }

    /// Every extension read answers `extension`.
    pub(super) fn with_extension(extension: VmExtension) -> ExampleArm {
        ExampleArm {
            extension: Some(extension),
            ..ExampleArm::default()
        }
    }

    /// The scale set read answers `scale_set`; its instances come as `pages`.
    pub(super) fn with_scale_set(scale_set: ScaleSet, pages: Vec<VmPage>) -> ExampleArm {
        ExampleArm {
            scale_set: Some(scale_set),
            pages: Mutex::new(pages.into()),
            ..ExampleArm::default()
        }
    }

    pub(super) fn sent(&self) -> Vec<Sent> {
        self.sent.lock().expect("not poisoned").clone()
    }

    fn record(&self, segments: &[&str], body: &ExtensionPut) {
        // What `operations::encode` writes: the wire JSON of the body.
        let bytes = serde_json::to_vec(&body.to_wire()).expect("the body serialises");
        self.sent.lock().expect("not poisoned").push(Sent {
            method: "PUT",
            path: format!("/{}", segments.join("/")),
            body: serde_json::from_slice(&bytes).expect("the body is JSON"),
        });
    }
}

fn absent(what: &str) -> AzureError {
    AzureError::Internal {
        detail: format!("the example ARM has no {what}"),
    }
}

#[async_trait::async_trait]
impl Arm for Arc<ExampleArm> {
    type Pending = ();

    async fn get_virtual_machine(
        &self,
        _: &VirtualMachineId,
        _: &OpContext,
    ) -> Result<VirtualMachine, AzureError> {
        self.vm.clone().ok_or_else(|| absent("virtual machine"))
    }

    async fn get_extension(
        &self,
        _: &ExtensionId,
        _: &OpContext,
    ) -> Result<Option<VmExtension>, AzureError> {
        Ok(self.extension.clone())
    }

    async fn begin_put_extension(
        &self,
        id: &ExtensionId,
        body: &ExtensionPut,
        _: &OpContext,
    ) -> Result<(), AzureError> {
        self.record(&id.path_segments(), body);
        Ok(())
    }

    async fn begin_delete_extension(
        &self,
        _: &ExtensionId,
        _: &OpContext,
    ) -> Result<Option<()>, AzureError> {
        Err(absent("extension to delete"))
    }

    async fn wait(&self, _: (), _: &OpContext) -> Result<(), AzureError> {
        Ok(())
    }

    async fn get_scale_set(&self, _: &ScaleSetId, _: &OpContext) -> Result<ScaleSet, AzureError> {
        self.scale_set.clone().ok_or_else(|| absent("scale set"))
    }

    async fn list_instances_page(
        &self,
        _: InstancePageAt<'_>,
        _: &OpContext,
    ) -> Result<VmPage, AzureError> {
        let next = self.pages.lock().expect("not poisoned").pop_front();
        Ok(next.unwrap_or_default())
    }

    async fn begin_put_model_extension(
        &self,
        id: &ModelExtensionId,
        body: &ExtensionPut,
        _: &OpContext,
    ) -> Result<(), AzureError> {
        self.record(&id.path_segments(), body);
        Ok(())
    }
}

/// The engine over `arm`, and the ARM to read back what it sent.
pub(super) fn engine(arm: ExampleArm) -> (Engine<Arc<ExampleArm>>, Arc<ExampleArm>) {
    let arm = Arc::new(arm);
    (Engine::new(arm.clone(), Arc::new(VmLocks::default())), arm)
}

pub(super) fn ctx() -> OpContext {
    OpContext::new(Duration::from_secs(30), CancellationToken::new())
}
