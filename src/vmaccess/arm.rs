//! The Azure calls the engine makes, as a trait: [`ArmClient`] implements it, and the engine's
//! unit tests implement it with a scripted fake.

use crate::azure::{
    ArmClient, AzureError, ExtensionId, ExtensionPut, InstancePageAt, ModelExtensionId, OpContext,
    PendingOperation, ScaleSet, ScaleSetId, VirtualMachine, VirtualMachineId, VmExtension, VmPage,
};

#[async_trait::async_trait]
pub(crate) trait Arm: Send + Sync {
    /// A started PUT or DELETE.
    type Pending: Send;
    async fn get_virtual_machine(
        &self,
        id: &VirtualMachineId,
        ctx: &OpContext,
    ) -> Result<VirtualMachine, AzureError>;
    /// `None` when the extension or its VM does not exist.
    async fn get_extension(
        &self,
        id: &ExtensionId,
        ctx: &OpContext,
    ) -> Result<Option<VmExtension>, AzureError>;
    async fn begin_put_extension(
        &self,
        id: &ExtensionId,
        body: &ExtensionPut,
        ctx: &OpContext,
    ) -> Result<Self::Pending, AzureError>;
    /// `None` when the extension is already gone.
    async fn begin_delete_extension(
        &self,
        id: &ExtensionId,
        ctx: &OpContext,
    ) -> Result<Option<Self::Pending>, AzureError>;
    /// Drives `op` to its end; a failed run is `AzureError::ExtensionFailed`.
    async fn wait(&self, op: Self::Pending, ctx: &OpContext) -> Result<(), AzureError>;
    async fn get_scale_set(&self, id: &ScaleSetId, ctx: &OpContext)
    -> Result<ScaleSet, AzureError>;
    /// One page of a scale set's instances, with instance views.
    async fn list_instances_page(
        &self,
        at: InstancePageAt<'_>,
        ctx: &OpContext,
    ) -> Result<VmPage, AzureError>;
    async fn begin_put_model_extension(
        &self,
        id: &ModelExtensionId,
        body: &ExtensionPut,
        ctx: &OpContext,
    ) -> Result<Self::Pending, AzureError>;
}

#[async_trait::async_trait]
impl Arm for ArmClient {
    type Pending = PendingOperation;

    async fn get_virtual_machine(
        &self,
        id: &VirtualMachineId,
        ctx: &OpContext,
    ) -> Result<VirtualMachine, AzureError> {
        ArmClient::get_virtual_machine(self, id, ctx).await
    }

    async fn get_extension(
        &self,
        id: &ExtensionId,
        ctx: &OpContext,
    ) -> Result<Option<VmExtension>, AzureError> {
        ArmClient::get_extension(self, id, ctx).await
    }

    async fn begin_put_extension(
        &self,
        id: &ExtensionId,
        body: &ExtensionPut,
        ctx: &OpContext,
    ) -> Result<PendingOperation, AzureError> {
        ArmClient::begin_put_extension(self, id, body, ctx).await
    }

    async fn begin_delete_extension(
        &self,
        id: &ExtensionId,
        ctx: &OpContext,
    ) -> Result<Option<PendingOperation>, AzureError> {
        ArmClient::begin_delete_extension(self, id, ctx).await
    }

    async fn wait(&self, op: PendingOperation, ctx: &OpContext) -> Result<(), AzureError> {
        ArmClient::wait(self, op, ctx).await
    }

    async fn get_scale_set(
        &self,
        id: &ScaleSetId,
        ctx: &OpContext,
    ) -> Result<ScaleSet, AzureError> {
        ArmClient::get_scale_set(self, id, ctx).await
    }

    async fn list_instances_page(
        &self,
        at: InstancePageAt<'_>,
        ctx: &OpContext,
    ) -> Result<VmPage, AzureError> {
        self.list_scale_set_instances_page(at, ctx).await
    }

    async fn begin_put_model_extension(
        &self,
        id: &ModelExtensionId,
        body: &ExtensionPut,
        ctx: &OpContext,
    ) -> Result<PendingOperation, AzureError> {
        ArmClient::begin_put_model_extension(self, id, body, ctx).await
    }
}
