//! The Azure calls the engine makes, as a trait: [`ArmClient`] implements it, and the engine's
//! unit tests implement it with a scripted fake.

use crate::azure::{
    ArmClient, AzureError, ExtensionId, ExtensionPut, OpContext, PendingOperation, VirtualMachine,
    VirtualMachineId, VmExtension,
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
}
